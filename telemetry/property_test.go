package telemetry

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sqltel/sqltel/internal/faultcollector"
)

// The property tests run the exporter against faultcollector's randomized
// fault scripts. A few seeds run by default; -long (or SQLTEL_PROPERTY_SEEDS=N)
// runs N of them, and SQLTEL_PROPERTY_SEED=S runs only seed S, to replay a
// failure.
var long = flag.Bool("long", false, "run the property tests over many seeds")

func propertySeeds() []int64 {
	if s := os.Getenv("SQLTEL_PROPERTY_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			return []int64{n}
		}
	}
	n := 3
	if *long {
		n = 40
	}
	if s := os.Getenv("SQLTEL_PROPERTY_SEEDS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	seeds := make([]int64, n)
	for i := range seeds {
		seeds[i] = int64(i + 1)
	}
	return seeds
}

// propRequestTimeout bounds one request in the property tests: Timeout and
// Blackhole faults cost this much. A healthy loopback answer must come well
// within it, or a stored answer could time out at the client.
const propRequestTimeout = 400 * time.Millisecond

// startProp acquires an exporter for cfg whose waits are real but shrunk
// (backoff, Retry-After, pacing and circuit waits last 1/200 of their
// length, at most 25 ms) and whose requests time out after timeout.
func startProp(t *testing.T, cfg Config, timeout time.Duration) *Exporter {
	t.Helper()
	reg := NewRegistry()
	reg.newHook = func(e *Exporter) {
		e.hooks.after = func(_ waitKind, d time.Duration) <-chan time.Time {
			return time.After(min(d/200, 25*time.Millisecond))
		}
		e.hooks.jitter = func(d time.Duration) time.Duration { return d }
		e.hooks.firstTick = func(d time.Duration) time.Duration { return d }
		e.hooks.requestTimeout = timeout
		e.hooks.panicPause = time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	exp, err := reg.Acquire(cfg)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	return exp
}

// sampler checks Stats() in a loop while the test records: the invariant
// in every snapshot, counters that never go back, and the largest Pending.
type sampler struct {
	exp  *Exporter
	stop chan struct{}
	done chan struct{}

	// Written by the sampler's goroutine, read after done.
	n          int
	maxPending int64
	violations []string
}

func startSampler(exp *Exporter) *sampler {
	s := &sampler{exp: exp, stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *sampler) run() {
	defer close(s.done)
	var prev Stats
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		st := s.exp.Stats()
		s.n++
		s.maxPending = max(s.maxPending, st.Pending)
		if st.Pending < 0 || st.Recorded != st.Delivered+st.DroppedTotal()+uint64(st.Pending) {
			s.violations = append(s.violations, fmt.Sprintf("invariant: %+v", st))
		}
		if st.Recorded < prev.Recorded || st.Delivered < prev.Delivered || st.DroppedTotal() < prev.DroppedTotal() || st.Requests < prev.Requests {
			s.violations = append(s.violations, fmt.Sprintf("counter went back: %+v after %+v", st, prev))
		}
		prev = st
		if len(s.violations) > 10 {
			return
		}
		if s.n%64 == 0 {
			time.Sleep(50 * time.Microsecond) // leave the CPU to the others
		}
	}
}

// finish stops the sampler and reports what it saw.
func (s *sampler) finish(t *testing.T) {
	t.Helper()
	close(s.stop)
	<-s.done
	if s.n == 0 {
		t.Error("the sampler took no snapshot")
	}
	for _, v := range s.violations {
		t.Error(v)
	}
}

// checkRequests checks the collector's view of the requests: bodies that
// decode, attempts of one request id numbered 1, 2, ... (at most
// maxAttempts) with the same events, and no event received again after the
// collector had accepted it.
func checkRequests(t *testing.T, fc *faultcollector.Collector) {
	t.Helper()
	type seen struct {
		attempts int
		ids      string
	}
	byID := map[string]*seen{}
	for _, r := range fc.Requests() {
		if r.Path != faultcollector.EventsPath {
			continue
		}
		if r.DecodeErr != "" {
			t.Errorf("request %d (%s): body does not decode: %s", r.Seq, r.RequestID, r.DecodeErr)
		}
		ids := fmt.Sprint(r.IDs)
		s := byID[r.RequestID]
		switch {
		case s == nil && r.Attempt != 1:
			t.Errorf("request %s first seen at attempt %d", r.RequestID, r.Attempt)
		case s != nil && r.Attempt != s.attempts+1:
			t.Errorf("request %s: attempt %d after attempt %d", r.RequestID, r.Attempt, s.attempts)
		case s != nil && ids != s.ids:
			t.Errorf("request %s: attempt %d carries other events than attempt 1", r.RequestID, r.Attempt)
		}
		if r.Attempt > maxAttempts {
			t.Errorf("request %s sent %d times, at most %d allowed", r.RequestID, r.Attempt, maxAttempts)
		}
		if s == nil {
			byID[r.RequestID] = &seen{attempts: r.Attempt, ids: ids}
		} else {
			s.attempts = r.Attempt
		}
	}
	if re := fc.ResentAfterAck(); len(re) > 0 {
		t.Errorf("%d event(s) sent again after the collector accepted them, e.g. %s", len(re), re[0])
	}
	if n := fc.DuplicateStores(); n > 0 {
		t.Errorf("%d duplicate stores", n)
	}
}

// TestPropertyRandomFaults records from several goroutines into an exporter
// whose collector follows a random fault script, then flushes and releases
// it. Every snapshot satisfies the invariant; Pending never exceeds
// BufferSize + BatchSize; the collector stores exactly the Delivered events
// and never receives an event it already accepted.
func TestPropertyRandomFaults(t *testing.T) {
	for _, seed := range propertySeeds() {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("seed %d (replay with SQLTEL_PROPERTY_SEED=%d)", seed, seed)
			propertyRun(t, seed)
		})
	}
}

