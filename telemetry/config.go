package telemetry

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Format is the body format of an export request.
type Format int

const (
	// FormatJSON sends one JSON object per request: the client information
	// and an "events" array. The collector may answer per event.
	FormatJSON Format = iota
	// FormatNDJSON sends one JSON object per line, one line per event, with
	// the request and client information folded into every line. Per-event
	// results do not apply: a 2xx answer means every event was delivered.
	FormatNDJSON
)

// String returns "json" or "ndjson".
func (f Format) String() string {
	switch f {
	case FormatJSON:
		return "json"
	case FormatNDJSON:
		return "ndjson"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Defaults applied to the zero values of Config.
const (
	DefaultBufferSize      = 10000
	DefaultBatchSize       = 1000
	DefaultFlushInterval   = 10 * time.Second
	DefaultShutdownTimeout = 5 * time.Second
)

// Limits Validate enforces. A buffer is mapped (or allocated) whole when
// the exporter starts, so a size with a few zeros too many would take the
// process down; an interval of nanoseconds (10 for 10 s, say) would keep an
// idle exporter's goroutine ticking without pause.
const (
	MaxBufferSize    = 1_000_000
	MinFlushInterval = time.Millisecond
)

// Config configures an Exporter. Exporters are shared per (Endpoint, Token):
// when several Acquire calls name the same pair, the Config of the first one
// (the one that started the exporter) is used and the others are ignored.
type Config struct {
	// Endpoint is the collector's base URL; requests go to
	// Endpoint + "/v1/events". It must use https, or http to a loopback
	// host (127.0.0.0/8, ::1, localhost) unless Insecure is set. It must not
	// carry user information, a query or a fragment.
	Endpoint string
	// Token, when not empty, is sent as "Authorization: Bearer <Token>". It
	// is never logged nor included in errors.
	Token string
	// HTTPClient is used for requests when not nil. It is copied, so that
	// the exporter's redirect policy (no redirect to another host, no
	// downgrade from https to http) applies without changing the caller's
	// client. nil means a client of the exporter's own, with a clone of
	// http.DefaultTransport whose idle connections are closed on stop.
	HTTPClient *http.Client
	// Insecure allows http:// to a host that is not loopback.
	Insecure bool

	// BufferSize bounds the events waiting to be sent (default 10 000).
	// When it is full, the oldest event is dropped and counted.
	BufferSize int
	// BatchSize is the most events per request (default 1 000, or half of
	// BufferSize when that is smaller). A send starts as soon as this many
	// events are buffered.
	BatchSize int
	// FlushInterval is the longest an event waits before a send is started
	// (default 10 s). The first interval is jittered.
	FlushInterval time.Duration
	// ShutdownTimeout bounds the last Release (default 5 s).
	ShutdownTimeout time.Duration

	// Format is the request body format (default FormatJSON).
	Format Format
	// Compression says whether bodies above 1 KiB are gzipped (default
	// CompressionAuto).
	Compression Compression

	// Logger receives the exporter's logs; nil means slog.Default().
	Logger *slog.Logger
	// OnError, when not nil, is called with an *ExportError each time events
	// are dropped or a response is malformed. It is called from the
	// exporter's goroutine, never from the query path, and it delays further
	// sends while it runs; it must not call Flush or Release.
	OnError func(error)
	// Clock returns the current time; nil means time.Now. It is used for
	// the request's created_at, LastSuccess, the session rotation and to
	// read an HTTP-date Retry-After.
	Clock func() time.Time
}

// Compression says whether request bodies are gzipped.
type Compression uint8

const (
	// CompressionAuto gzips bodies above 1 KiB, except to a loopback
	// endpoint (a local agent or collector), where the bytes never cross a
	// network and compressing would only cost CPU: about half of what an
	// event costs the exporter, measured in instructions.
	CompressionAuto Compression = iota
	// CompressionGzip gzips bodies above 1 KiB whatever the endpoint.
	CompressionGzip
	// CompressionNone never compresses.
	CompressionNone
)

// gzip reports whether bodies to an endpoint are compressed, given whether
// its host is loopback.
func (c Compression) gzip(loopback bool) bool {
	switch c {
	case CompressionGzip:
		return true
	case CompressionNone:
		return false
	}
	return !loopback
}

// endpoint is what the exporter needs to know of Config.Endpoint, parsed
// once.
type endpoint struct {
	host     string // host[:port], for the logs
	tls      bool
	loopback bool
}

// parseEndpoint parses a validated endpoint. An unparsable one (Validate
// refuses it first) reads as a remote https host.
func parseEndpoint(s string) endpoint {
	u, err := url.Parse(s)
	if err != nil {
		return endpoint{tls: true}
	}
	return endpoint{host: u.Host, tls: u.Scheme != "http", loopback: isLoopback(u.Hostname())}
}

// ErrInsecureEndpoint is wrapped by Validate's error for a plain http
// endpoint off loopback without Insecure, so that callers can name their own
// setting for it.
var ErrInsecureEndpoint = errors.New("telemetry: insecure endpoint")

// Validate reports whether c is usable. The error names the offending field
// and never contains the token.
func (c Config) Validate() error {
	if err := validateEndpoint(c.Endpoint, c.Insecure); err != nil {
		return err
	}
	for i := 0; i < len(c.Token); i++ {
		if b := c.Token[i]; b < 0x21 || b > 0x7e {
			return errors.New("telemetry: Config.Token contains a character that is not allowed in an HTTP header (only visible ASCII is)")
		}
	}
	switch {
	case c.BufferSize < 0:
		return fmt.Errorf("telemetry: Config.BufferSize is negative (%d)", c.BufferSize)
	case c.BufferSize > MaxBufferSize:
		return fmt.Errorf("telemetry: Config.BufferSize (%d) is above MaxBufferSize (%d)", c.BufferSize, MaxBufferSize)
	case c.BatchSize < 0:
		return fmt.Errorf("telemetry: Config.BatchSize is negative (%d)", c.BatchSize)
	case c.FlushInterval < 0:
		return fmt.Errorf("telemetry: Config.FlushInterval is negative (%v)", c.FlushInterval)
	case c.FlushInterval > 0 && c.FlushInterval < MinFlushInterval:
		return fmt.Errorf("telemetry: Config.FlushInterval (%v) is below MinFlushInterval (%v)", c.FlushInterval, MinFlushInterval)
	case c.ShutdownTimeout < 0:
		return fmt.Errorf("telemetry: Config.ShutdownTimeout is negative (%v)", c.ShutdownTimeout)
	case c.Format != FormatJSON && c.Format != FormatNDJSON:
		return fmt.Errorf("telemetry: Config.Format is unknown (%v)", c.Format)
	case c.Compression > CompressionNone:
		return fmt.Errorf("telemetry: Config.Compression is unknown (%d)", c.Compression)
	}
	d := c.withDefaults()
	if d.BatchSize > d.BufferSize {
		return fmt.Errorf("telemetry: Config.BatchSize (%d) is larger than Config.BufferSize (%d)", d.BatchSize, d.BufferSize)
	}
	return nil
}

// validateEndpoint checks the scheme rules. Errors mention the scheme and
// host only, never the whole URL.
func validateEndpoint(endpoint string, insecure bool) error {
	if endpoint == "" {
		return errors.New("telemetry: Config.Endpoint is empty")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return errors.New("telemetry: Config.Endpoint is not a valid URL")
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("telemetry: Config.Endpoint must use https (or http to a loopback host), not %q", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return errors.New("telemetry: Config.Endpoint has no host")
	case u.User != nil:
		return errors.New("telemetry: Config.Endpoint must not contain user information; use Config.Token")
	// A bare '#' leaves u.Fragment empty, and the events would go to the
	// base path: look for the byte.
	case u.RawQuery != "" || u.ForceQuery || strings.Contains(endpoint, "#"):
		return errors.New("telemetry: Config.Endpoint must not contain a query or a fragment")
	case u.Scheme == "http" && !insecure && !isLoopback(u.Hostname()):
		return fmt.Errorf("%w: Config.Endpoint uses http to the non-loopback host %q; use https or set Config.Insecure", ErrInsecureEndpoint, u.Hostname())
	}
	return nil
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// withDefaults returns c with the zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.BufferSize == 0 {
		c.BufferSize = DefaultBufferSize
	}
	if c.BatchSize == 0 {
		// A buffer set smaller than twice the default batch still works
		// alone: a batch is then half of it, so that events keep arriving
		// into the other half while the sender takes one out (a batch of
		// the whole buffer would wake the sender only when it is full).
		c.BatchSize = min(DefaultBatchSize, max(1, c.BufferSize/2))
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c
}

// eventsURL returns the URL requests are posted to.
func (c Config) eventsURL() string {
	return strings.TrimRight(c.Endpoint, "/") + "/v1/events"
}
