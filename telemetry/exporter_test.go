package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestBatchBySize(t *testing.T) {
	c := newCollector(t, nil)
	h := start(t, testConfig(c))
	h.record(25)
	c.waitRequests(t, 2)
	h.flush(t)
	reqs := c.requests()
	var sizes []int
	for _, r := range reqs {
		sizes = append(sizes, len(r.Env.Events))
	}
	if diff := cmp.Diff([]int{10, 10, 5}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	var want []string
	for i := range 25 {
		want = append(want, fmt.Sprintf("%016x", i))
	}
	if diff := cmp.Diff(want, connIDs(reqs...)); diff != "" {
		t.Errorf("events out of order (-want +got):\n%s", diff)
	}
	s := h.release(t)
	if s.Delivered != 25 || s.Requests != 3 || s.DroppedTotal() != 0 {
		t.Errorf("stats = %+v, want 25 delivered in 3 requests", s)
	}
}

func TestBatchByInterval(t *testing.T) {
	c := newCollector(t, nil)
	cfg := testConfig(c)
	cfg.BatchSize = 100
	cfg.FlushInterval = 20 * time.Millisecond
	h := start(t, cfg)
	h.record(3)
	reqs := c.waitRequests(t, 1)
	if got := len(reqs[0].Env.Events); got != 3 {
		t.Errorf("first request has %d events, want 3", got)
	}
	h.record(2)
	reqs = c.waitRequests(t, 2)
	if got := len(reqs[1].Env.Events); got != 2 {
		t.Errorf("second request has %d events, want 2", got)
	}
	if s := h.release(t); s.Delivered != 5 {
		t.Errorf("Delivered = %d, want 5", s.Delivered)
	}
}

func TestHeadersAndBody(t *testing.T) {
	c := newCollector(t, nil)
	now := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", 3600))
	cfg := testConfig(c)
	cfg.Token = "tok"
	cfg.Clock = func() time.Time { return now }
	h := start(t, cfg)
	h.exp.Record(Event{Time: now, Host: "h\"1", ConnID: 0xff, Rows: -1, Op: OpPing, Latency: 2 * time.Millisecond})
	h.exp.Record(testEvent(7))
	h.flush(t)
	r := c.requests()[0]
	hdr := map[string]string{}
	for _, k := range []string{"Content-Type", "User-Agent", "Sqltel-Attempt", "Authorization", "Content-Encoding"} {
		hdr[k] = r.Header.Get(k)
	}
	wantHdr := map[string]string{
		"Content-Type": "application/json", "User-Agent": "sqltel-go/0.1.0", "Sqltel-Attempt": "1",
		"Authorization": "Bearer tok", "Content-Encoding": "",
	}
	if diff := cmp.Diff(wantHdr, hdr); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if id := r.Header.Get("Sqltel-Request-Id"); len(id) != 32 || id != r.Env.RequestID {
		t.Errorf("request id header %q, body %q: want the same 32 hex digits", id, r.Env.RequestID)
	}
	if r.Env.CreatedAt != "2026-05-06T06:08:09.123456789Z" {
		t.Errorf("created_at = %q", r.Env.CreatedAt)
	}
	if sid := r.Env.Client["session_id"]; len(sid) != 32 {
		t.Errorf("session_id = %q, want 32 hex digits", sid)
	}
	if r.Env.Client["name"] != "sqltel-go" || r.Env.Client["version"] != "0.1.0" || r.Env.Client["go_version"] == "" {
		t.Errorf("client = %v", r.Env.Client)
	}
	for i, ev := range r.Env.Events {
		if id, _ := ev["id"].(string); len(id) != 32 {
			t.Errorf("event %d id = %q, want 32 hex digits", i, id)
		}
		delete(ev, "id")
	}
	want := []map[string]any{
		{"type": "statement", "time": "2026-05-06T06:08:09.123456789Z", "host": "h\"1", "db_system": "",
			"conn_id": "00000000000000ff", "op": "ping", "latency_us": 2000.0, "in_tx": false},
		{"type": "statement", "time": "2026-01-02T03:04:05.000006Z", "host": "db.example:5432",
			"db_system": "postgresql", "conn_id": "0000000000000007", "op": "query", "stmt_kind": "SELECT",
			"fingerprint": "abcdef0123456789", "latency_us": 1500.0, "rows": 3.0, "in_tx": false},
	}
	if diff := cmp.Diff(want, r.Env.Events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	h.release(t)
}

func TestPartialRetry(t *testing.T) {
	var firstIDs []string
	c := newCollector(t, func(n int, r captured) reply {
		if n > 0 {
			return reply{status: 200}
		}
		firstIDs = r.ids()
		return reply{status: 200, body: fmt.Sprintf(`{"results":{%q:"retry",%q:"drop",%q:"warning",%q:"ok"}}`,
			firstIDs[0], firstIDs[1], firstIDs[2], firstIDs[3])}
	})
	h := start(t, testConfig(c))
	h.record(5)
	h.flush(t)
	reqs := c.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if diff := cmp.Diff(firstIDs[:1], reqs[1].ids()); diff != "" {
		t.Errorf("resent ids (-want +got):\n%s", diff)
	}
	if reqs[0].Env.RequestID == reqs[1].Env.RequestID {
		t.Error("the resend of retry events reused the request id")
	}
	if got := reqs[1].Header.Get("Sqltel-Attempt"); got != "1" {
		t.Errorf("Sqltel-Attempt of the new request = %s, want 1", got)
	}
	s := h.release(t)
	want := Stats{Recorded: 5, Delivered: 4, Requests: 2, EventRetries: 1, Warnings: 1,
		Dropped: DroppedStats{Rejected: 1}}
	if diff := cmp.Diff(want, s, cmpStats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	errs := h.errs.all()
	var ee *ExportError
	if len(errs) != 1 || !errors.As(errs[0], &ee) || !errors.Is(ee, ErrRejected) ||
		!cmp.Equal(ee.Dropped, firstIDs[1:2]) || ee.RequestID != reqs[0].Env.RequestID {
		t.Errorf("OnError got %v, want one ErrRejected for %v", errs, firstIDs[1:2])
	}
}

// cmpStats ignores the time of the last success.
var cmpStats = cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "LastSuccess" }, cmp.Ignore())

func TestEventRetriesBounded(t *testing.T) {
	c := newCollector(t, func(n int, r captured) reply {
		body := `{"results":{`
		for i, id := range r.ids() {
			if i > 0 {
				body += ","
			}
			body += strconv.Quote(id) + `:"retry"`
		}
		return reply{status: 200, body: body + "}}"}
	})
	h := start(t, testConfig(c))
	h.record(3)
	h.flush(t)
	reqs := c.requests()
	if len(reqs) != maxEventRetries {
		t.Errorf("%d requests, want %d", len(reqs), maxEventRetries)
	}
	for _, r := range reqs[1:] {
		if diff := cmp.Diff(reqs[0].ids(), r.ids()); diff != "" {
			t.Errorf("retried event ids changed (-want +got):\n%s", diff)
		}
	}
	s := h.release(t)
	if s.Dropped.RetriesExhausted != 3 || s.EventRetries != 9 {
		t.Errorf("stats = %+v, want 3 RetriesExhausted after 9 event retries", s)
	}
}

func TestRetrySameRequest(t *testing.T) {
	c := newCollector(t, func(n int, r captured) reply {
		if n < 2 {
			return reply{status: []int{503, 500}[n]}
		}
		return reply{status: 200}
	})
	h := start(t, testConfig(c), waitBackoff)
	h.record(3)
	h.flush(t)
	reqs := c.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if got := r.Header.Get("Sqltel-Attempt"); got != strconv.Itoa(i+1) {
			t.Errorf("request %d: Sqltel-Attempt = %s", i, got)
		}
		if r.Header.Get("Sqltel-Request-Id") != reqs[0].Env.RequestID || r.Env.CreatedAt != reqs[0].Env.CreatedAt {
			t.Errorf("request %d: id/created_at changed", i)
		}
		if string(r.Body) != string(reqs[0].Body) {
			t.Errorf("request %d: body changed", i)
		}
	}
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second}, h.gates.waitsOf(waitBackoff)); diff != "" {
		t.Errorf("backoff waits (-want +got):\n%s", diff)
	}
	s := h.release(t)
	if s.Delivered != 3 || s.Requests != 3 || s.Retries != 2 {
		t.Errorf("stats = %+v", s)
	}
}

