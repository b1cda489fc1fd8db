package telemetry

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/sqltel/sqltel/internal/safelog"
)

var _ Recorder = (*Exporter)(nil)

// stopGrace is how long a stop waits for the goroutine after cancelling it
// at the end of the budget. Only a callback that blocks (OnError, a Logger
// handler) can make it necessary.
const stopGrace = 500 * time.Millisecond

// Exporter buffers events and sends them to one collector. Obtain one with
// Registry.Acquire; it is shared by every Acquire of the same endpoint and
// token, and stops at the last Release.
//
// Record is safe for concurrent use and never blocks on the network. One
// goroutine per exporter owns every request, so requests never overlap.
type Exporter struct {
	cfg  Config
	reg  *Registry
	key  registryKey
	refs int // guarded by reg.mu
	url  string
	log  *slog.Logger

	mu     sync.Mutex // guards ring, inHand, stats and closed
	ring   ring
	inHand int // events taken out of the ring and not yet resolved
	stats  Stats
	closed bool

	wake      chan struct{}  // 1-buffered: the ring reached a batch
	flushCh   chan *flushReq // Flush requests
	stopCh    chan time.Time // 1-buffered: stop by this deadline
	done      chan struct{}  // closed when the goroutine has returned
	runCtx    context.Context
	cancelRun context.CancelFunc
	stopOnce  sync.Once

	// Owned by the goroutine.
	st        loopState
	enc       *encoder
	respBuf   bytes.Buffer // the last answer's body
	headers   constHeaders
	client    *http.Client
	transport *http.Transport // ours, or nil when the client is the caller's
	rnd       *rand.Rand
	ids       *rand.ChaCha8
	// Event ids are a random half drawn once and a counter: unique as a
	// random 128-bit id is for de-duplication, without a random draw per
	// event.
	idBase, idNext uint64
	hooks          hooks
}

// waitKind names what a gate waits for.
type waitKind int

const (
	waitBackoff waitKind = iota // between attempts of a request
	waitPacing                  // next_request_wait_ms
	waitCircuit                 // circuit open
)

func (k waitKind) String() string {
	switch k {
	case waitBackoff:
		return "backoff"
	case waitPacing:
		return "pacing"
	case waitCircuit:
		return "circuit"
	}
	return "unknown"
}

// hooks are the seams tests use to make time deterministic.
type hooks struct {
	// after returns a channel that receives when a wait of d is over.
	after func(kind waitKind, d time.Duration) <-chan time.Time
	// jitter randomizes a backoff.
	jitter func(d time.Duration) time.Duration
	// firstTick returns the first flush interval.
	firstTick func(interval time.Duration) time.Duration
	// requestTimeout bounds one request.
	requestTimeout time.Duration
	// beforeSend, when not nil, is called before each attempt.
	beforeSend func(*batch)
	// panicPause is the pause after a recovered panic.
	panicPause time.Duration
}

// loopState is the goroutine's state; it survives a recovered panic.
type loopState struct {
	cur       *batch   // the request being sent or waiting to be resent
	queue     []*batch // halves of a split batch, sent before new batches
	retryQ    []item   // events answered "retry": first into the next batch
	spare     []item   // a finished batch's items, reused by the next batch
	stage     []slot   // slots copied out of the ring under the lock (newBatch)
	texts     []string // and their statement texts, when the ring has any
	gate      <-chan time.Time
	gateKind  waitKind
	gateUntil time.Time // real time; to give up early when stopping
	tick      *time.Timer
	tickDue   bool
	flushes   []*flushReq
	stopping  bool
	deadline  time.Time
	failures  int // consecutive failed requests
}

type flushReq struct {
	ctx    context.Context
	target uint64 // every event with a lower ring sequence must be resolved
	done   chan error
}

