// Package faultcollector is a scripted, fault-injecting sqltel collector for
// tests and the soak program: an httptest server on loopback that answers
// POST /v1/events and GET /v1/flags one request at a time from a script of
// Steps (500, 503 with Retry-After, a connection reset, a blackhole, ...),
// and a healthy answer once the script has run out.
//
// It decodes every request body (gzip, JSON or NDJSON) and keeps:
//
//   - every byte it received, decompressed, for privacy scans (Raw), with the
//     Authorization headers kept apart (AuthHeaders);
//   - the events it accepted, de-duplicated by event id (Stored). It stores
//     an event exactly when the exporter is bound to count it as delivered:
//     answered ok or warning in a 2xx, or any event of a 2xx whose body the
//     client cannot parse. Faults strike before anything is stored;
//   - one Request per request, with its request id, attempt and event ids,
//     and the ids it received again after it had accepted them
//     (ResentAfterAck), which a correct exporter never sends.
//
// Script draws a reproducible random script from a seed.
package faultcollector

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Paths the collector serves.
const (
	EventsPath = "/v1/events"
	FlagsPath  = "/v1/flags"
)

// maxDecoded bounds a decompressed request body (a gzip bomb is a test
// failure, not an out-of-memory).
const maxDecoded = 64 << 20

// Config is a collector's initial script and settings. The zero value is a
// healthy collector whose flag says disabled.
type Config struct {
	// Events and Flags are the scripts of the two endpoints: request n of
	// an endpoint gets step n, and Default (FlagsDefault) once the script
	// has run out.
	Events       []Step
	Flags        []Step
	Default      Fault
	FlagsDefault Fault
	// FlagEnabled is telemetry_enabled in healthy flag answers.
	FlagEnabled bool
	// SlowDelay is the wait of SlowHeaders (default 50 ms).
	SlowDelay time.Duration
	// HugeBodySize is the size HugeBody streams (default 256 MiB).
	HugeBodySize int64
	// RedirectTo is the base URL Redirect sends clients to.
	RedirectTo string
}

// Request is what the collector saw of one request and did with it.
type Request struct {
	Seq       int    // 0-based, over both endpoints
	Path      string // EventsPath or FlagsPath
	RequestID string // Sqltel-Request-Id
	Attempt   int    // Sqltel-Attempt (0 when absent)
	Fault     Fault
	Host      string   // flags: the host query parameter
	IDs       []string // event ids in the body, in order
	Stored    []string // ids this request stored
	Resent    []string // ids that had already been accepted
	DecodeErr string   // why the body could not be decoded; "" when it could
}

// Collector is a running fault-injecting collector. Its methods are safe for
// concurrent use.
type Collector struct {
	// URL is the base URL, http://127.0.0.1:port.
	URL string

	srv       *httptest.Server
	closing   chan struct{}
	closeOnce sync.Once
	slow      time.Duration
	huge      int64
	redirect  string
	enabled   atomic.Bool
	inFlight  atomic.Int64
	hugeSent  atomic.Int64

	mu         sync.Mutex
	events     script
	flags      script
	reqs       []Request
	raw        bytes.Buffer
	auth       []string
	stored     map[string]json.RawMessage
	storeOrder []string
	dupStores  int
	counts     map[Fault]int
}

type script struct {
	steps []Step
	next  int
	def   Fault
}

func (s *script) take() Fault {
	if s.next < len(s.steps) {
		f := s.steps[s.next].Fault
		s.next++
		return f
	}
	return s.def
}

// New starts a collector. Close it when done.
func New(cfg Config) *Collector {
	c := &Collector{
		closing:  make(chan struct{}),
		slow:     cfg.SlowDelay,
		huge:     cfg.HugeBodySize,
		redirect: strings.TrimRight(cfg.RedirectTo, "/"),
		events:   script{steps: slices.Clone(cfg.Events), def: cfg.Default},
		flags:    script{steps: slices.Clone(cfg.Flags), def: cfg.FlagsDefault},
		stored:   make(map[string]json.RawMessage),
		counts:   make(map[Fault]int),
	}
	if c.slow <= 0 {
		c.slow = 50 * time.Millisecond
	}
	if c.huge <= 0 {
		c.huge = 256 << 20
	}
	c.enabled.Store(cfg.FlagEnabled)
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	c.URL = c.srv.URL
	return c
}

// Close releases every held request (Blackhole, Timeout) and stops the
// server, waiting for its handlers. It is idempotent.
func (c *Collector) Close() {
	c.closeOnce.Do(func() {
		close(c.closing)
		c.srv.CloseClientConnections()
		c.srv.Close()
	})
}

// SetEvents replaces what is left of the events script, and its default.
func (c *Collector) SetEvents(def Fault, steps ...Step) {
	c.mu.Lock()
	c.events = script{steps: slices.Clone(steps), def: def}
	c.mu.Unlock()
}

// SetFlags replaces what is left of the flags script, and its default.
func (c *Collector) SetFlags(def Fault, steps ...Step) {
	c.mu.Lock()
	c.flags = script{steps: slices.Clone(steps), def: def}
	c.mu.Unlock()
}

