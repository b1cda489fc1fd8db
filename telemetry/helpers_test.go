package telemetry

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// captured is one request the test collector received.
type captured struct {
	Header  http.Header
	Body    []byte // decompressed
	RawLen  int
	Gzipped bool
	Env     envelope
}

// envelope is a decoded request body (NDJSON lines are gathered into it).
type envelope struct {
	RequestID string            `json:"request_id"`
	CreatedAt string            `json:"created_at"`
	Client    map[string]string `json:"client"`
	Events    []map[string]any  `json:"events"`
}

func (c captured) ids() []string {
	var ids []string
	for _, ev := range c.Env.Events {
		ids = append(ids, ev["id"].(string))
	}
	return ids
}

// reply is what the test collector answers.
type reply struct {
	status int
	body   string
	header map[string]string
}

// collector is an httptest server that records requests and answers with
// respond (200 and an empty body when nil).
type collector struct {
	*httptest.Server
	t       *testing.T
	mu      sync.Mutex
	reqs    []captured
	respond func(n int, c captured) reply
	arrived chan struct{}
}

// newHangingCollector returns a collector that holds every request
// unanswered until unstick is called (once).
func newHangingCollector(t *testing.T) (c *collector, unstick func()) {
	t.Helper()
	stuck := make(chan struct{})
	c = newCollector(t, func(int, captured) reply {
		<-stuck
		return reply{status: 200}
	})
	return c, func() { close(stuck) }
}

func newCollector(t *testing.T, respond func(n int, c captured) reply) *collector {
	t.Helper()
	c := &collector{t: t, respond: respond, arrived: make(chan struct{}, 1000)}
	c.Server = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) serve(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		c.t.Errorf("collector: read body: %v", err)
		return
	}
	cp := captured{Header: r.Header.Clone(), Body: raw, RawLen: len(raw)}
	if r.Header.Get("Content-Encoding") == "gzip" {
		cp.Gzipped = true
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			c.t.Errorf("collector: gzip: %v", err)
			return
		}
		if cp.Body, err = io.ReadAll(zr); err != nil {
			c.t.Errorf("collector: gunzip: %v", err)
			return
		}
	}
	if r.Header.Get("Content-Type") == contentTypeNDJSON {
		sc := bufio.NewScanner(bytes.NewReader(cp.Body))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				c.t.Errorf("collector: ndjson line %q: %v", sc.Text(), err)
				return
			}
			cp.Env.Events = append(cp.Env.Events, line)
		}
	} else if err := json.Unmarshal(cp.Body, &cp.Env); err != nil {
		c.t.Errorf("collector: body %q: %v", cp.Body, err)
		return
	}
	c.mu.Lock()
	n := len(c.reqs)
	c.reqs = append(c.reqs, cp)
	c.mu.Unlock()
	c.arrived <- struct{}{}
	rep := reply{status: http.StatusOK}
	if c.respond != nil {
		rep = c.respond(n, cp)
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

func (c *collector) requests() []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]captured(nil), c.reqs...)
}

// waitRequests waits until the collector has received n requests.
func (c *collector) waitRequests(t *testing.T, n int) []captured {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if r := c.requests(); len(r) >= n {
			return r
		}
		select {
		case <-c.arrived:
		case <-deadline:
			t.Fatalf("collector got %d requests, want %d", len(c.requests()), n)
		}
	}
}

// gate is one wait the exporter asked for.
type gate struct {
	kind waitKind
	d    time.Duration
	ch   chan time.Time
}

// gates replaces the exporter's timers for backoff, pacing and circuit
// waits: it records each wait and, when auto, ends it at once; otherwise
// the test opens it.
type gates struct {
	mu     sync.Mutex
	auto   map[waitKind]bool
	list   []*gate
	notify chan struct{}
}

func newGates(auto ...waitKind) *gates {
	g := &gates{auto: map[waitKind]bool{}, notify: make(chan struct{}, 1000)}
	for _, k := range auto {
		g.auto[k] = true
	}
	return g
}

func (g *gates) after(k waitKind, d time.Duration) <-chan time.Time {
	gt := &gate{kind: k, d: d, ch: make(chan time.Time, 1)}
	g.mu.Lock()
	g.list = append(g.list, gt)
	auto := g.auto[k]
	g.mu.Unlock()
	if auto {
		gt.ch <- time.Now()
	}
	g.notify <- struct{}{}
	return gt.ch
}

func (g *gates) all() []gate {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]gate, len(g.list))
	for i, gt := range g.list {
		out[i] = *gt
	}
	return out
}