func newExporter(cfg Config, reg *Registry, key registryKey) *Exporter {
	cfg = cfg.withDefaults()
	ep := parseEndpoint(cfg.Endpoint)
	var seed [32]byte
	crand.Read(seed[:])
	e := &Exporter{
		cfg:     cfg,
		reg:     reg,
		key:     key,
		url:     cfg.eventsURL(),
		ring:    newRing(cfg.BufferSize),
		wake:    make(chan struct{}, 1),
		flushCh: make(chan *flushReq),
		stopCh:  make(chan time.Time, 1),
		done:    make(chan struct{}),
		enc:     newEncoder(cfg.Format, cfg.Compression.gzip(ep.loopback)),
		ids:     rand.NewChaCha8(seed),
	}
	auth := "" // "Bearer <token>"
	if cfg.Token != "" {
		auth = "Bearer " + cfg.Token
	}
	e.headers = newConstHeaders(e.enc.contentType(), auth)
	// Its logs are written from inside the panic firewall's recovery too:
	// a handler that panics must not escape it.
	e.log = safelog.Logger(cfg.Logger).With("component", "sqltel/telemetry", "collector", ep.host)
	e.rnd = rand.New(e.ids)
	e.idBase = e.ids.Uint64()
	e.client, e.transport = newHTTPClient(cfg.HTTPClient, ep.tls)
	e.enc.fresh = e.transport == nil
	e.runCtx, e.cancelRun = context.WithCancel(context.Background())
	e.hooks = hooks{
		after: func(_ waitKind, d time.Duration) <-chan time.Time { return time.After(d) },
		jitter: func(d time.Duration) time.Duration {
			return equalJitter(d, e.rnd.Float64())
		},
		firstTick: func(d time.Duration) time.Duration {
			return equalJitter(d, e.rnd.Float64())
		},
		requestTimeout: requestTimeout,
		panicPause:     time.Second,
	}
	return e
}

// Record adds ev to the buffer. It never blocks on the network and does not
// allocate, except: once per exporter for the first event with a statement
// text, once per new (Host, DBSystem) pair, and, where the buffer is on the
// heap rather than mapped, the few times it grows to its capacity. When the
// buffer is full the oldest event is dropped and counted
// (Stats.Dropped.Overflow). After the exporter stopped, ev is counted in
// Stats.Dropped.Shutdown.
func (e *Exporter) Record(ev Event) {
	e.mu.Lock()
	e.stats.Recorded++
	if e.closed {
		e.stats.Dropped.Shutdown++
		e.mu.Unlock()
		return
	}
	if e.ring.push(ev) {
		e.stats.Dropped.Overflow++
	}
	full := e.ring.n == e.cfg.BatchSize
	e.mu.Unlock()
	if full {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
}

// Stats returns a consistent snapshot of the counters. It stays valid after
// the exporter stopped.
func (e *Exporter) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.statsLocked()
}

func (e *Exporter) statsLocked() Stats {
	s := e.stats
	s.Pending = int64(e.ring.n + e.inHand)
	return s
}

// Flush sends every event buffered when it is called, and returns when each
// of them is delivered or dropped (see Stats and Config.OnError for which),
// or with ctx.Err() when ctx is done first. It honours the retry policy and
// the collector's pacing, so it may wait for them. It returns ErrClosed if
// the exporter stopped before the events were handled.
func (e *Exporter) Flush(ctx context.Context) error {
	e.mu.Lock()
	closed, target := e.closed, e.ring.pushed
	e.mu.Unlock()
	if closed {
		return ErrClosed
	}
	req := &flushReq{ctx: ctx, target: target, done: make(chan error, 1)}
	select {
	case e.flushCh <- req:
	case <-e.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-e.done:
		select {
		case err := <-req.done:
			return err
		default:
			return ErrClosed
		}
	}
}

// Release drops one reference taken by Acquire. A release that is not the
// last returns at once. The last one sends what is buffered and stops the
// exporter within Config.ShutdownTimeout (events still pending then are
// counted in Stats.Dropped.Shutdown), and removes it from its registry: a
// later Acquire starts a fresh exporter. Calling Release more often than
// Acquire is a no-op.
func (e *Exporter) Release() {
	r := e.reg
	r.mu.Lock()
	if e.refs <= 0 {
		r.mu.Unlock()
		return
	}
	e.refs--
	last := e.refs == 0
	if last && r.exporters[e.key] == e {
		delete(r.exporters, e.key)
	}
	r.mu.Unlock()
	if last {
		e.stop(context.Background(), time.Now().Add(e.cfg.ShutdownTimeout))
	}
}

