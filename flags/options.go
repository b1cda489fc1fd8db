package flags

import (
	"log/slog"
	"time"
)

// Option configures a Cache. NewHTTPFetcher also accepts Options but honours
// only WithFetchTimeout.
type Option func(*config)

type config struct {
	ttl          time.Duration
	fetchTimeout time.Duration
	backoff      time.Duration
	now          func() time.Time
	logger       *slog.Logger // nil means slog.Default() at log time
	newFetcher   func(Endpoint) Fetcher
}

func newConfig(opts []Option) config {
	cfg := config{
		ttl:          15 * time.Minute,
		fetchTimeout: 10 * time.Second,
		backoff:      30 * time.Second,
		now:          time.Now,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	return cfg
}

// WithTTL sets how long an answer without its own ttl_seconds stays fresh,
// and caps the retry backoff. The default is 15 minutes; d <= 0 is ignored.
func WithTTL(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.ttl = d
		}
	}
}

// WithFetchTimeout bounds one flag request, and so how long a caller on a
// cold key can wait. The default is 10 seconds; d <= 0 is ignored.
func WithFetchTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.fetchTimeout = d
		}
	}
}

// WithBackoff sets the wait after the first failed fetch of a key; each
// further failure doubles it, up to the TTL. The default is 30 seconds;
// d <= 0 is ignored.
func WithBackoff(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.backoff = d
		}
	}
}

// WithClock replaces time.Now for freshness and backoff decisions, so tests
// can move time without sleeping. Fetch timeouts still use real time.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithLogger sets where fetch failures and recoveries are reported. The
// default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithFetcher replaces the HTTP fetcher: newFetcher is called once per cache
// key, with the Endpoint given to Acquire (its Client filled in with the
// cache's own when nil).
func WithFetcher(newFetcher func(Endpoint) Fetcher) Option {
	return func(c *config) { c.newFetcher = newFetcher }
}