func TestRetriesExhausted(t *testing.T) {
	c := newCollector(t, func(int, captured) reply { return reply{status: 502} })
	h := start(t, testConfig(c), waitBackoff)
	h.record(2)
	h.flush(t)
	if n := len(c.requests()); n != maxAttempts {
		t.Errorf("%d requests, want %d", n, maxAttempts)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, h.gates.waitsOf(waitBackoff)); diff != "" {
		t.Errorf("backoff waits (-want +got):\n%s", diff)
	}
	s := h.release(t)
	if s.Dropped.RetriesExhausted != 2 || s.Retries != 3 {
		t.Errorf("stats = %+v", s)
	}
	var ee *ExportError
	errs := h.errs.all()
	if len(errs) != 1 || !errors.As(errs[0], &ee) || !errors.Is(ee, ErrRetriesExhausted) ||
		ee.Status != 502 || ee.Attempts != 4 || len(ee.Dropped) != 2 {
		t.Errorf("OnError got %v", errs)
	}
}

func TestRequestTimeoutRetried(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	c := newCollector(t, func(_ int, r captured) reply {
		if r.Header.Get("Sqltel-Attempt") == "1" {
			<-release
		}
		return reply{status: 200}
	})
	// Only the first attempt has the short timeout: on a loaded machine
	// the second must not time out as well. beforeSend runs on the
	// exporter's goroutine, the one that reads requestTimeout.
	h := startWith(t, testConfig(c), func(e *Exporter) {
		e.hooks.beforeSend = func(b *batch) {
			e.hooks.requestTimeout = 10 * time.Second
			if b.attempts == 0 {
				e.hooks.requestTimeout = 50 * time.Millisecond
			}
		}
	}, waitBackoff)
	h.record(1)
	h.flush(t)
	reqs := c.requests() // in any order: the first may be captured late
	attempts := map[string]int{}
	for _, r := range reqs {
		attempts[r.Header.Get("Sqltel-Attempt")]++
		if r.Env.RequestID != reqs[0].Env.RequestID {
			t.Errorf("the resend has another request id: %s, %s", r.Env.RequestID, reqs[0].Env.RequestID)
		}
	}
	if len(reqs) > 2 || attempts["2"] != 1 {
		t.Errorf("want the timed-out request resent once as attempt 2, got attempts %v", attempts)
	}
	if s := h.release(t); s.Delivered != 1 || s.Retries != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		name, header string
		want         time.Duration
	}{
		{"seconds as minimum", "5", 5 * time.Second},
		{"below backoff", "0", time.Second},
		{"seconds clamped", "120", 30 * time.Second},
		{"http date", now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second},
		{"http date clamped", now.Add(time.Hour).Format(http.TimeFormat), 30 * time.Second},
		{"garbage", "soon", time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCollector(t, func(n int, r captured) reply {
				if n == 0 {
					return reply{status: 429, header: map[string]string{"Retry-After": tt.header}}
				}
				return reply{status: 200}
			})
			cfg := testConfig(c)
			cfg.Clock = func() time.Time { return now }
			h := start(t, cfg, waitBackoff)
			h.record(1)
			h.flush(t)
			if diff := cmp.Diff([]time.Duration{tt.want}, h.gates.waitsOf(waitBackoff)); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			h.release(t)
		})
	}
}