func propertyRun(t *testing.T, seed int64) {
	r := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b9))
	script := faultcollector.Script(seed, 60)
	fc := faultcollector.New(faultcollector.Config{Events: script, SlowDelay: 20 * time.Millisecond, HugeBodySize: 4 << 20})
	defer fc.Close()
	cfg := Config{
		Endpoint:        fc.URL,
		Token:           "tok-prop",
		BatchSize:       5 + r.IntN(40),
		FlushInterval:   5 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second,
		Compression:     Compression(r.IntN(3)),
	}
	cfg.BufferSize = cfg.BatchSize + r.IntN(400)
	if r.IntN(4) == 0 {
		cfg.Format = FormatNDJSON
	}
	exp := startProp(t, cfg, propRequestTimeout)
	released := false
	defer func() {
		if !released {
			exp.Release()
		}
	}()

	smp := startSampler(exp)
	const writers, perWriter = 4, 400
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		maxRecord  time.Duration
		pauseEvery = 1 + r.IntN(8)
	)
	for w := range writers {
		wg.Go(func() {
			var worst time.Duration
			for i := range perWriter {
				ev := testEvent(w*perWriter + i)
				begin := time.Now()
				exp.Record(ev)
				worst = max(worst, time.Since(begin))
				if i%pauseEvery == 0 {
					time.Sleep(500 * time.Microsecond) // let batches leave between bursts
				}
			}
			mu.Lock()
			maxRecord = max(maxRecord, worst)
			mu.Unlock()
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	err := exp.Flush(ctx)
	cancel()
	if err != nil {
		t.Fatalf("Flush: %v (stats %+v)", err, exp.Stats())
	}
	smp.finish(t)
	begin := time.Now()
	exp.Release()
	released = true
	closeTime := time.Since(begin)

	s := exp.Stats()
	checkInvariant(t, s)
	if s.Recorded != writers*perWriter || s.Pending != 0 || s.Dropped.Shutdown != 0 || s.Panics != 0 {
		t.Errorf("stats after Flush and Release: %+v", s)
	}
	if bound := int64(cfg.BufferSize + cfg.BatchSize); smp.maxPending > bound {
		t.Errorf("Pending reached %d, above BufferSize+BatchSize = %d", smp.maxPending, bound)
	}
	if got := fc.StoredCount(); uint64(got) != s.Delivered {
		t.Errorf("collector stored %d events, exporter counted %d delivered (stats %+v)", got, s.Delivered, s)
	}
	checkRequests(t, fc)
	if maxRecord > time.Second {
		t.Errorf("a Record call took %v", maxRecord)
	}
	t.Logf("buffer %d batch %d %v gzip=%v: %d requests (faults %v), delivered %d, dropped %+v, max pending %d, slowest Record %v, release %v, %d snapshots",
		cfg.BufferSize, cfg.BatchSize, cfg.Format, cfg.Compression, s.Requests, fc.FaultCounts(),
		s.Delivered, s.Dropped, smp.maxPending, maxRecord, closeTime, smp.n)
}

// While the one sender is held by a collector that never answers, Record
// still returns at once: the buffer overflows (oldest first) instead of
// blocking. The last Release returns within the shutdown budget + 1 s and
// accounts for every held event.
func TestPropertyBlackholeNeverBlocksRecord(t *testing.T) {
	fc := faultcollector.New(faultcollector.Config{Default: faultcollector.Blackhole})
	defer fc.Close()
	cfg := Config{Endpoint: fc.URL, BufferSize: 1000, BatchSize: 50, FlushInterval: time.Hour, ShutdownTimeout: 500 * time.Millisecond}
	exp := startProp(t, cfg, time.Minute) // the held request would outlive the test
	released := false
	defer func() {
		if !released {
			exp.Release()
		}
	}()
	for i := range cfg.BatchSize {
		exp.Record(testEvent(i))
	}
	deadline := time.Now().Add(10 * time.Second)
	for fc.InFlight() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first batch never reached the collector")
		}
		time.Sleep(time.Millisecond)
	}

	smp := startSampler(exp)
	const writers, perWriter = 4, 25_000
	begin := time.Now()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		worst time.Duration
	)
	for w := range writers {
		wg.Go(func() {
			var wst time.Duration
			for i := range perWriter {
				b := time.Now()
				exp.Record(testEvent(w*perWriter + i))
				wst = max(wst, time.Since(b))
			}
			mu.Lock()
			worst = max(worst, wst)
			mu.Unlock()
		})
	}
	wg.Wait()
	recordTime := time.Since(begin)
	smp.finish(t)
	if worst > time.Second || recordTime > 15*time.Second {
		t.Errorf("recording %d events took %v, slowest call %v, with the sender held", writers*perWriter, recordTime, worst)
	}
	if n, in := fc.EventRequests(), fc.InFlight(); n != 1 || in != 1 {
		t.Errorf("collector saw %d requests, %d in flight: the sender should be held by the first", n, in)
	}
	s := exp.Stats()
	checkInvariant(t, s)
	total := uint64(cfg.BatchSize + writers*perWriter)
	held := int64(cfg.BufferSize + cfg.BatchSize)
	if s.Pending != held || s.Dropped.Overflow != total-uint64(held) {
		t.Errorf("stats with the sender held: %+v, want Pending %d and Overflow %d", s, held, total-uint64(held))
	}
	if smp.maxPending > held {
		t.Errorf("Pending reached %d, above BufferSize+BatchSize = %d", smp.maxPending, held)
	}

	begin = time.Now()
	exp.Release()
	released = true
	closeTime := time.Since(begin)
	if closeTime > cfg.ShutdownTimeout+time.Second {
		t.Errorf("the last Release took %v against a blackhole, budget %v", closeTime, cfg.ShutdownTimeout)
	}
	s = exp.Stats()
	checkInvariant(t, s)
	if s.Pending != 0 || s.Dropped.Shutdown != uint64(held) || s.Delivered != 0 || fc.StoredCount() != 0 {
		t.Errorf("stats after Release: %+v, stored %d", s, fc.StoredCount())
	}
	t.Logf("%d Record calls in %v (slowest %v) with the sender held; release %v; %d snapshots, max pending %d",
		writers*perWriter, recordTime, worst, closeTime, smp.n, smp.maxPending)
}

