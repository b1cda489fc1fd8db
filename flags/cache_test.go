package flags

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

var bg = context.Background()

func pending(c *Cache) (n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		n += e.pending
	}
	return n
}

// Cold cache: every caller waits for the one fetch and gets its answer, not
// an early "disabled".
func TestColdCacheOneFetchForConcurrentCallers(t *testing.T) {
	release := make(chan struct{})
	srv := newFlagServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		<-release
		writeAnswer(w, true)
	})
	c := newTestCache(t)
	ep := Endpoint{URL: srv.URL}

	const callers = 50
	got := make([]bool, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			x, err := c.Acquire(bg, ep, "db")
			if err != nil {
				t.Error(err)
				return
			}
			defer x.Release()
			got[i] = x.Enabled(bg)
		})
	}
	waitUntil(t, "all callers to wait on the fetch", func() bool { return pending(c) == callers })
	close(release)
	wg.Wait()

	for i, v := range got {
		if !v {
			t.Errorf("caller %d: Enabled = false, want true", i)
		}
	}
	if n := srv.count(); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

// Both answers are cached and survive the last Release: churn costs nothing.
func TestChurnDoesNotRefetch(t *testing.T) {
	for _, flag := range []bool{false, true} {
		srv := newFlagServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) { writeAnswer(w, flag) })
		c := newTestCache(t)
		ep := Endpoint{URL: srv.URL}
		for range 5 {
			x := acquire(t, c, ep, "db")
			if got := x.Enabled(bg); got != flag {
				t.Errorf("flag %v: Enabled = %v", flag, got)
			}
			x.Release()
		}
		if n := srv.count(); n != 1 {
			t.Errorf("flag %v: server saw %d requests, want 1", flag, n)
		}
		want := []HostStats{{URL: srv.URL, Host: "db", Fetches: 1, Value: flag, Known: true}}
		if d := cmp.Diff(want, c.Stats(), cmp.FilterPath(isLastFetch, cmp.Ignore())); d != "" {
			t.Errorf("flag %v: Stats (-want +got):\n%s", flag, d)
		}
	}
}

func isLastFetch(p cmp.Path) bool { return p.Last().String() == ".LastFetch" }

// An expired value is served while one refresh runs in the background.
func TestStaleWhileRevalidate(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	srv := newFlagServer(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n > 1 {
			close(entered)
			<-release
		}
		writeAnswer(w, n == 1)
	})
	clk := newClock()
	c := newTestCache(t, WithClock(clk.Now))
	x := acquire(t, c, Endpoint{URL: srv.URL}, "db")
	defer x.Release()
	if !x.Enabled(bg) {
		t.Fatal("first Enabled = false, want true")
	}

	clk.Advance(15 * time.Minute)
	// A cancelled ctx proves Enabled does not wait: waiting would give false.
	done, cancel := context.WithCancel(bg)
	cancel()
	if !x.Enabled(done) {
		t.Fatal("expired: Enabled = false, want the stale true")
	}
	recv(t, entered, "the refresh to reach the server") // which holds it
	if !x.Enabled(done) {
		t.Fatal("during refresh: Enabled = false, want the stale true")
	}
	close(release)
	settle(c)
	if x.Enabled(bg) {
		t.Error("after refresh: Enabled = true, want the new false")
	}
	if n := srv.count(); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
}

