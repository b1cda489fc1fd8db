package connector

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/sqltel/sqltel/flags"
	"github.com/sqltel/sqltel/telemetry"
)

// Mode is the client-side telemetry setting (DSN parameter telemetry).
type Mode string

// The modes. ModeOn records only where the telemetry service's flag for the
// host says so; ModeForce skips the flag (for development) but still yields
// to the SQLTEL_TELEMETRY=off and DO_NOT_TRACK environment opt-outs.
const (
	ModeOff   Mode = "off"
	ModeOn    Mode = "on"
	ModeForce Mode = "force"
)

// Option configures a Connector.
type Option func(*config)

type config struct {
	mode     Mode
	endpoint string
	token    string
	host     string
	dbSystem string
	insecure bool

	logger     *slog.Logger
	httpClient *http.Client
	flagCache  *flags.Cache
	registry   *telemetry.Registry
	recorder   telemetry.Recorder
	env        func(string) string
	now        func() time.Time // WithClock's; nil for time.Now
	onError    func(error)

	bufferSize      int
	batchSize       int
	flushInterval   time.Duration
	shutdownTimeout time.Duration
	format          telemetry.Format
	compression     telemetry.Compression
	statementText   bool
}

// WithMode sets the telemetry mode; the default is ModeOff.
func WithMode(m Mode) Option { return func(c *config) { c.mode = m } }

// WithEndpoint sets the telemetry service's base URL, used for both the flag
// and the event endpoints. It must be https, or http to a loopback address
// unless WithInsecure is given.
func WithEndpoint(url string) Option { return func(c *config) { c.endpoint = url } }

// WithToken sets the bearer token sent to the telemetry service. It is never
// logged and never appears in errors.
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithInsecure allows a plain http endpoint that is not on loopback.
func WithInsecure(insecure bool) Option { return func(c *config) { c.insecure = insecure } }

// WithHost sets the host key that flags are looked up by and events carry.
// The driver package derives it from the DSN; connectors built directly
// default to "unknown".
func WithHost(host string) Option { return func(c *config) { c.host = host } }

// WithDBSystem names the database system in events ("postgresql", "mysql",
// "sqlite", ...).
func WithDBSystem(name string) Option { return func(c *config) { c.dbSystem = name } }

// WithLogger sets the logger for sqltel's own rare messages (a flag fetch
// failing, the exporter's final summary). The default, and what nil means,
// is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithHTTPClient sets the client used to reach the telemetry service.
// Redirects to another host are refused whatever the client's own policy.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithFlagCache sets the feature-flag cache; the default is flags.Default(),
// shared by every connector in the process.
func WithFlagCache(fc *flags.Cache) Option { return func(c *config) { c.flagCache = fc } }

// WithRegistry sets where exporters are shared; the default is
// telemetry.Default(), so connectors with the same endpoint and token share
// one exporter.
func WithRegistry(r *telemetry.Registry) Option { return func(c *config) { c.registry = r } }

// WithRecorder sends events to r instead of an exporter. The flag and mode
// rules still decide which connections record. Meant for tests and for
// programs that process events themselves; r must not block.
func WithRecorder(r telemetry.Recorder) Option { return func(c *config) { c.recorder = r } }

// WithEnv replaces os.Getenv for the SQLTEL_TELEMETRY and DO_NOT_TRACK
// opt-outs (tests).
func WithEnv(getenv func(string) string) Option { return func(c *config) { c.env = getenv } }

// WithClock replaces time.Now for event timestamps and latencies (tests).
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithOnError receives the exporter's delivery errors (*telemetry.ExportError),
// called from the exporter's goroutine, never on the query path.
func WithOnError(f func(error)) Option { return func(c *config) { c.onError = f } }

// WithBufferSize bounds the events held in memory (default 10 000, at most
// telemetry.MaxBufferSize); when it is full the oldest event is dropped and
// counted.
func WithBufferSize(n int) Option { return func(c *config) { c.bufferSize = n } }

// WithBatchSize sets how many events one request carries (default 1 000, or
// half the buffer size when that is smaller).
func WithBatchSize(n int) Option { return func(c *config) { c.batchSize = n } }

// WithFlushInterval sets how often buffered events are sent when no batch
// fills up (default 10 s, at least telemetry.MinFlushInterval).
func WithFlushInterval(d time.Duration) Option { return func(c *config) { c.flushInterval = d } }

// WithShutdownTimeout bounds how long the last Close and Connector.Close
// spend flushing (default 5 s).
func WithShutdownTimeout(d time.Duration) Option {
	return func(c *config) { c.shutdownTimeout = d }
}

// WithFormat selects the wire format (default telemetry.FormatJSON).
func WithFormat(f telemetry.Format) Option { return func(c *config) { c.format = f } }

// WithGzip turns request compression on or off whatever the endpoint. By
// default bodies above 1 KiB are gzipped except to a loopback endpoint,
// where compressing only costs CPU.
func WithGzip(on bool) Option {
	return func(c *config) {
		c.compression = telemetry.CompressionNone
		if on {
			c.compression = telemetry.CompressionGzip
		}
	}
}

// WithStatementText adds each statement's normalised text to its event:
// every literal (strings, numbers, hex, booleans, IN-lists) replaced by '?'
// and comments removed. Off by default; it costs an allocation per statement
// and sends schema names, so it is for programs that chose it (DSN
// telemetry_sql=normalized).
func WithStatementText(on bool) Option { return func(c *config) { c.statementText = on } }