func TestNextRequestWait(t *testing.T) {
	c := newCollector(t, func(n int, r captured) reply {
		if n == 0 {
			return reply{status: 200, body: `{"next_request_wait_ms":250}`}
		}
		return reply{status: 202, body: `{"next_request_wait_ms":5000000000}`}
	})
	h := start(t, testConfig(c))
	h.record(10) // a full batch
	g := h.gates.wait(t, 1)
	if g.kind != waitPacing || g.d != 250*time.Millisecond {
		t.Errorf("wait = %v %v, want pacing 250ms", g.kind, g.d)
	}
	h.record(10) // another full batch, held back by the pacing
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.exp.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush during the wait = %v, want DeadlineExceeded", err)
	}
	if n := len(c.requests()); n != 1 {
		t.Errorf("%d requests during the wait, want 1", n)
	}
	g.ch <- time.Now()
	h.flush(t)
	if n := len(c.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	if g := h.gates.wait(t, 2); g.kind != waitPacing || g.d != time.Hour {
		t.Errorf("wait = %v %v, want pacing clamped to 1h", g.kind, g.d)
	}
	h.release(t)
}

func TestMalformedResponseNotResent(t *testing.T) {
	for _, body := range []string{"not json", `{"results":[1]}`, `{"results":{"x":"ok"}`} {
		t.Run(body, func(t *testing.T) {
			c := newCollector(t, func(int, captured) reply { return reply{status: 200, body: body} })
			h := start(t, testConfig(c))
			h.record(4)
			h.flush(t)
			if n := len(c.requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
			s := h.release(t)
			if s.Delivered != 4 || s.MalformedResponses != 1 {
				t.Errorf("stats = %+v", s)
			}
			if errs := h.errs.all(); len(errs) != 1 || !errors.Is(errs[0], ErrMalformedResponse) {
				t.Errorf("OnError got %v", errs)
			}
		})
	}
}

func TestSplitOn413(t *testing.T) {
	c := newCollector(t, func(n int, r captured) reply {
		if len(r.Env.Events) > 2 {
			return reply{status: 413}
		}
		return reply{status: 200}
	})
	cfg := testConfig(c)
	cfg.BatchSize = 8
	h := start(t, cfg)
	h.record(8)
	h.flush(t)
	reqs := c.requests()
	var sizes []int
	seen := map[string]bool{}
	for _, r := range reqs {
		sizes = append(sizes, len(r.Env.Events))
		if seen[r.Env.RequestID] {
			t.Errorf("request id %s reused by a split half", r.Env.RequestID)
		}
		seen[r.Env.RequestID] = true
	}
	if diff := cmp.Diff([]int{8, 4, 2, 2, 4, 2, 2}, sizes); diff != "" {
		t.Errorf("request sizes (-want +got):\n%s", diff)
	}
	var delivered []string
	for _, r := range reqs {
		if len(r.Env.Events) <= 2 {
			delivered = append(delivered, r.ids()...)
		}
	}
	if diff := cmp.Diff(reqs[0].ids(), delivered); diff != "" {
		t.Errorf("event ids after splitting (-want +got):\n%s", diff)
	}
	if s := h.release(t); s.Delivered != 8 {
		t.Errorf("stats = %+v", s)
	}
}

func TestTooLarge(t *testing.T) {
	c := newCollector(t, func(int, captured) reply { return reply{status: 413} })
	h := start(t, testConfig(c))
	h.record(2)
	h.flush(t)
	if n := len(c.requests()); n != 3 {
		t.Errorf("%d requests, want 3 (the batch and its halves)", n)
	}
	s := h.release(t)
	if s.Dropped.TooLarge != 2 {
		t.Errorf("stats = %+v", s)
	}
	for _, err := range h.errs.all() {
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("OnError got %v, want ErrTooLarge", err)
		}
	}
}

