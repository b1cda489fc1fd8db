package flags

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is an injectable time source that only moves when told to.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// flagServer is an httptest server that counts requests and lets each test
// decide the response; n is the 1-based number of the request.
type flagServer struct {
	*httptest.Server
	requests atomic.Int32
}

func newFlagServer(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, n int)) *flagServer {
	t.Helper()
	s := &flagServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond(w, r, int(s.requests.Add(1)))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *flagServer) count() int { return int(s.requests.Load()) }

func writeAnswer(w http.ResponseWriter, enabled bool) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"flags": map[string]any{"telemetry_enabled": enabled}})
}

func newTestCache(t *testing.T, opts ...Option) *Cache {
	t.Helper()
	c := NewCache(opts...)
	t.Cleanup(func() { c.Close() })
	return c
}

func acquire(t *testing.T, c *Cache, ep Endpoint, host string) *Context {
	t.Helper()
	x, err := c.Acquire(context.Background(), ep, host)
	if err != nil {
		t.Fatalf("Acquire(%q): %v", host, err)
	}
	return x
}

// settle waits for every fetch the test goroutine has started.
func settle(c *Cache) { c.wg.Wait() }

// recv receives from ch, failing rather than hanging if nothing comes.
func recv(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// waitUntil polls cond: it synchronises with goroutines, it measures nothing.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