// stop asks the goroutine to send what it holds and stop by deadline, and
// waits for it. At the deadline, or when ctx is done, it cancels whatever
// is in flight; it returns at most stopGrace later.
func (e *Exporter) stop(ctx context.Context, deadline time.Time) {
	e.stopOnce.Do(func() { e.stopCh <- deadline })
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-e.done:
		return
	case <-t.C:
	case <-ctx.Done():
	}
	e.cancelRun()
	g := time.NewTimer(stopGrace)
	defer g.Stop()
	select {
	case <-e.done:
	case <-g.C:
		e.log.Warn("telemetry exporter did not stop in time; a callback may be blocked")
	}
}

// run is the exporter's goroutine.
func (e *Exporter) run() {
	defer close(e.done)
	defer e.cancelRun()
	e.st.tick = time.NewTimer(e.hooks.firstTick(e.cfg.FlushInterval))
	defer e.st.tick.Stop()
	for !e.protect(e.loop) {
		if e.st.stopping || e.runCtx.Err() != nil {
			break
		}
		select {
		case d := <-e.stopCh:
			e.beginStop(d)
		case <-e.runCtx.Done():
		case <-time.After(e.hooks.panicPause):
		}
	}
	if !e.protect(e.finish) {
		// finish panicked: account for what is left without logging.
		e.mu.Lock()
		e.closeLocked()
		e.mu.Unlock()
	}
	// Closed: Record no longer touches the slots.
	e.mu.Lock()
	e.ring.release()
	e.mu.Unlock()
	if e.transport != nil {
		e.transport.CloseIdleConnections()
	}
}

// closeLocked stops Record from buffering and counts every event still
// held, in the ring or by the goroutine, as dropped at shutdown; it returns
// how many. The goroutine's own batches are the caller's to forget.
func (e *Exporter) closeLocked() int {
	n := e.ring.clear() + e.inHand
	e.inHand = 0
	e.stats.Dropped.Shutdown += uint64(n)
	e.closed = true
	return n
}

// protect runs f and recovers a panic: it counts it, logs it, drops the
// events the goroutine held (Stats.Dropped.Internal) and reports false.
func (e *Exporter) protect(f func()) (ok bool) {
	defer func() {
		if ok {
			return
		}
		v := recover()
		st := &e.st
		ids := e.heldIDs()
		st.cur, st.queue, st.retryQ = nil, nil, nil
		e.mu.Lock()
		e.stats.Panics++
		n := e.inHand
		e.stats.Dropped.Internal += uint64(n)
		e.inHand = 0
		e.mu.Unlock()
		e.log.Error("telemetry exporter recovered from a panic", "panic", fmt.Sprint(v), "dropped", n, "stack", string(debug.Stack()))
		e.report(&ExportError{Dropped: ids, Err: fmt.Errorf("%w: panic: %v", ErrInternal, v)})
	}()
	f()
	return true
}

// held yields the items the goroutine holds out of the ring, a slice at a
// time: the request in hand, the halves of a split one, the events to retry.
func (e *Exporter) held(yield func([]item) bool) {
	st := &e.st
	if st.cur != nil && !yield(st.cur.items) {
		return
	}
	for _, b := range st.queue {
		if !yield(b.items) {
			return
		}
	}
	yield(st.retryQ)
}

// heldIDs returns the ids of the items the goroutine holds, for the error
// that reports them dropped.
func (e *Exporter) heldIDs() []string {
	var ids []string
	for items := range e.held {
		for i := range items {
			ids = append(ids, hex.EncodeToString(items[i].id[:]))
		}
	}
	return ids
}

func (e *Exporter) beginStop(deadline time.Time) {
	e.st.stopping = true
	e.st.deadline = deadline
}