func TestRejected(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 422, 501} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			c := newCollector(t, func(int, captured) reply { return reply{status: status} })
			h := start(t, testConfig(c), waitBackoff)
			h.record(3)
			h.flush(t)
			if n := len(c.requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
			s := h.release(t)
			if s.Dropped.Rejected != 3 {
				t.Errorf("stats = %+v", s)
			}
			var ee *ExportError
			if errs := h.errs.all(); len(errs) != 1 || !errors.As(errs[0], &ee) || ee.Status != status || !errors.Is(ee, ErrRejected) {
				t.Errorf("OnError got %v", errs)
			}
		})
	}
}

func TestCircuitBreaker(t *testing.T) {
	healthy := make(chan struct{})
	c := newCollector(t, func(n int, r captured) reply {
		select {
		case <-healthy:
			return reply{status: 200}
		default:
		}
		if n == 5 {
			return reply{status: 503, header: map[string]string{"Retry-After": "300"}}
		}
		return reply{status: 503}
	})
	cfg := testConfig(c)
	cfg.BatchSize = 5
	h := start(t, cfg, waitBackoff)
	h.record(10) // two batches
	// Batch 1: 4 attempts then dropped; batch 2's first attempt is the 5th
	// failure in a row and opens the circuit.
	g := h.gates.wait(t, 4)
	if g.kind != waitCircuit || g.d != circuitOpen {
		t.Fatalf("4th wait = %v %v, want circuit %v", g.kind, g.d, circuitOpen)
	}
	if n := len(c.requests()); n != 5 {
		t.Errorf("%d requests when the circuit opened, want 5", n)
	}
	h.record(10) // keeps buffering while open
	if n := len(c.requests()); n != 5 {
		t.Errorf("%d requests while open, want 5", n)
	}
	g.ch <- time.Now() // half-open: one probe, which fails with Retry-After: 300
	g = h.gates.wait(t, 5)
	if g.kind != waitCircuit || g.d != 300*time.Second {
		t.Errorf("5th wait = %v %v, want circuit 5m", g.kind, g.d)
	}
	reqs := c.requests()
	if len(reqs) != 6 || reqs[5].Header.Get("Sqltel-Attempt") != "2" {
		t.Errorf("want one probe (attempt 2 of batch 2), got %d requests", len(reqs))
	}
	close(healthy)
	g.ch <- time.Now()
	h.flush(t)
	s := h.release(t)
	if s.Dropped.RetriesExhausted != 5 || s.Delivered != 15 {
		t.Errorf("stats = %+v", s)
	}
}