// After a success, a failing server gets the stale value served and retries
// spaced by a doubling backoff capped at the TTL; logs are one per episode
// and never hold the token.
func TestBackoffServesStaleAndLogsOncePerEpisode(t *testing.T) {
	var failing atomic.Bool
	srv := newFlagServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			t.Error("missing bearer token")
		}
		if failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		writeAnswer(w, true)
	})
	var logs bytes.Buffer
	clk := newClock()
	c := newTestCache(t, WithClock(clk.Now), WithTTL(2*time.Minute),
		WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	x := acquire(t, c, Endpoint{URL: srv.URL, Token: token}, "db")
	defer x.Release()
	if !x.Enabled(bg) {
		t.Fatal("first Enabled = false")
	}

	failing.Store(true)
	steps := []struct {
		advance      time.Duration
		wantRequests int
	}{
		{2 * time.Minute, 2}, // expired: refresh fails, backoff 30s
		{29 * time.Second, 2},
		{time.Second, 3}, // backoff 60s
		{59 * time.Second, 3},
		{time.Second, 4}, // backoff 120s
		{119 * time.Second, 4},
		{time.Second, 5}, // backoff stays 120s: capped at the TTL
		{119 * time.Second, 5},
		{time.Second, 6},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		for range 10 {
			if !x.Enabled(bg) {
				t.Fatalf("step %d: Enabled = false, want the stale true", i)
			}
		}
		settle(c)
		if n := srv.count(); n != s.wantRequests {
			t.Fatalf("step %d: server saw %d requests, want %d", i, n, s.wantRequests)
		}
	}
	failing.Store(false)
	clk.Advance(2 * time.Minute)
	x.Enabled(bg)
	settle(c)
	if got := c.Stats()[0]; got.Fetches != 7 || got.Errors != 5 || !got.Value {
		t.Errorf("Stats = %+v, want 7 fetches, 5 errors, value true", got)
	}

	levels := map[string]int{}
	for line := range strings.Lines(logs.String()) {
		var rec struct{ Level string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		levels[rec.Level]++
	}
	if d := cmp.Diff(map[string]int{"WARN": 1, "DEBUG": 4, "INFO": 1}, levels); d != "" {
		t.Errorf("log levels (-want +got):\n%s", d)
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("logs leak the token:\n%s", logs.String())
	}
}

// A service that is down from the start costs one request per backoff, not
// one per connect, and every connect hears "disabled".
func TestServerDownFromStartNoStorm(t *testing.T) {
	srv := newFlagServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		http.Error(w, "down", http.StatusInternalServerError)
	})
	clk := newClock()
	c := newTestCache(t, WithClock(clk.Now), WithLogger(slog.New(slog.DiscardHandler)))
	ep := Endpoint{URL: srv.URL}
	connect := func() bool {
		x := acquire(t, c, ep, "db")
		defer x.Release()
		return x.Enabled(bg)
	}

	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if connect() {
				t.Error("Enabled = true with no answer ever")
			}
		})
	}
	wg.Wait()
	if n := srv.count(); n != 1 {
		t.Fatalf("100 connects: server saw %d requests, want 1", n)
	}
	clk.Advance(30 * time.Second)
	if connect() {
		t.Error("after backoff: Enabled = true")
	}
	settle(c) // the retry runs in the background
	if n := srv.count(); n != 2 {
		t.Errorf("after backoff: server saw %d requests, want 2", n)
	}
}

// Only the first ask for a never-answered host waits. Once a fetch has
// failed, later callers are told "disabled" at once while the retry runs in
// the background: a blackholed service must not stall a connect every
// backoff period.
func TestNoWaitAfterAFailure(t *testing.T) {
	unblock := make(chan struct{})
	var calls atomic.Int64
	hang := fetcherFunc(func(ctx context.Context, _ string) (Answer, error) {
		if calls.Add(1) == 1 {
			return Answer{}, errors.New("first fetch fails")
		}
		select {
		case <-unblock:
			return Answer{Enabled: true}, nil
		case <-ctx.Done():
			return Answer{}, ctx.Err()
		}
	})
	clk := newClock()
	c := newTestCache(t, WithClock(clk.Now), WithFetchTimeout(time.Hour),
		WithFetcher(func(Endpoint) Fetcher { return hang }), WithLogger(slog.New(slog.DiscardHandler)))
	x := acquire(t, c, Endpoint{URL: "http://127.0.0.1:1"}, "db")
	defer x.Release()
	if x.Enabled(bg) {
		t.Fatal("Enabled = true after a failed fetch")
	}
	clk.Advance(time.Minute) // past the backoff
	done := make(chan bool)
	go func() { done <- x.Enabled(bg) }()
	select {
	case v := <-done:
		if v {
			t.Error("Enabled = true before any answer")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Enabled waited for the retry, whose fetch hangs")
	}
	close(unblock)
	settle(c)
	if !x.Enabled(bg) {
		t.Error("the background retry's answer was not kept")
	}
}

// A cold caller waits no longer than its ctx; the fetch carries on for others.
func TestColdWaitBoundedByCallerAndTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newFlagServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-release:
			writeAnswer(w, true)
		case <-r.Context().Done():
		}
	})
	c := newTestCache(t, WithLogger(slog.New(slog.DiscardHandler)), WithFetchTimeout(100*time.Millisecond))
	x := acquire(t, c, Endpoint{URL: srv.URL}, "db")
	defer x.Release()

	done, cancel := context.WithCancel(bg)
	cancel()
	if x.Enabled(done) {
		t.Error("cancelled caller: Enabled = true")
	}
	settle(c) // the fetch times out: nobody released the handler
	if x.Enabled(bg) {
		t.Error("during backoff: Enabled = true")
	}
	if got := c.Stats()[0]; got.Fetches != 1 || got.Errors != 1 || got.Known {
		t.Errorf("Stats = %+v, want 1 fetch, 1 error, not known", got)
	}
	close(release)
}