// loop sends until a stop is requested, then drains. Shutdown has priority
// over Flush, and Flush over a regular export.
func (e *Exporter) loop() {
	st := &e.st
	for {
		if !st.stopping {
			select {
			case d := <-e.stopCh:
				e.beginStop(d)
			default:
			}
		}
		if st.stopping {
			e.drain()
			return
		}
	flushes:
		for {
			select {
			case f := <-e.flushCh:
				st.flushes = append(st.flushes, f)
			default:
				break flushes
			}
		}
		e.answerFlushes()
		if st.gate == nil && e.ready() {
			e.sendOne(e.runCtx)
			continue
		}
		select {
		case d := <-e.stopCh:
			e.beginStop(d)
		case f := <-e.flushCh:
			st.flushes = append(st.flushes, f)
		case <-e.wake:
		case <-st.gate:
			st.gate = nil
		case <-st.tick.C:
			st.tickDue = true
		case <-e.runCtx.Done():
			e.beginStop(time.Now())
		}
	}
}

// ready reports whether a request should be sent now (gates aside).
func (e *Exporter) ready() bool {
	st := &e.st
	held, avail := e.pending()
	if held {
		return true
	}
	if avail == 0 {
		if st.tickDue {
			st.tickDue = false
			st.tick.Reset(e.cfg.FlushInterval)
		}
		return false
	}
	return avail >= e.cfg.BatchSize || st.tickDue || len(st.flushes) > 0
}

// hasWork reports whether any event is waiting to be sent.
func (e *Exporter) hasWork() bool {
	held, avail := e.pending()
	return held || avail > 0
}

// pending reports whether the goroutine holds a request to send (one to
// resend, or the halves of a split one) and, if not, how many events wait
// for a new one (the ring's and those to retry).
func (e *Exporter) pending() (held bool, avail int) {
	st := &e.st
	if st.cur != nil || len(st.queue) > 0 {
		return true, 0
	}
	e.mu.Lock()
	avail = e.ring.n
	e.mu.Unlock()
	return false, avail + len(st.retryQ)
}

// drain sends what is left until the stop deadline.
func (e *Exporter) drain() {
	st := &e.st
	ctx, cancel := context.WithDeadline(e.runCtx, st.deadline)
	defer cancel()
	for ctx.Err() == nil {
		// Before the gate: a pause the collector asked for, or a backoff,
		// is not waited out with nothing left to send.
		if !e.hasWork() {
			return
		}
		if st.gate != nil {
			if st.gateUntil.After(st.deadline) {
				e.log.Debug("telemetry exporter stopping during a wait longer than the budget", "wait", st.gateKind.String())
				return
			}
			select {
			case <-st.gate:
				st.gate = nil
			case <-ctx.Done():
				return
			}
			continue
		}
		e.sendOne(ctx)
	}
}

// finish accounts for what is left, answers the flushes and logs a summary.
func (e *Exporter) finish() {
	st := &e.st
	ids := e.heldIDs()
	satisfied := make([]bool, len(st.flushes))
	for i, f := range st.flushes {
		satisfied[i] = e.flushSatisfied(f.target)
	}
	st.cur, st.queue, st.retryQ = nil, nil, nil
	e.mu.Lock()
	n := e.closeLocked()
	s := e.statsLocked()
	e.mu.Unlock()
	for i, f := range st.flushes {
		if satisfied[i] {
			f.done <- nil
		} else {
			f.done <- ErrClosed
		}
	}
	st.flushes = nil
	if n > 0 {
		e.report(&ExportError{Dropped: ids, Err: fmt.Errorf("%w: %d event(s) still pending", ErrShutdown, n)})
	}
	e.log.Info("telemetry exporter stopped",
		"recorded", s.Recorded, "delivered", s.Delivered, "dropped", s.DroppedTotal(),
		slog.Group("dropped_by",
			"overflow", s.Dropped.Overflow, "rejected", s.Dropped.Rejected,
			"retries_exhausted", s.Dropped.RetriesExhausted, "too_large", s.Dropped.TooLarge,
			"shutdown", s.Dropped.Shutdown, "internal", s.Dropped.Internal),
		"requests", s.Requests, "retries", s.Retries,
		"malformed_responses", s.MalformedResponses, "panics", s.Panics)
}

// answerFlushes answers the flushes whose events are all resolved, and
// forgets those whose caller gave up.
func (e *Exporter) answerFlushes() {
	st := &e.st
	kept := st.flushes[:0]
	for _, f := range st.flushes {
		switch {
		case f.ctx.Err() != nil:
		case e.flushSatisfied(f.target):
			f.done <- nil
		default:
			kept = append(kept, f)
		}
	}
	clear(st.flushes[len(kept):])
	st.flushes = kept
}