func TestCircuitWait(t *testing.T) {
	for _, tt := range []struct{ ra, want time.Duration }{
		{0, time.Minute}, {30 * time.Second, time.Minute}, {5 * time.Minute, 5 * time.Minute}, {time.Hour, 10 * time.Minute},
	} {
		if got := circuitWait(tt.ra); got != tt.want {
			t.Errorf("circuitWait(%v) = %v, want %v", tt.ra, got, tt.want)
		}
	}
}

func TestLastReleaseFlushes(t *testing.T) {
	c := newCollector(t, nil)
	cfg := testConfig(c)
	cfg.BatchSize = 200
	h := start(t, cfg)
	h.record(1000)
	s := h.release(t)
	if s.Delivered != 1000 || s.DroppedTotal() != 0 {
		t.Errorf("stats = %+v, want 1000 delivered", s)
	}
	if got := len(connIDs(c.requests()...)); got != 1000 {
		t.Errorf("collector got %d events, want 1000", got)
	}
	c.Close()
	goleak.VerifyNone(t)
}

func TestLastReleaseHangingCollector(t *testing.T) {
	c, unstick := newHangingCollector(t)
	defer unstick()
	cfg := testConfig(c)
	cfg.ShutdownTimeout = 300 * time.Millisecond
	h := start(t, cfg)
	h.record(15)
	c.waitRequests(t, 1) // a batch of 10 is in flight
	begin := time.Now()
	s := h.release(t)
	if d := time.Since(begin); d > cfg.ShutdownTimeout+time.Second {
		t.Errorf("last Release took %v, want at most %v", d, cfg.ShutdownTimeout+time.Second)
	}
	if s.Dropped.Shutdown != 15 {
		t.Errorf("stats = %+v, want 15 dropped at shutdown", s)
	}
	if errs := h.errs.all(); len(errs) != 1 || !errors.Is(errs[0], ErrShutdown) {
		t.Errorf("OnError got %v", errs)
	}
	if !hasString(h.logs.String(), "telemetry exporter stopped") {
		t.Error("no summary line in the logs")
	}
}

func TestLastReleaseDuringLongRetryAfter(t *testing.T) {
	c := newCollector(t, func(int, captured) reply {
		return reply{status: 503, header: map[string]string{"Retry-After": "30"}}
	})
	h := start(t, testConfig(c)) // real timers: the 30 s wait must be cut short
	h.record(10)
	h.gates.wait(t, 1)
	begin := time.Now()
	s := h.release(t)
	if d := time.Since(begin); d > DefaultShutdownTimeout+time.Second {
		t.Errorf("last Release took %v", d)
	}
	if s.Dropped.Shutdown != 10 || len(c.requests()) != 1 {
		t.Errorf("stats = %+v, requests %d", s, len(c.requests()))
	}
}