// A long outage (every request failing, in turn 500, 503, reset and 429)
// while events keep coming: memory stays bounded by the buffer, and once
// the collector recovers what is still buffered is delivered exactly once.
func TestPropertyLongOutageBounded(t *testing.T) {
	var outage []faultcollector.Step
	for range 100 {
		outage = append(outage, faultcollector.Steps(faultcollector.Status500, faultcollector.Status503,
			faultcollector.Reset, faultcollector.Status429, faultcollector.Timeout)...)
	}
	fc := faultcollector.New(faultcollector.Config{Events: outage, Default: faultcollector.Status500})
	defer fc.Close()
	cfg := Config{Endpoint: fc.URL, BufferSize: 300, BatchSize: 25, FlushInterval: 2 * time.Millisecond, ShutdownTimeout: 5 * time.Second}
	// Not shorter: a healthy answer that comes after it would make a stored
	// batch look lost, and its resend a duplicate (see propRequestTimeout).
	exp := startProp(t, cfg, propRequestTimeout)
	released := false
	defer func() {
		if !released {
			exp.Release()
		}
	}()
	smp := startSampler(exp)
	const bursts, perBurst = 100, 200
	for b := range bursts {
		for i := range perBurst {
			exp.Record(testEvent(b*perBurst + i))
		}
		time.Sleep(5 * time.Millisecond)
	}
	outageStats := exp.Stats()
	fc.SetEvents(faultcollector.Healthy)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	err := exp.Flush(ctx)
	cancel()
	if err != nil {
		t.Fatalf("Flush after the outage: %v (stats %+v)", err, exp.Stats())
	}
	smp.finish(t)
	exp.Release()
	released = true
	s := exp.Stats()
	checkInvariant(t, s)
	if bound := int64(cfg.BufferSize + cfg.BatchSize); smp.maxPending > bound {
		t.Errorf("Pending reached %d during the outage, above BufferSize+BatchSize = %d", smp.maxPending, bound)
	}
	if outageStats.Dropped.Overflow == 0 || outageStats.Delivered != 0 {
		t.Errorf("stats during the outage: %+v, want overflow and nothing delivered", outageStats)
	}
	if s.Delivered == 0 || s.Pending != 0 || uint64(fc.StoredCount()) != s.Delivered {
		t.Errorf("after recovery: stats %+v, stored %d", s, fc.StoredCount())
	}
	checkRequests(t, fc)
	t.Logf("outage: %d requests, stats %+v; max pending %d (bound %d)", s.Requests, s, smp.maxPending, cfg.BufferSize+cfg.BatchSize)
}