// Answers' TTLs are clamped whatever the Fetcher says.
func TestAnswerTTLClamped(t *testing.T) {
	var fetches atomic.Int32
	clk := newClock()
	c := newTestCache(t, WithClock(clk.Now), WithFetcher(func(Endpoint) Fetcher {
		return fetcherFunc(func(context.Context, string) (Answer, error) {
			fetches.Add(1)
			return Answer{Enabled: true, TTL: time.Nanosecond}, nil
		})
	}))
	x := acquire(t, c, Endpoint{URL: "http://flags.invalid"}, "db")
	defer x.Release()
	for _, s := range []struct {
		advance time.Duration
		want    int32
	}{{0, 1}, {59 * time.Second, 1}, {time.Second, 2}} {
		clk.Advance(s.advance)
		x.Enabled(bg)
		settle(c)
		if n := fetches.Load(); n != s.want {
			t.Errorf("after %v: %d fetches, want %d", s.advance, n, s.want)
		}
	}
}

type fetcherFunc func(context.Context, string) (Answer, error)

func (f fetcherFunc) Fetch(ctx context.Context, host string) (Answer, error) { return f(ctx, host) }

func TestReleaseCountsOnce(t *testing.T) {
	srv := newFlagServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) { writeAnswer(w, true) })
	c := newTestCache(t)
	ep := Endpoint{URL: srv.URL}
	a, b := acquire(t, c, ep, "db"), acquire(t, c, ep, "db")
	refs := func() int { return c.Stats()[0].RefCount }
	a.Release()
	a.Release()
	if got := refs(); got != 1 {
		t.Errorf("after double Release: RefCount = %d, want 1", got)
	}
	if a.Enabled(bg) || srv.count() != 0 {
		t.Error("released Context: Enabled answered or fetched")
	}
	b.Release()
	if got := refs(); got != 0 {
		t.Errorf("after all Releases: RefCount = %d, want 0", got)
	}
}

// Unheld entries go only a day after their value and backoff have run out.
func TestEvictionOnlyAfterExpiry(t *testing.T) {
	clk := newClock()
	c := newTestCache(t, WithClock(clk.Now), WithFetcher(func(Endpoint) Fetcher {
		return fetcherFunc(func(context.Context, string) (Answer, error) { return Answer{}, nil })
	}))
	ep := Endpoint{URL: "http://flags.invalid"}
	hosts := func() (hs []string) {
		for _, s := range c.Stats() {
			hs = append(hs, s.Host)
		}
		return hs
	}
	x := acquire(t, c, ep, "a")
	x.Enabled(bg)
	x.Release()
	acquire(t, c, ep, "b").Release()
	if d := cmp.Diff([]string{"a", "b"}, hosts()); d != "" {
		t.Errorf("before expiry (-want +got):\n%s", d)
	}
	clk.Advance(15 * time.Minute)
	acquire(t, c, ep, "c").Release()
	// b was never fetched: it has nothing to keep.
	if d := cmp.Diff([]string{"a", "c"}, hosts()); d != "" {
		t.Errorf("just after expiry (-want +got):\n%s", d)
	}
	clk.Advance(forgetAfter)
	acquire(t, c, ep, "d").Release()
	if d := cmp.Diff([]string{"d"}, hosts()); d != "" {
		t.Errorf("a day after expiry (-want +got):\n%s", d)
	}
}