// With everything delivered, the last Release does not wait out a pause the
// collector asked for within the shutdown budget: there is nothing to send
// after it. (The pause's timer here never fires: a Release that waited
// would take the whole budget.)
func TestLastReleaseSkipsPauseWithNothingToSend(t *testing.T) {
	c := newCollector(t, func(int, captured) reply {
		return reply{status: 200, body: `{"next_request_wait_ms":1000}`}
	})
	h := start(t, testConfig(c))
	h.record(1)
	h.flush(t)
	h.gates.wait(t, 1) // the pause is armed
	begin := time.Now()
	s := h.release(t)
	if d := time.Since(begin); d > DefaultShutdownTimeout/2 {
		t.Errorf("last Release took %v with nothing left to send", d)
	}
	if s.Delivered != 1 || s.DroppedTotal() != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestNonLastReleaseReturnsAtOnce(t *testing.T) {
	c, unstick := newHangingCollector(t)
	cfg := testConfig(c)
	cfg.ShutdownTimeout = time.Hour // a Release that waited on the collector would hang
	h := start(t, cfg)
	second, err := h.reg.Acquire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if second != h.exp {
		t.Fatal("a second Acquire of the same endpoint returned another exporter")
	}
	h.record(3)
	begin := time.Now()
	second.Release()
	if d := time.Since(begin); d > time.Second {
		t.Errorf("non-last Release took %v", d)
	}
	if n := len(c.requests()); n != 0 {
		t.Errorf("non-last Release sent %d requests", n)
	}
	h.exp.Record(testEvent(9))
	if s := h.exp.Stats(); s.Pending != 4 {
		t.Errorf("Pending = %d after a non-last Release, want 4 (still running)", s.Pending)
	}
	unstick()
	if s := h.release(t); s.Delivered != 4 {
		t.Errorf("stats = %+v", s)
	}
}

func TestOverflowDropsOldest(t *testing.T) {
	hold := make(chan struct{})
	c := newCollector(t, func(n int, r captured) reply {
		if n == 0 {
			<-hold
		}
		return reply{status: 200}
	})
	cfg := testConfig(c)
	cfg.BatchSize = 5
	cfg.BufferSize = 5
	h := start(t, cfg)
	h.record(5)
	c.waitRequests(t, 1) // first batch in flight, the buffer is empty
	for i := 100; i < 112; i++ {
		h.exp.Record(testEvent(i))
	}
	s := h.exp.Stats()
	checkInvariant(t, s)
	if s.Dropped.Overflow != 7 || s.Pending != 10 {
		t.Errorf("stats = %+v, want 7 overflowed and 10 pending", s)
	}
	close(hold)
	h.flush(t)
	reqs := c.requests()
	want := []string{"000000000000006b", "000000000000006c", "000000000000006d", "000000000000006e", "000000000000006f"}
	if diff := cmp.Diff(want, connIDs(reqs[1:]...)); diff != "" {
		t.Errorf("kept events (-want +got):\n%s", diff)
	}
	if s := h.release(t); s.Delivered != 10 || s.Dropped.Overflow != 7 {
		t.Errorf("stats = %+v", s)
	}
}

func TestGzip(t *testing.T) {
	for _, tt := range []struct {
		name        string
		events      int
		compression Compression
		want        bool
	}{
		{"small body", 1, CompressionGzip, false},
		{"large body", 10, CompressionGzip, true},
		{"disabled", 10, CompressionNone, false},
		{"auto, to loopback", 10, CompressionAuto, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCollector(t, nil)
			cfg := testConfig(c)
			cfg.Compression = tt.compression
			disable := tt.compression != CompressionGzip
			h := start(t, cfg)
			h.record(tt.events)
			h.flush(t)
			r := c.requests()[0]
			if r.Gzipped != tt.want {
				t.Errorf("gzipped = %v, want %v (body %d bytes)", r.Gzipped, tt.want, len(r.Body))
			}
			if r.Gzipped && (len(r.Body) <= gzipThreshold || r.RawLen >= len(r.Body)) {
				t.Errorf("gzipped %d bytes into %d", len(r.Body), r.RawLen)
			}
			if !r.Gzipped && len(r.Body) > gzipThreshold && !disable {
				t.Errorf("body of %d bytes not gzipped", len(r.Body))
			}
			h.release(t)
		})
	}
}

func TestTokenNeverLeaks(t *testing.T) {
	const token = "s3cr3t-T0KEN-value"
	var auth []string
	c := newCollector(t, func(n int, r captured) reply {
		auth = append(auth, r.Header.Get("Authorization"))
		return reply{status: []int{401, 503, 503, 503, 503}[n%5]}
	})
	cfg := testConfig(c)
	cfg.Token = token
	h := start(t, cfg, waitBackoff, waitCircuit)
	h.record(10)
	h.flush(t)
	h.record(10)
	h.flush(t)
	if auth[0] != "Bearer "+token {
		t.Errorf("Authorization = %q", auth[0])
	}
	s := h.release(t)
	if s.Dropped.Rejected != 10 || s.Dropped.RetriesExhausted != 10 {
		t.Errorf("stats = %+v", s)
	}
	// A transport error too: the collector is gone.
	c.Close()
	h2 := start(t, cfg, waitBackoff, waitCircuit)
	h2.record(10)
	h2.flush(t)
	h2.release(t)
	for _, hh := range []*harness{h, h2} {
		if len(hh.errs.all()) == 0 {
			t.Error("no errors reported")
		}
		for _, err := range hh.errs.all() {
			if hasString(err.Error(), token) {
				t.Errorf("error contains the token: %v", err)
			}
		}
		if hasString(hh.logs.String(), token) {
			t.Errorf("logs contain the token:\n%s", hh.logs.String())
		}
	}
	if err := (Config{Endpoint: c.URL, Token: token + "\n"}).Validate(); err == nil || hasString(err.Error(), token) {
		t.Errorf("Validate with a bad token = %v", err)
	}
}

