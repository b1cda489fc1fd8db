package flags

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/sqltel/sqltel/internal/safelog"
)

// ErrClosed is returned by Acquire on a closed Cache.
var ErrClosed = errors.New("flags: cache closed")

// Cache holds one flag value per (endpoint URL, token, host), shared by every
// Context acquired for that key. It is safe for concurrent use.
type Cache struct {
	cfg    config
	client *http.Client // for Endpoints without a Client; Close drops its idle conns

	ctx    context.Context // parent of every fetch; Close cancels it
	cancel context.CancelFunc
	wg     sync.WaitGroup // fetch goroutines; Close waits for them

	mu      sync.Mutex
	closed  bool
	entries map[key]*entry
}

type key struct{ url, token, host string }

// entry is one key's state.
type entry struct {
	host     string
	endpoint string // URL with any password redacted, for logs and Stats
	fetcher  Fetcher
	group    singleflight.Group // the one fetch in flight for this key

	// Guarded by Cache.mu.
	refs      int  // Contexts not yet released
	pending   int  // fetch goroutines started and not finished
	known     bool // a fetch has ever succeeded
	value     bool // last successful answer
	expires   time.Time
	retryAt   time.Time     // no fetch before this, after a failure
	backoff   time.Duration // current backoff; 0 while healthy
	failures  int           // consecutive failures: the current error episode
	fetches   int64
	errors    int64
	lastFetch time.Time
}

// HostStats is one key's counters, as reported by Cache.Stats.
type HostStats struct {
	URL       string    // endpoint URL, password redacted; the token is never shown
	Host      string    // database host key
	Fetches   int64     // fetch attempts, successful or not
	Errors    int64     // failed fetch attempts
	LastFetch time.Time // end of the last attempt, by the Cache's clock
	Value     bool      // last known answer (false if never Known)
	Known     bool      // a fetch has ever succeeded
	RefCount  int       // Contexts acquired and not released
}

// NewCache returns an empty Cache. Call Close when done with it.
func NewCache(opts ...Option) *Cache {
	transport := &http.Transport{Proxy: http.ProxyFromEnvironment}
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		transport = t.Clone() // own pool, so Close can drop its idle conns
	}
	// A host's flag is fetched once per TTL: a kept-alive connection would
	// sit idle for minutes, and the process-wide Default cache is never
	// closed, so it would outlive everything (and trip goleak in programs
	// that check for leaked goroutines).
	transport.DisableKeepAlives = true
	ctx, cancel := context.WithCancel(context.Background())
	return &Cache{
		cfg:     newConfig(opts),
		client:  &http.Client{Transport: transport},
		ctx:     ctx,
		cancel:  cancel,
		entries: make(map[key]*entry),
	}
}

var defaultCache = sync.OnceValue(func() *Cache { return NewCache() })

// Default returns the process-wide Cache, created on first use and never
// closed, so that every connector in a process shares one flag request per
// host and TTL.
func Default() *Cache { return defaultCache() }

// Acquire returns a Context for host at ep and counts one reference to the
// key; the caller must Release it. Acquire does no I/O and never blocks on
// the network (ctx is accepted for future use). It fails only for an empty
// host, an endpoint URL that is not absolute http(s), or a closed Cache.
func (c *Cache) Acquire(ctx context.Context, ep Endpoint, host string) (*Context, error) {
	if host == "" {
		return nil, errors.New("flags: empty host")
	}
	u, err := url.Parse(ep.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the raw URL, which may hold a password
		}
		return nil, fmt.Errorf("flags: invalid endpoint URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("flags: invalid endpoint URL %q: want http(s)://host", u.Redacted())
	}

	k := key{url: ep.URL, token: ep.Token, host: host}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	e := c.entries[k]
	if e == nil {
		c.evictLocked()
		if ep.Client == nil {
			ep.Client = c.client
		}
		e = &entry{host: host, endpoint: u.Redacted(), fetcher: c.newFetcher(ep)}
		c.entries[k] = e
	}
	e.refs++
	return &Context{c: c, e: e}, nil
}

func (c *Cache) newFetcher(ep Endpoint) Fetcher {
	if c.cfg.newFetcher != nil {
		return c.cfg.newFetcher(ep)
	}
	return NewHTTPFetcher(ep, WithFetchTimeout(c.cfg.fetchTimeout))
}

// forgetAfter is how long an entry nobody holds is kept once its value and
// its backoff have run out. An expired entry still serves: its last known
// value at once while a refresh runs, and its failures spare a new
// connection the wait for a service known to be down. Forgetting it as soon
// as it expired would make the next connect to the host wait on the network
// again. A day bounds the memory of a process that sees many hosts.
const forgetAfter = maxTTL

// evictLocked drops the entries nobody holds whose value and backoff ran
// out more than forgetAfter ago.
func (c *Cache) evictLocked() {
	horizon := c.cfg.now().Add(-forgetAfter)
	for k, e := range c.entries {
		if e.refs == 0 && e.pending == 0 && !horizon.Before(e.expires) && !horizon.Before(e.retryAt) {
			delete(c.entries, k)
		}
	}
}