// SetFlagEnabled sets telemetry_enabled in later healthy flag answers.
func (c *Collector) SetFlagEnabled(on bool) { c.enabled.Store(on) }

// Requests returns a copy of every request seen so far, in arrival order.
func (c *Collector) Requests() []Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Request, len(c.reqs))
	for i, r := range c.reqs {
		r.IDs = slices.Clone(r.IDs)
		r.Stored = slices.Clone(r.Stored)
		r.Resent = slices.Clone(r.Resent)
		out[i] = r
	}
	return out
}

// EventRequests returns the number of requests to EventsPath so far.
func (c *Collector) EventRequests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.reqs {
		if r.Path == EventsPath {
			n++
		}
	}
	return n
}

// Raw returns every byte received so far: for each request its request
// line, its headers but Authorization, a blank line and its decompressed
// body.
func (c *Collector) Raw() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.raw.Bytes())
}

// AuthHeaders returns the Authorization header of every request ("" when
// absent), in arrival order.
func (c *Collector) AuthHeaders() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.auth)
}

// Stored returns the ids of the events stored, sorted.
func (c *Collector) Stored() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := slices.Clone(c.storeOrder)
	slices.Sort(ids)
	return ids
}

// StoredCount returns how many distinct events are stored.
func (c *Collector) StoredCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.stored)
}

// StoredEvents returns the stored event objects, in the order they were
// stored.
func (c *Collector) StoredEvents() []json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]json.RawMessage, len(c.storeOrder))
	for i, id := range c.storeOrder {
		out[i] = c.stored[id]
	}
	return out
}

// DuplicateStores counts the times an already stored event id was to be
// stored again.
func (c *Collector) DuplicateStores() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dupStores
}

// ResentAfterAck returns every event id received again after the
// collector had accepted it, with repeats.
func (c *Collector) ResentAfterAck() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, r := range c.reqs {
		out = append(out, r.Resent...)
	}
	return out
}

// FaultCounts returns how many requests got each fault.
func (c *Collector) FaultCounts() map[Fault]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[Fault]int, len(c.counts))
	for f, n := range c.counts {
		out[f] = n
	}
	return out
}

// InFlight returns the number of requests being handled now (a request held
// by Blackhole or Timeout counts until it ends).
func (c *Collector) InFlight() int { return int(c.inFlight.Load()) }

// HugeBytesSent returns the bytes of HugeBody bodies the server managed to
// write before clients hung up.
func (c *Collector) HugeBytesSent() int64 { return c.hugeSent.Load() }

// decoded is a request body taken apart.
type decoded struct {
	ids    []string
	events []json.RawMessage
	ndjson bool
	err    error
}

func decode(r *http.Request, body []byte) ([]byte, decoded) {
	var d decoded
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			d.err = fmt.Errorf("gzip: %w", err)
			return body, d
		}
		out, err := io.ReadAll(io.LimitReader(zr, maxDecoded))
		if err != nil {
			d.err = fmt.Errorf("gunzip: %w", err)
			return body, d
		}
		body = out
	}
	if len(body) == 0 {
		return body, d
	}
	var objs []json.RawMessage
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-ndjson") {
		d.ndjson = true
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, maxDecoded)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			objs = append(objs, json.RawMessage(bytes.Clone(sc.Bytes())))
		}
		if err := sc.Err(); err != nil {
			d.err = fmt.Errorf("ndjson: %w", err)
			return body, d
		}
	} else {
		var env struct {
			Events []json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			d.err = fmt.Errorf("json: %w", err)
			return body, d
		}
		objs = env.Events
	}
	for _, o := range objs {
		var ev struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(o, &ev); err != nil {
			d.err = fmt.Errorf("event: %w", err)
			return body, d
		}
		d.ids = append(d.ids, ev.ID)
		d.events = append(d.events, o)
	}
	return body, d
}