func TestNDJSON(t *testing.T) {
	c := newCollector(t, func(n int, r captured) reply {
		// Per-event results do not apply to NDJSON.
		return reply{status: 200, body: fmt.Sprintf(`{"results":{%q:"retry"}}`, r.ids()[0])}
	})
	cfg := testConfig(c)
	cfg.Format = FormatNDJSON
	h := start(t, cfg)
	h.record(3)
	h.flush(t)
	reqs := c.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type = %q", ct)
	}
	if len(r.Env.Events) != 3 {
		t.Fatalf("%d lines, want 3", len(r.Env.Events))
	}
	for _, line := range r.Env.Events {
		if line["request_id"] != r.Header.Get("Sqltel-Request-Id") || line["created_at"] == "" || line["op"] != "query" {
			t.Errorf("line = %v", line)
		}
		if cl, _ := line["client"].(map[string]any); cl["name"] != "sqltel-go" || len(cl["session_id"].(string)) != 32 {
			t.Errorf("client = %v", line["client"])
		}
	}
	if s := h.release(t); s.Delivered != 3 || s.EventRetries != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestPanicRecovered(t *testing.T) {
	c := newCollector(t, nil)
	calls := 0
	h := startWith(t, testConfig(c), func(e *Exporter) {
		e.hooks.beforeSend = func(*batch) {
			calls++
			if calls == 1 {
				panic("boom")
			}
		}
	})
	h.record(3)
	h.flush(t)
	h.record(2)
	h.flush(t)
	s := h.release(t)
	if s.Panics != 1 || s.Dropped.Internal != 3 || s.Delivered != 2 {
		t.Errorf("stats = %+v", s)
	}
	if errs := h.errs.all(); len(errs) != 1 || !errors.Is(errs[0], ErrInternal) {
		t.Errorf("OnError got %v", errs)
	}
}

func TestFlushBoundedByContext(t *testing.T) {
	c, unstick := newHangingCollector(t)
	defer unstick()
	cfg := testConfig(c)
	cfg.ShutdownTimeout = 100 * time.Millisecond
	h := start(t, cfg)
	h.record(1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.exp.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush = %v, want DeadlineExceeded", err)
	}
	s := h.release(t)
	if err := h.exp.Flush(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after stop = %v, want ErrClosed", err)
	}
	h.exp.Record(testEvent(1))
	after := h.exp.Stats()
	checkInvariant(t, after)
	if after.Recorded != s.Recorded+1 || after.Dropped.Shutdown != s.Dropped.Shutdown+1 {
		t.Errorf("Record after stop: %+v", after)
	}
}

func TestRedirectRefused(t *testing.T) {
	other := newCollector(t, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/events", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/v1/events", http.StatusTemporaryRedirect)
	})
	srv := newCollector(t, nil)
	srv.Config.Handler = mux
	for _, client := range []*http.Client{nil, {}} {
		cfg := Config{Endpoint: srv.URL, HTTPClient: client, FlushInterval: time.Hour}
		h := start(t, cfg)
		h.record(2)
		h.flush(t)
		if s := h.release(t); s.Dropped.Rejected != 2 {
			t.Errorf("stats = %+v", s)
		}
		if client != nil && client.CheckRedirect != nil {
			t.Error("the caller's client was modified")
		}
	}
	if n := len(other.requests()); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
}

// A caller's client whose own redirect policy refuses a redirect gets the
// batch rejected, not resent: a resend would meet the same redirect. (It
// was retried with backoff and counted as retries exhausted.)
func TestCallersRedirectRefusalIsRejected(t *testing.T) {
	srv := newCollector(t, nil)
	var posts atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/events", func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		http.Redirect(w, r, "/moved/v1/events", http.StatusTemporaryRedirect)
	})
	srv.Config.Handler = mux
	errNoRedirects := errors.New("this program follows no redirects")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return errNoRedirects }}
	h := start(t, Config{Endpoint: srv.URL, HTTPClient: client, FlushInterval: time.Hour}, waitBackoff)
	h.record(2)
	h.flush(t)
	s := h.release(t)
	if n := posts.Load(); n != 1 || s.Dropped.Rejected != 2 {
		t.Errorf("%d requests, stats %+v; want 1 request and both events rejected", n, s)
	}
	for _, err := range h.errs.all() {
		if !errors.Is(err, ErrRejected) {
			t.Errorf("OnError got %v, want ErrRejected", err)
		}
	}
}