// wait waits until n gates were asked for and returns the nth.
func (g *gates) wait(t *testing.T, n int) gate {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if l := g.all(); len(l) >= n {
			return l[n-1]
		}
		select {
		case <-g.notify:
		case <-deadline:
			t.Fatalf("got %d waits, want %d", len(g.all()), n)
		}
	}
}

// waitsOf returns the durations of the waits of kind k.
func (g *gates) waitsOf(k waitKind) []time.Duration {
	var out []time.Duration
	for _, gt := range g.all() {
		if gt.kind == k {
			out = append(out, gt.d)
		}
	}
	return out
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// errorLog collects OnError calls.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errorLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// harness is an exporter under test with its observers.
type harness struct {
	reg   *Registry
	exp   *Exporter
	gates *gates
	logs  *syncBuffer
	errs  *errorLog
	done  bool
}

// testConfig returns a config for c with a long interval, so that only
// the batch size and Flush trigger sends unless the test changes it.
func testConfig(c *collector) Config {
	return Config{
		Endpoint:      c.URL,
		BatchSize:     10,
		FlushInterval: time.Hour,
	}
}

// start acquires an exporter for cfg with deterministic hooks: every wait
// kind in auto ends at once, the others wait for the test.
func start(t *testing.T, cfg Config, auto ...waitKind) *harness {
	t.Helper()
	return startWith(t, cfg, nil, auto...)
}

// startWith is start with mod applied to the exporter before it runs.
func startWith(t *testing.T, cfg Config, mod func(*Exporter), auto ...waitKind) *harness {
	t.Helper()
	h := &harness{reg: NewRegistry(), gates: newGates(auto...), logs: &syncBuffer{}, errs: &errorLog{}}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.OnError == nil {
		cfg.OnError = h.errs.add
	}
	h.reg.newHook = func(e *Exporter) {
		e.hooks.after = h.gates.after
		e.hooks.jitter = func(d time.Duration) time.Duration { return d }
		e.hooks.firstTick = func(d time.Duration) time.Duration { return d }
		e.hooks.panicPause = time.Millisecond
		if mod != nil {
			mod(e)
		}
	}
	exp, err := h.reg.Acquire(cfg)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	h.exp = exp
	t.Cleanup(func() {
		if !h.done {
			h.release(t)
		}
	})
	return h
}

// release drops the test's reference and checks the invariant.
func (h *harness) release(t *testing.T) Stats {
	t.Helper()
	h.done = true
	h.exp.Release()
	s := h.exp.Stats()
	checkInvariant(t, s)
	if s.Pending != 0 {
		t.Errorf("Pending after the last Release = %d, want 0", s.Pending)
	}
	return s
}

func (h *harness) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.exp.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func (h *harness) record(n int) {
	for i := range n {
		h.exp.Record(testEvent(i))
	}
}

func checkInvariant(t *testing.T, s Stats) {
	t.Helper()
	if s.Pending < 0 || s.Recorded != s.Delivered+s.DroppedTotal()+uint64(s.Pending) {
		t.Errorf("invariant broken: Recorded %d != Delivered %d + Dropped %d + Pending %d (%+v)",
			s.Recorded, s.Delivered, s.DroppedTotal(), s.Pending, s)
	}
}

// testEvent returns a distinct event; ConnID identifies it.
func testEvent(i int) Event {
	return Event{
		Time:        time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
		Host:        "db.example:5432",
		DBSystem:    "postgresql",
		ConnID:      uint64(i),
		Fingerprint: 0xabcdef0123456789,
		Latency:     1500 * time.Microsecond,
		Rows:        3,
		Op:          OpQuery,
		Kind:        KindSelect,
		InTx:        i%2 == 0,
	}
}

// connIDs returns the conn_id of each event of the requests.
func connIDs(reqs ...captured) []string {
	var out []string
	for _, r := range reqs {
		for _, ev := range r.Env.Events {
			out = append(out, ev["conn_id"].(string))
		}
	}
	return out
}

func hasString(haystack, needle string) bool { return strings.Contains(haystack, needle) }

// idleExporter returns an exporter whose goroutine is not started, for
// tests that drive newBatch, attempt or delivered themselves; its slots
// and its transport's idle connections are given back when the test ends.
func idleExporter(t testing.TB, cfg Config) *Exporter {
	e := newExporter(cfg, NewRegistry(), registryKey{})
	t.Cleanup(func() {
		if e.transport != nil {
			e.transport.CloseIdleConnections()
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		e.ring.release()
	})
	return e
}