// An expired entry that another host's first Acquire finds unheld is kept:
// a host answered before serves its last value at once, and a host whose
// fetch failed is not waited for again, while the service is down.
func TestExpiredEntriesKeepServing(t *testing.T) {
	var down atomic.Bool
	var fetches atomic.Int64
	fetch := fetcherFunc(func(ctx context.Context, host string) (Answer, error) {
		fetches.Add(1)
		if down.Load() {
			<-ctx.Done() // blackholed
			return Answer{}, ctx.Err()
		}
		if host == "failed" {
			return Answer{}, errors.New("flags: 500")
		}
		return Answer{Enabled: true, TTL: 15 * time.Minute}, nil
	})
	clk := newClock()
	c := newTestCache(t, WithClock(clk.Now), WithFetchTimeout(time.Hour),
		WithFetcher(func(Endpoint) Fetcher { return fetch }))
	ep := Endpoint{URL: "http://flags.invalid"}
	for _, host := range []string{"known", "failed"} {
		x := acquire(t, c, ep, host)
		x.Enabled(bg)
		x.Release()
	}
	down.Store(true)
	clk.Advance(time.Hour) // past the TTL and the first backoff
	acquire(t, c, ep, "other").Release()
	n := fetches.Load()
	for host, want := range map[string]bool{"known": true, "failed": false} {
		x := acquire(t, c, ep, host)
		ctx, cancel := context.WithTimeout(bg, 5*time.Second)
		if got := x.Enabled(ctx); got != want || ctx.Err() != nil {
			t.Errorf("%s: Enabled = %v after %v, want %v at once", host, got, ctx.Err(), want)
		}
		cancel()
		x.Release()
	}
	// The refresh runs in the background, blackholed until Close.
	for deadline := time.Now().Add(5 * time.Second); fetches.Load() == n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the expired known value was served without a refresh starting")
		}
	}
	c.Close()
}

func TestAcquireRejectsBadInput(t *testing.T) {
	c := newTestCache(t)
	for _, tt := range []struct{ url, host string }{
		{"http://flags", ""},
		{"", "db"},
		{"flags:4318", "db"},
		{"ftp://flags", "db"},
		{"http://", "db"},
		{"http://user:pa55word@[::1", "db"},
	} {
		_, err := c.Acquire(bg, Endpoint{URL: tt.url, Token: token}, tt.host)
		if err == nil {
			t.Errorf("Acquire(%q, %q) succeeded", tt.url, tt.host)
		} else if msg := err.Error(); strings.Contains(msg, "pa55word") || strings.Contains(msg, token) {
			t.Errorf("error leaks a secret: %v", err)
		}
	}
}

// Close cancels and waits for a background refresh; nothing is left behind.
func TestCloseWaitsForRefresh(t *testing.T) {
	entered := make(chan struct{})
	srv := newFlagServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n > 1 {
			close(entered)
			<-r.Context().Done()
			return
		}
		writeAnswer(w, true)
	})
	ignore := goleak.IgnoreCurrent()
	clk := newClock()
	c := NewCache(WithClock(clk.Now))
	x := acquire(t, c, Endpoint{URL: srv.URL}, "db")
	if !x.Enabled(bg) {
		t.Fatal("first Enabled = false")
	}
	clk.Advance(time.Hour)
	x.Enabled(bg)
	recv(t, entered, "the refresh to reach the server")

	c.Close()
	goleak.VerifyNone(t, ignore)
	if !x.Enabled(bg) {
		t.Error("after Close: Enabled = false, want the cached true")
	}
	if _, err := c.Acquire(bg, Endpoint{URL: srv.URL}, "db"); !errors.Is(err, ErrClosed) {
		t.Errorf("Acquire after Close: %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if n := srv.count(); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
}

func TestDefaultIsShared(t *testing.T) {
	if a, b := Default(), Default(); a != b {
		t.Error("Default returned two caches")
	}
}

func BenchmarkEnabledFresh(b *testing.B) {
	c := NewCache(WithFetcher(func(Endpoint) Fetcher {
		return fetcherFunc(func(context.Context, string) (Answer, error) { return Answer{Enabled: true}, nil })
	}))
	defer c.Close()
	x, _ := c.Acquire(bg, Endpoint{URL: "http://flags.invalid"}, "db")
	defer x.Release()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			x.Enabled(bg)
		}
	})
}

// panickingHandler is a log handler that panics on every line.
type panickingHandler struct{}

func (panickingHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (panickingHandler) Handle(context.Context, slog.Record) error { panic("log sink broken") }
func (h panickingHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h panickingHandler) WithGroup(string) slog.Handler           { return h }

// A failed fetch is logged on the asking Connect's goroutine: a log handler
// that panics loses the line, and the answer still comes.
func TestPanickingLoggerLosesOnlyTheLine(t *testing.T) {
	failing := fetcherFunc(func(context.Context, string) (Answer, error) { return Answer{}, errors.New("flags: 500") })
	c := newTestCache(t, WithFetcher(func(Endpoint) Fetcher { return failing }), WithLogger(slog.New(panickingHandler{})))
	x := acquire(t, c, Endpoint{URL: "http://127.0.0.1:1"}, "db")
	defer x.Release()
	if x.Enabled(bg) {
		t.Error("Enabled = true after a failed fetch")
	}
}