// A 301, 302 or 303, even to the same host, turns the POST into a GET
// without the body: the batch is rejected, not counted delivered on the
// strength of whatever answered the GET. A 307 or 308 keeps the method and
// the body, and is followed.
func TestRedirectChangingMethodRefused(t *testing.T) {
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		var mu sync.Mutex
		var seen []string // method and whether a body came, at the target
		mux := http.NewServeMux()
		mux.HandleFunc("/v1/events", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/moved/v1/events", code)
		})
		mux.HandleFunc("/moved/v1/events", func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			seen = append(seen, fmt.Sprintf("%s %v", r.Method, len(b) > 0))
			mu.Unlock()
			io.WriteString(w, "{}")
		})
		srv := newCollector(t, nil)
		srv.Config.Handler = mux
		for _, client := range []*http.Client{nil, {}} {
			h := start(t, Config{Endpoint: srv.URL, HTTPClient: client, FlushInterval: time.Hour})
			h.record(3)
			h.flush(t)
			s := h.release(t)
			keeps := code == http.StatusTemporaryRedirect || code == http.StatusPermanentRedirect
			if keeps && s.Delivered != 3 || !keeps && (s.Delivered != 0 || s.Dropped.Rejected != 3) {
				t.Errorf("%d (own client %v): delivered %d, rejected %d", code, client == nil, s.Delivered, s.Dropped.Rejected)
			}
		}
		mu.Lock()
		for _, m := range seen {
			if m != "POST true" {
				t.Errorf("%d: the target got a %s", code, m)
			}
		}
		mu.Unlock()
	}
}

func TestStatsInvariantUnderLoad(t *testing.T) {
	c := newCollector(t, func(n int, r captured) reply {
		switch n % 5 {
		case 1:
			return reply{status: 503}
		case 2:
			ids := r.ids()
			return reply{status: 200, body: fmt.Sprintf(`{"results":{%q:"retry",%q:"drop"}}`, ids[0], ids[len(ids)-1])}
		case 3:
			return reply{status: 413}
		}
		return reply{status: 200}
	})
	cfg := testConfig(c)
	cfg.BufferSize = 50
	h := start(t, cfg, waitBackoff, waitPacing, waitCircuit)
	stop := make(chan struct{})
	sampled := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				sampled <- n
				return
			default:
			}
			checkInvariant(t, h.exp.Stats())
			n++
		}
	}()
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 500 {
				h.exp.Record(testEvent(g*1000 + i))
			}
		}()
	}
	for range 4 {
		<-done
	}
	h.flush(t)
	close(stop)
	if n := <-sampled; n == 0 {
		t.Error("no sample taken")
	}
	s := h.release(t)
	if s.Recorded != 2000 {
		t.Errorf("Recorded = %d", s.Recorded)
	}
}

// panickingHandler is a log handler that panics on every line.
type panickingHandler struct{}

func (panickingHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (panickingHandler) Handle(context.Context, slog.Record) error { panic("log sink broken") }
func (h panickingHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h panickingHandler) WithGroup(string) slog.Handler           { return h }

// A Config.Logger whose handler panics neither stops the exporter nor takes
// the process down: its lines are written from the exporter's goroutine,
// some from inside the recovery of its panic firewall, where a second panic
// would escape. Both a healthy run (the final summary line) and a rejected
// batch (a warning) are logged.
func TestPanickingLoggerIsContained(t *testing.T) {
	for _, status := range []int{200, 400} {
		c := newCollector(t, func(int, captured) reply { return reply{status: status} })
		cfg := testConfig(c)
		cfg.Logger = slog.New(panickingHandler{})
		h := start(t, cfg)
		h.record(3)
		h.flush(t)
		s := h.release(t)
		if status == 200 && s.Delivered != 3 || status == 400 && s.Dropped.Rejected != 3 {
			t.Errorf("status %d: stats %+v", status, s)
		}
	}
}