// flushSatisfied reports whether every event with a ring sequence below
// target has been resolved.
func (e *Exporter) flushSatisfied(target uint64) bool {
	e.mu.Lock()
	head := e.ring.headSeq()
	e.mu.Unlock()
	if head < target {
		return false
	}
	for items := range e.held {
		for i := range items {
			if items[i].seq < target {
				return false
			}
		}
	}
	return true
}

// sendOne sends one attempt: the pending request, else a split half, else
// a new batch. The next interval starts when it completes.
func (e *Exporter) sendOne(ctx context.Context) {
	st := &e.st
	if st.cur == nil {
		if len(st.queue) > 0 {
			st.cur = st.queue[0]
			st.queue[0] = nil
			st.queue = st.queue[1:]
		} else {
			st.cur = e.newBatch()
		}
	}
	if st.cur != nil {
		e.attempt(ctx, st.cur)
	}
	st.tickDue = false
	st.tick.Reset(e.cfg.FlushInterval)
}

// popChunk is how many events newBatch copies out of the ring per lock:
// 16 KiB of slots, a few microseconds at most.
const popChunk = 256

// newBatch takes up to a batch of events, retried ones first, and gives the
// new ones their ids. It returns nil when there is nothing to send.
func (e *Exporter) newBatch() *batch {
	st := &e.st
	// Reusing the last finished batch's array saves an allocation of
	// Config.BatchSize items (some 110 KiB at the default) per request.
	items := st.spare
	st.spare = nil
	if cap(items) < e.cfg.BatchSize {
		items = make([]item, 0, e.cfg.BatchSize)
	}
	n := min(len(st.retryQ), e.cfg.BatchSize)
	items = append(items, st.retryQ[:n]...)
	st.retryQ = append(st.retryQ[:0], st.retryQ[n:]...)
	old := len(items)
	// The slots were written on the recording goroutines' cores, so reading
	// them misses the cache: building 1 000 items from them took some
	// 100 µs here. A Record that found the lock held that long would put its
	// goroutine to sleep and pay for a thread's wake-up, far more than the
	// wait itself. So under the lock the slots are only copied, as memory
	// (which the hardware prefetches), popChunk at a time; the items are
	// built after.
	for len(items) < e.cfg.BatchSize {
		want := min(popChunk, e.cfg.BatchSize-len(items))
		e.mu.Lock()
		seq := e.ring.headSeq()
		st.stage, st.texts = e.ring.take(st.stage[:0], st.texts[:0], want)
		e.inHand += len(st.stage)
		// The pairs are append-only: the header taken under the lock
		// keeps naming every pair the slots taken so far refer to, even
		// after a later append moves the ring's array.
		e.enc.sources = e.ring.sources
		e.mu.Unlock()
		items = appendItems(items, st.stage, st.texts, seq)
		clear(st.texts) // the batch holds them now
		if len(st.stage) < want {
			break // the ring is empty
		}
	}
	if len(items) == 0 {
		return nil
	}
	for i := old; i < len(items); i++ {
		binary.BigEndian.PutUint64(items[i].id[:8], e.idBase)
		binary.BigEndian.PutUint64(items[i].id[8:], e.idNext)
		e.idNext++
	}
	b := e.newRequest(items)
	b.reusable = true
	return b
}

// recycle keeps a finished batch's array for the next one. Only a batch
// that newBatch made and that was not split qualifies: a split's halves
// share their parent's array.
func (e *Exporter) recycle(b *batch) {
	if b.reusable {
		if hasText(b.items) {
			clear(b.items) // drop the statement texts
		}
		e.st.spare = b.items[:0]
		b.items, b.reusable = nil, false
	}
}

// hasText reports whether an item holds a statement text, the one pointer
// an item can hold (clearing 110 KiB of them per request is not free).
func hasText(items []item) bool {
	for i := range items {
		if items[i].sql != "" {
			return true
		}
	}
	return false
}