func (c *Collector) serve(w http.ResponseWriter, r *http.Request) {
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	raw, _ := io.ReadAll(io.LimitReader(r.Body, maxDecoded))
	body, d := decode(r, raw)

	c.mu.Lock()
	req := Request{Seq: len(c.reqs), Path: r.URL.Path, RequestID: r.Header.Get("Sqltel-Request-Id"), IDs: d.ids}
	req.Attempt, _ = strconv.Atoi(r.Header.Get("Sqltel-Attempt"))
	if d.err != nil {
		req.DecodeErr = d.err.Error()
	}
	switch r.URL.Path {
	case EventsPath:
		req.Fault = c.events.take()
	case FlagsPath:
		req.Fault = c.flags.take()
		req.Host = r.URL.Query().Get("host")
	default:
		req.Fault = Status400
	}
	if req.Fault == Redirect && c.redirect == "" {
		req.Fault = Healthy
	}
	for _, id := range d.ids {
		if _, ok := c.stored[id]; ok {
			req.Resent = append(req.Resent, id)
		}
	}
	c.counts[req.Fault]++
	fmt.Fprintf(&c.raw, "%s %s %s\r\n", r.Method, r.URL.RequestURI(), r.Proto)
	hdr := r.Header.Clone()
	hdr.Del("Authorization")
	hdr.Write(&c.raw)
	c.raw.WriteString("\r\n")
	c.raw.Write(body)
	c.raw.WriteString("\r\n")
	c.auth = append(c.auth, r.Header.Get("Authorization"))
	idx := len(c.reqs)
	c.reqs = append(c.reqs, req)
	c.mu.Unlock()

	if r.URL.Path == FlagsPath {
		c.serveFlags(w, r, req.Fault)
		return
	}
	if r.URL.Path != EventsPath || r.Method != http.MethodPost {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	c.serveEvents(w, r, req.Fault, d, idx)
}

// store keeps the events whose index accept reports true and notes them on
// request idx. It is called before the answer is written.
func (c *Collector) store(idx int, d decoded, accept func(i int) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, id := range d.ids {
		if accept != nil && !accept(i) {
			continue
		}
		if _, ok := c.stored[id]; ok {
			c.dupStores++
			continue
		}
		c.stored[id] = d.events[i]
		c.storeOrder = append(c.storeOrder, id)
		c.reqs[idx].Stored = append(c.reqs[idx].Stored, id)
	}
}

// hold waits until the client gives up or the collector closes.
func (c *Collector) hold(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-c.closing:
	}
}

// sleep waits d, and reports false when the client gave up or the collector
// closed first.
func (c *Collector) sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return r.Context().Err() == nil
	case <-r.Context().Done():
	case <-c.closing:
	}
	return false
}

// common handles the faults both endpoints share. It reports true when it
// answered.
func (c *Collector) common(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch f {
	case Status500:
		http.Error(w, "internal error", http.StatusInternalServerError)
	case Status503:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	case Status429:
		w.Header().Set("Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
		http.Error(w, "slow down", http.StatusTooManyRequests)
	case Status413:
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
	case Status400:
		http.Error(w, "bad request", http.StatusBadRequest)
	case Status401:
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	case Timeout, Blackhole:
		c.hold(r)
		// Never answer, not even when the collector closes: returning would
		// let the server write an empty 200.
		panic(http.ErrAbortHandler)
	case Reset:
		hijackWrite(w, "HTTP/1.1 2")
	case Redirect:
		http.Redirect(w, r, c.redirect+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	default:
		return false
	}
	return true
}

func hijackWrite(w http.ResponseWriter, s string) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("faultcollector: the server does not support hijacking")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	buf.WriteString(s)
	buf.Flush()
	conn.Close()
}

func (c *Collector) streamHuge(w http.ResponseWriter, prefix string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	n, _ := io.WriteString(w, prefix)
	c.hugeSent.Add(int64(n))
	chunk := bytes.Repeat([]byte(" "), 32<<10)
	for sent := int64(n); sent < c.huge; {
		m, err := w.Write(chunk)
		sent += int64(m)
		c.hugeSent.Add(int64(m))
		if err != nil {
			return
		}
		select {
		case <-c.closing:
			return
		default:
		}
	}
}

func (c *Collector) serveEvents(w http.ResponseWriter, r *http.Request, f Fault, d decoded, idx int) {
	if d.err != nil {
		http.Error(w, "cannot decode the body", http.StatusBadRequest)
		return
	}
	if c.common(w, r, f) {
		return
	}
	switch f {
	case SlowHeaders:
		if !c.sleep(r, c.slow) {
			return
		}
	case ResetAfterHeaders:
		c.store(idx, d, nil)
		hijackWrite(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"res")
		return
	case Malformed:
		c.store(idx, d, nil)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "<html>this is not json</html>")
		return
	case HugeWait:
		c.store(idx, d, nil)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"next_request_wait_ms":1e18}`)
		return
	case HugeBody:
		c.store(idx, d, nil)
		c.streamHuge(w, `{"results":{}`)
		return
	case Partial:
		results := make(map[string]string, len(d.ids))
		for i, id := range d.ids {
			results[id] = [...]string{"retry", "drop", "warning"}[i%3]
		}
		if d.ndjson { // results do not apply to NDJSON
			c.store(idx, d, nil)
		} else {
			c.store(idx, d, func(i int) bool { return i%3 == 2 })
		}
		b, _ := json.Marshal(map[string]any{"results": results})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	}
	c.store(idx, d, nil)
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{}`)
}

func (c *Collector) serveFlags(w http.ResponseWriter, r *http.Request, f Fault) {
	if c.common(w, r, f) {
		return
	}
	switch f {
	case SlowHeaders:
		if !c.sleep(r, c.slow) {
			return
		}
	case ResetAfterHeaders:
		hijackWrite(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"fla")
		return
	case Malformed:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"flags":`)
		return
	case HugeBody:
		c.streamHuge(w, fmt.Sprintf(`{"flags":{"telemetry_enabled":%t},"pad":"`, c.enabled.Load()))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"flags":{"telemetry_enabled":%t},"ttl_seconds":900}`, c.enabled.Load())
}
