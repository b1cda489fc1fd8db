package flags

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sqltel/sqltel/internal/version"
)

// Fetcher asks a flag service whether telemetry is enabled for host. It must
// honour ctx's deadline. The Cache calls it at most once at a time per key.
type Fetcher interface {
	Fetch(ctx context.Context, host string) (Answer, error)
}

// Answer is a flag service's reply for one host.
type Answer struct {
	Enabled bool
	// TTL is how long the answer stays fresh; 0 means the Cache's default.
	// The Cache clamps any other value to [1 minute, 24 hours].
	TTL time.Duration
}

// Endpoint identifies a flag service. Cache entries are keyed by
// (URL, Token, host).
type Endpoint struct {
	URL    string       // collector base URL, e.g. "http://127.0.0.1:4318"
	Token  string       // optional bearer token; never logged, never in errors
	Client *http.Client // nil means a default client owned by the Cache
}

const (
	minTTL       = time.Minute
	maxTTL       = 24 * time.Hour
	maxBody      = 1 << 20 // a flag answer is tens of bytes; more is hostile
	maxRedirects = 3
)

var (
	errStatus      = errors.New("unexpected HTTP status")
	errTooLarge    = fmt.Errorf("response body larger than %d bytes", maxBody)
	errBadResponse = errors.New("malformed flag response")
	errRedirect    = errors.New("redirect refused")
)

// HTTPFetcher is the Fetcher that speaks sqltel's flag protocol:
//
//	GET {URL}/v1/flags?client=sqltel-go&host=<host>&version=<version>
//	-> {"flags":{"telemetry_enabled":true},"ttl_seconds":900}
//
// A non-2xx status, a body over 1 MiB, malformed JSON, a field of the wrong
// type or a missing telemetry_enabled flag is an error, never a guess.
// Unknown fields are ignored. It is safe for concurrent use.
type HTTPFetcher struct {
	url     string
	token   string
	client  *http.Client
	timeout time.Duration
}

// NewHTTPFetcher returns a fetcher for ep. Of the Options it honours only
// WithFetchTimeout, which bounds every Fetch even if ctx has no deadline.
//
// It always applies its own redirect policy, even to ep.Client: at most 3
// redirects, and only to the same scheme and host, so the bearer token is
// never sent anywhere the caller did not name.
func NewHTTPFetcher(ep Endpoint, opts ...Option) *HTTPFetcher {
	cfg := newConfig(opts)
	var client http.Client
	if ep.Client != nil {
		client = *ep.Client // a shallow copy shares the Transport and its pool
	}
	client.CheckRedirect = sameOriginRedirect
	return &HTTPFetcher{
		url:     strings.TrimRight(ep.URL, "/") + "/v1/flags",
		token:   ep.Token,
		client:  &client,
		timeout: cfg.fetchTimeout,
	}
}

// Fetch asks the service about host. Errors name what went wrong and never
// contain the token.
func (f *HTTPFetcher) Fetch(ctx context.Context, host string) (Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	q := url.Values{"host": {host}, "client": {version.Client}, "version": {version.Version}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url+"?"+q.Encode(), nil)
	if err != nil {
		return Answer{}, fmt.Errorf("flags: host %q: building request: %w", host, err)
	}
	req.Header.Set("User-Agent", version.UserAgent)
	req.Header.Set("Accept", "application/json")
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}

	resp, err := f.client.Do(req)
	if err != nil {
		return Answer{}, fmt.Errorf("flags: host %q: %w", host, err)
	}
	defer resp.Body.Close()
	// The status code only: a hostile reason phrase could echo the token.
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Answer{}, fmt.Errorf("flags: host %q: %w %d", host, errStatus, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return Answer{}, fmt.Errorf("flags: host %q: reading response: %w", host, err)
	}
	if len(body) > maxBody {
		return Answer{}, fmt.Errorf("flags: host %q: %w", host, errTooLarge)
	}
	a, err := parseAnswer(body)
	if err != nil {
		return Answer{}, fmt.Errorf("flags: host %q: %w", host, err)
	}
	return a, nil
}

func parseAnswer(body []byte) (Answer, error) {
	var r struct {
		Flags struct {
			TelemetryEnabled *bool `json:"telemetry_enabled"`
		} `json:"flags"`
		TTLSeconds *float64 `json:"ttl_seconds"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return Answer{}, fmt.Errorf("%w: %w", errBadResponse, err)
	}
	if r.Flags.TelemetryEnabled == nil {
		return Answer{}, fmt.Errorf("%w: no flags.telemetry_enabled", errBadResponse)
	}
	a := Answer{Enabled: *r.Flags.TelemetryEnabled}
	if r.TTLSeconds != nil {
		// Clamp in seconds first: 1e12 seconds would overflow a Duration.
		secs := min(max(*r.TTLSeconds, minTTL.Seconds()), maxTTL.Seconds())
		a.TTL = time.Duration(secs * float64(time.Second))
	}
	return a, nil
}

// sameOriginRedirect is the CheckRedirect of every HTTPFetcher.
func sameOriginRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("%w: more than %d redirects", errRedirect, maxRedirects)
	}
	if from := via[0].URL; req.URL.Scheme != from.Scheme || req.URL.Host != from.Host {
		return fmt.Errorf("%w: %s://%s is not the flag endpoint's origin", errRedirect, req.URL.Scheme, req.URL.Host)
	}
	return nil
}