// newRequest wraps items into a request with a fresh id and created_at.
func (e *Exporter) newRequest(items []item) *batch {
	now := e.cfg.Clock()
	return &batch{
		items:     items,
		requestID: e.randomID(),
		createdAt: now,
		sessionID: e.reg.session(now),
	}
}

func (e *Exporter) randomID() string {
	var id [16]byte
	e.ids.Read(id[:])
	return hex.EncodeToString(id[:])
}

// attempt sends b once and acts on the answer.
func (e *Exporter) attempt(ctx context.Context, b *batch) {
	if e.hooks.beforeSend != nil {
		e.hooks.beforeSend(b)
	}
	b.attempts++
	e.mu.Lock()
	e.stats.Requests++
	if b.attempts > 1 {
		e.stats.Retries++
	}
	e.mu.Unlock()
	body, gzipped := e.enc.encode(b)
	rctx, cancel := context.WithTimeout(ctx, e.hooks.requestTimeout)
	res := e.post(rctx, b, body, gzipped)
	cancel()

	if res.err != nil {
		if ctx.Err() != nil {
			// Stopped: b stays held and is accounted for by finish.
			return
		}
		if errorsIsRedirect(res.err) {
			e.reject(b, res)
			return
		}
		e.failed(b, res)
		return
	}
	switch classify(res.status) {
	case verdictDelivered:
		e.delivered(b, res)
	case verdictRetry:
		e.failed(b, res)
	case verdictSplit:
		e.split(b)
	default:
		e.reject(b, res)
	}
}

// delivered handles a 2xx answer.
func (e *Exporter) delivered(b *batch, res result) {
	st := &e.st
	st.cur = nil
	st.failures = 0
	resp, wait, ok := parseResponse(res.body)
	results := resp.Results
	if e.cfg.Format == FormatNDJSON {
		results = nil
	}
	var (
		ok0, warnings   uint64
		retry           []item
		dropped, tooOft []string
		idbuf           [32]byte
	)
	items := b.items
	if len(results) == 0 {
		// The usual answer: every event ok, nothing to look up.
		ok0, items = uint64(len(items)), nil
	}
	for i := range items {
		it := &items[i]
		r := resultOK
		hex.Encode(idbuf[:], it.id[:])
		if v, found := results[string(idbuf[:])]; found {
			r = v
		}
		switch r {
		case resultRetry:
			it.retries++
			if it.retries >= maxEventRetries {
				tooOft = append(tooOft, string(idbuf[:]))
			} else {
				retry = append(retry, *it)
			}
		case resultDrop:
			dropped = append(dropped, string(idbuf[:]))
		case resultWarning:
			warnings++
			ok0++
		default: // "ok", or a value this version does not know
			ok0++
		}
	}
	now := e.cfg.Clock()
	e.mu.Lock()
	e.stats.Delivered += ok0
	e.stats.Warnings += warnings
	e.stats.EventRetries += uint64(len(retry))
	e.stats.Dropped.Rejected += uint64(len(dropped))
	e.stats.Dropped.RetriesExhausted += uint64(len(tooOft))
	e.inHand -= int(ok0) + len(dropped) + len(tooOft)
	if !ok {
		e.stats.MalformedResponses++
	}
	e.stats.LastSuccess = now
	e.mu.Unlock()
	if len(retry) > 0 {
		st.retryQ = append(retry, st.retryQ...)
	}
	e.log.Debug("telemetry request delivered", "request_id", b.requestID, "status", res.status,
		"events", len(b.items), "retry", len(retry), "dropped", len(dropped)+len(tooOft), "next_wait", wait)
	if !ok {
		e.log.Warn("telemetry collector answered with a malformed body; events counted as delivered",
			"request_id", b.requestID, "status", res.status)
		e.report(&ExportError{Status: res.status, RequestID: b.requestID, Attempts: b.attempts, Err: ErrMalformedResponse})
	}
	if len(dropped) > 0 {
		e.report(&ExportError{Status: res.status, RequestID: b.requestID, Attempts: b.attempts, Dropped: dropped,
			Err: fmt.Errorf("%w: answered drop", ErrRejected)})
	}
	if len(tooOft) > 0 {
		e.report(&ExportError{Status: res.status, RequestID: b.requestID, Attempts: b.attempts, Dropped: tooOft,
			Err: fmt.Errorf("%w: events answered retry %d times", ErrRetriesExhausted, maxEventRetries)})
	}
	if wait > 0 {
		e.setGate(waitPacing, wait)
	}
	e.recycle(b)
}