// enabled implements Context.Enabled.
func (c *Cache) enabled(ctx context.Context, e *entry) bool {
	c.mu.Lock()
	now := c.cfg.now()
	if e.known {
		v := e.value
		if !now.Before(e.expires) && !now.Before(e.retryAt) && e.pending == 0 {
			c.startFetchLocked(e) // stale-while-revalidate: nobody waits for it
		}
		c.mu.Unlock()
		return v
	}
	if now.Before(e.retryAt) {
		c.mu.Unlock()
		return false // failed recently: no storm against a down service
	}
	if e.errors > 0 {
		// Never answered: only the first ask waits. After a failure, a new
		// connection must not stall for a fetch timeout every backoff
		// period while the service stays down; it is told "disabled" and
		// the retry runs in the background.
		if e.pending == 0 {
			c.startFetchLocked(e)
		}
		c.mu.Unlock()
		return false
	}
	done := c.startFetchLocked(e)
	c.mu.Unlock()
	if done == nil {
		return false // closed
	}
	// The fetch has its own timeout; this one also bounds a Fetcher that
	// ignores its context.
	ctx, cancel := context.WithTimeout(ctx, c.cfg.fetchTimeout)
	defer cancel()
	select {
	case v := <-done:
		return v
	case <-ctx.Done():
		return false
	}
}

// startFetchLocked starts a goroutine that joins (or leads) the key's one
// fetch and delivers its answer on the returned channel. The goroutine is
// tracked so Close can wait for it; after Close it returns nil.
func (c *Cache) startFetchLocked(e *entry) <-chan bool {
	if c.closed {
		return nil
	}
	e.pending++
	c.wg.Add(1) // under c.mu with closed checked, so never racing Close's Wait
	done := make(chan bool, 1)
	go func() {
		defer c.wg.Done()
		v, _, _ := e.group.Do("", func() (any, error) { return c.fetch(e), nil })
		c.mu.Lock()
		e.pending--
		c.mu.Unlock()
		done <- v.(bool)
	}()
	return done
}

// fetch asks the service and records the answer; it runs at most once at a
// time per entry.
func (c *Cache) fetch(e *entry) bool {
	c.mu.Lock()
	now := c.cfg.now()
	if (e.known && now.Before(e.expires)) || now.Before(e.retryAt) {
		// A fetch finished between our caller's check and this one.
		v := e.value
		c.mu.Unlock()
		return v
	}
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.fetchTimeout)
	ans, err := e.fetcher.Fetch(ctx, e.host)
	cancel()
	return c.record(e, ans, err)
}

// record stores a fetch's outcome and logs once per error episode: warn on
// the first failure, debug on the rest, info on recovery.
func (c *Cache) record(e *entry, ans Answer, err error) bool {
	c.mu.Lock()
	now := c.cfg.now()
	e.fetches++
	e.lastFetch = now
	level, msg, failures := slog.LevelDebug, "", 0
	if err != nil {
		e.errors++
		e.failures++
		if e.backoff == 0 {
			e.backoff = c.cfg.backoff
		} else {
			e.backoff *= 2
		}
		e.backoff = min(e.backoff, c.cfg.ttl)
		e.retryAt = now.Add(e.backoff)
		msg, failures = "sqltel: feature flag fetch failed", e.failures
		if e.failures == 1 {
			level = slog.LevelWarn
		}
	} else {
		if e.failures > 0 {
			level, msg, failures = slog.LevelInfo, "sqltel: feature flag fetch recovered", e.failures
		}
		e.failures, e.backoff, e.retryAt = 0, 0, time.Time{}
		e.known, e.value = true, ans.Enabled
		e.expires = now.Add(c.ttl(ans.TTL))
	}
	v, known, backoff := e.value, e.known, e.backoff
	c.mu.Unlock()

	if msg == "" || c.ctx.Err() != nil { // nothing to say, or Close cancelled us
		return v
	}
	logger := c.cfg.logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = safelog.Logger(logger) // a fetch's result is logged on a Connect's goroutine
	attrs := []any{"host", e.host, "endpoint", e.endpoint, "failures", failures}
	if err != nil {
		attrs = append(attrs, "error", err, "known", known, "value", v, "retry_in", backoff)
	}
	logger.Log(context.Background(), level, msg, attrs...)
	return v
}

func (c *Cache) ttl(d time.Duration) time.Duration {
	if d == 0 {
		return c.cfg.ttl
	}
	return min(max(d, minTTL), maxTTL)
}

// Stats reports every key's counters, sorted by endpoint URL and host.
func (c *Cache) Stats() []HostStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]HostStats, 0, len(c.entries))
	for _, e := range c.entries {
		out = append(out, e.stats())
	}
	slices.SortFunc(out, func(a, b HostStats) int {
		return cmp.Or(cmp.Compare(a.URL, b.URL), cmp.Compare(a.Host, b.Host))
	})
	return out
}

// HostStats reports the counters of the key Acquire(ctx, ep, host) uses,
// and whether there is one. Unlike Stats it tells apart endpoints that
// differ only in token or password, which Stats shows redacted.
func (c *Cache) HostStats(ep Endpoint, host string) (HostStats, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key{url: ep.URL, token: ep.Token, host: host}]
	if e == nil {
		return HostStats{}, false
	}
	return e.stats(), true
}

func (e *entry) stats() HostStats {
	return HostStats{
		URL: e.endpoint, Host: e.host, Fetches: e.fetches, Errors: e.errors,
		LastFetch: e.lastFetch, Value: e.value, Known: e.known, RefCount: e.refs,
	}
}

// Close stops the Cache: in-flight fetches are cancelled and waited for, no
// new ones start, and Acquire fails with ErrClosed. Contexts already held
// keep answering from the cached value. Close is idempotent and returns nil.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	c.client.CloseIdleConnections()
	return nil
}