// failed handles a retryable failure: resend later, or drop after the last
// attempt; open the circuit after too many consecutive failures.
func (e *Exporter) failed(b *batch, res result) {
	st := &e.st
	st.failures++
	cause := res.err
	if cause == nil {
		cause = fmt.Errorf("status %d", res.status)
	}
	if b.attempts >= maxAttempts {
		st.cur = nil
		e.drop(b, res.status, &e.stats.Dropped.RetriesExhausted, fmt.Errorf("%w: %w", ErrRetriesExhausted, cause))
	}
	var ra time.Duration
	if res.hasRetryAfter {
		ra = res.retryAfter
	}
	switch {
	case st.failures >= circuitThreshold:
		d := circuitWait(ra)
		e.log.Warn("telemetry collector failing; pausing exports", "failures", st.failures, "pause", d, "cause", cause.Error())
		e.setGate(waitCircuit, d)
	case st.cur != nil:
		d := retryWait(b.attempts, ra, e.hooks.jitter)
		e.log.Debug("telemetry request failed; will retry", "request_id", b.requestID, "attempt", b.attempts, "wait", d, "cause", cause.Error())
		e.setGate(waitBackoff, d)
	case res.hasRetryAfter:
		e.setGate(waitBackoff, min(ra, maxRetryAfter))
	}
}

// split handles 413: the halves go out as new requests; a single event is
// dropped.
func (e *Exporter) split(b *batch) {
	st := &e.st
	st.cur = nil
	st.failures = 0
	if len(b.items) <= 1 {
		e.drop(b, http.StatusRequestEntityTooLarge, &e.stats.Dropped.TooLarge, ErrTooLarge)
		return
	}
	mid := len(b.items) / 2
	b.reusable = false
	h1 := e.newRequest(b.items[:mid:mid])
	h2 := e.newRequest(b.items[mid:])
	e.log.Debug("telemetry request too large; splitting", "request_id", b.requestID, "events", len(b.items))
	st.queue = append([]*batch{h1, h2}, st.queue...)
}

// reject drops b without retrying.
func (e *Exporter) reject(b *batch, res result) {
	e.st.cur = nil
	e.st.failures = 0
	cause := res.err
	if cause == nil {
		cause = fmt.Errorf("%w: status %d", ErrRejected, res.status)
	} else {
		cause = fmt.Errorf("%w: %w", ErrRejected, cause)
	}
	e.drop(b, res.status, &e.stats.Dropped.Rejected, cause)
}

// drop resolves every event of b into the counter and reports it.
func (e *Exporter) drop(b *batch, status int, counter *uint64, err error) {
	ids := make([]string, len(b.items))
	for i := range b.items {
		ids[i] = hex.EncodeToString(b.items[i].id[:])
	}
	e.mu.Lock()
	*counter += uint64(len(b.items))
	e.inHand -= len(b.items)
	e.mu.Unlock()
	e.log.Warn("telemetry events dropped", "request_id", b.requestID, "status", status,
		"attempts", b.attempts, "events", len(b.items), "cause", err.Error())
	e.report(&ExportError{Status: status, RequestID: b.requestID, Attempts: b.attempts, Dropped: ids, Err: err})
	e.recycle(b)
}

// setGate holds sends back for d.
func (e *Exporter) setGate(kind waitKind, d time.Duration) {
	st := &e.st
	st.gate = e.hooks.after(kind, d)
	st.gateKind = kind
	st.gateUntil = time.Now().Add(d)
}

// report passes err to Config.OnError, if any. A panic in the callback is
// recovered and counted.
func (e *Exporter) report(err *ExportError) {
	if e.cfg.OnError == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			e.mu.Lock()
			e.stats.Panics++
			e.mu.Unlock()
			e.log.Error("telemetry Config.OnError panicked", "panic", fmt.Sprint(v))
		}
	}()
	e.cfg.OnError(err)
}
