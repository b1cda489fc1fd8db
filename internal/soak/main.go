// Command soak runs sqltel under load against a fault-injecting collector
// for a bounded time and checks what must always hold: the exporter's
// accounting invariant, a bounded buffer, a bounded heap, no goroutine left
// behind, and a collector that stores exactly the delivered events.
//
//	go run ./internal/soak -d 60s -seed 7
//
// Everything stays on loopback: modernc SQLite in memory (one database per
// connection), and faultcollector's randomized script on 127.0.0.1. The
// exit status is 1 when a check fails, 2 on a usage error.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"

	"github.com/sqltel/sqltel/connector"
	sqltel "github.com/sqltel/sqltel/driver"
	"github.com/sqltel/sqltel/flags"
	"github.com/sqltel/sqltel/internal/faultcollector"
	"github.com/sqltel/sqltel/telemetry"
)

func main() {
	var (
		duration  = flag.Duration("d", 60*time.Second, "how long to run the workload")
		seed      = flag.Int64("seed", 1, "seed of the fault script and the workload")
		workers   = flag.Int("workers", 8, "goroutines running statements")
		faultRate = flag.Float64("fault-rate", 0.2, "share of collector requests that get a fault")
		heapLimit = flag.Int("heap-limit", 256, "peak heap (MiB) above which the run fails")
		buffer    = flag.Int("buffer", 5000, "exporter buffer size (telemetry_buffer_size)")
		batch     = flag.Int("batch", 100, "exporter batch size (telemetry_batch_size)")
		hugeWait  = flag.Bool("huge-wait", false, "let the script answer next_request_wait_ms of a day (pauses the exporter for an hour)")
	)
	flag.Parse()
	if *duration <= 0 || *workers <= 0 || *faultRate < 0 || *faultRate > 1 || *batch > *buffer {
		fmt.Fprintln(os.Stderr, "soak: invalid flags")
		flag.Usage()
		os.Exit(2)
	}
	r := run(config{
		duration: *duration, seed: *seed, workers: *workers, faultRate: *faultRate,
		heapLimit: uint64(*heapLimit) << 20, buffer: *buffer, batch: *batch, hugeWait: *hugeWait,
	})
	r.print(os.Stdout)
	if len(r.failures) > 0 {
		os.Exit(1)
	}
}

type config struct {
	duration  time.Duration
	seed      int64
	workers   int
	faultRate float64
	heapLimit uint64
	buffer    int
	batch     int
	hugeWait  bool
}

type report struct {
	cfg                 config
	statements, errs    int64
	reconnects          int64
	stats               telemetry.Stats
	stored              int
	resent              int
	faults              map[faultcollector.Fault]int
	requests            int
	maxPending          int64
	snapshots           int64
	peakHeap            uint64
	goroutinesBefore    int
	goroutinesAfter     int
	leaked              []string
	closeTime, runTime  time.Duration
	logWarns, logErrors int64
	failures            []string
}

func (r *report) fail(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// script draws the collector's events script: each request is healthy
// except, with probability rate, a fault drawn by faultcollector.Script.
// HugeWait is left out unless hugeWait: one of them pauses the exporter for
// an hour (as documented), which turns the rest of the run into an outage.
func script(seed int64, n int, rate float64, hugeWait bool) []faultcollector.Step {
	faults := faultcollector.Script(seed, n)
	r := rand.New(rand.NewPCG(uint64(seed), 0x50a4))
	steps := make([]faultcollector.Step, n)
	for i := range steps {
		if r.Float64() < rate && (hugeWait || faults[i].Fault != faultcollector.HugeWait) {
			steps[i] = faults[i]
		}
	}
	return steps
}

// levelCounter is a slog handler that counts warnings and errors and
// discards everything.
type levelCounter struct{ warns, errors *atomic.Int64 }

func (h levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h levelCounter) Handle(_ context.Context, rec slog.Record) error {
	switch {
	case rec.Level >= slog.LevelError:
		h.errors.Add(1)
	case rec.Level >= slog.LevelWarn:
		h.warns.Add(1)
	}
	return nil
}
func (h levelCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h levelCounter) WithGroup(string) slog.Handler      { return h }

func run(cfg config) *report {
	rep := &report{cfg: cfg}
	runtime.GC()
	rep.goroutinesBefore = runtime.NumGoroutine()
	baseline := goroutineIDs()

	fc := faultcollector.New(faultcollector.Config{
		Events:      script(cfg.seed, 200_000, cfg.faultRate, cfg.hugeWait),
		Flags:       faultcollector.Steps(faultcollector.Status503, faultcollector.Reset),
		FlagEnabled: true,
	})
	var warns, errs atomic.Int64
	logger := slog.New(levelCounter{&warns, &errs})
	cache := flags.NewCache(flags.WithBackoff(200*time.Millisecond), flags.WithFetchTimeout(2*time.Second), flags.WithLogger(logger))

	dsn := fmt.Sprintf(":memory:?telemetry=on&telemetry_endpoint=%s&telemetry_token=soak-token"+
		"&telemetry_flush_interval=100ms&telemetry_batch_size=%d&telemetry_buffer_size=%d&telemetry_shutdown_timeout=2s",
		url.QueryEscape(fc.URL), cfg.batch, cfg.buffer)
	c, err := sqltel.NewConnector(&sqlite.Driver{}, dsn, connector.WithFlagCache(cache),
		connector.WithRegistry(telemetry.NewRegistry()), connector.WithLogger(logger),
		connector.WithEnv(func(string) string { return "" }))
	if err != nil {
		rep.fail("NewConnector: %v", err)
		cache.Close()
		fc.Close()
		return rep
	}
	db := sql.OpenDB(c)
	db.SetMaxIdleConns(0) // a closed sql.Conn really closes: connection churn

	ctx := context.Background()
	// The keeper holds one recording connection for the whole run, so that
	// one exporter sees every event and its stats tell the whole story.
	var keeper *sql.Conn
	for deadline := time.Now().Add(10 * time.Second); ; {
		if keeper, err = db.Conn(ctx); err != nil {
			rep.fail("keeper connection: %v", err)
			break
		}
		if c.Stats().Recorded > 0 {
			break // telemetry is on for it
		}
		keeper.Close()
		keeper = nil
		if time.Now().After(deadline) {
			rep.fail("telemetry never came on (flag fetches failing?)")
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	stop := make(chan struct{})
	var samplers sync.WaitGroup
	var maxPending, snapshots atomic.Int64
	var violations sync.Map
	bound := int64(cfg.buffer + cfg.batch)
	samplers.Go(func() {
		var prev telemetry.Stats
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			s := c.Stats()
			snapshots.Add(1)
			if s.Pending > maxPending.Load() {
				maxPending.Store(s.Pending)
			}
			if s.Pending < 0 || s.Recorded != s.Delivered+s.DroppedTotal()+uint64(s.Pending) {
				violations.Store("invariant broken: "+fmt.Sprintf("%+v", s), true)
			}
			if s.Pending > bound {
				violations.Store(fmt.Sprintf("Pending %d above BufferSize+BatchSize %d", s.Pending, bound), true)
			}
			if s.Recorded < prev.Recorded || s.Delivered < prev.Delivered || s.DroppedTotal() < prev.DroppedTotal() {
				violations.Store("a counter went back: "+fmt.Sprintf("%+v after %+v", s, prev), true)
			}
			prev = s
		}
	})
	samplers.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			rep.peakHeap = max(rep.peakHeap, ms.HeapAlloc)
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})

	var statements, stmtErrs, reconnects atomic.Int64
	var workers sync.WaitGroup
	begin := time.Now()
	end := begin.Add(cfg.duration)
	for w := range cfg.workers {
		workers.Go(func() {
			worker(ctx, db, cfg.seed*1000+int64(w), end, &statements, &stmtErrs, &reconnects)
		})
	}
	workers.Wait()
	rep.runTime = time.Since(begin)
	if keeper != nil {
		keeper.Close()
	}
	closeBegin := time.Now()
	if err := db.Close(); err != nil {
		rep.fail("DB.Close: %v", err)
	}
	rep.closeTime = time.Since(closeBegin)
	close(stop)
	samplers.Wait()
	violations.Range(func(k, _ any) bool { rep.fail("%s", k); return true })

	rep.statements, rep.errs, rep.reconnects = statements.Load(), stmtErrs.Load(), reconnects.Load()
	rep.stats = c.Stats()
	rep.maxPending, rep.snapshots = maxPending.Load(), snapshots.Load()
	rep.stored = fc.StoredCount()
	rep.resent = len(fc.ResentAfterAck())
	rep.faults = fc.FaultCounts()
	rep.requests = fc.EventRequests()
	rep.logWarns, rep.logErrors = warns.Load(), errs.Load()
	for _, hs := range cache.Stats() {
		if hs.RefCount != 0 {
			rep.fail("flag reference count for %s is %d after DB.Close", hs.Host, hs.RefCount)
		}
	}
	cache.Close()
	fc.Close()

	s := rep.stats
	if s.Pending != 0 || s.Recorded != s.Delivered+s.DroppedTotal() {
		rep.fail("final stats break the invariant: %+v", s)
	}
	if s.Recorded == 0 {
		rep.fail("no event recorded")
	}
	if uint64(rep.stored) != s.Delivered {
		rep.fail("collector stored %d events, exporter delivered %d", rep.stored, s.Delivered)
	}
	if rep.resent > 0 {
		rep.fail("%d events sent again after the collector accepted them", rep.resent)
	}
	if s.Panics > 0 {
		rep.fail("%d panics recovered in the exporter", s.Panics)
	}
	if rep.closeTime > 2*time.Second+time.Second {
		rep.fail("DB.Close took %v, budget 2s", rep.closeTime)
	}
	if rep.peakHeap > cfg.heapLimit {
		rep.fail("peak heap %d MiB above the limit of %d MiB", rep.peakHeap>>20, cfg.heapLimit>>20)
	}

	// Goroutines: back to the baseline within a few seconds.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		rep.leaked = leakedGoroutines(baseline)
		if len(rep.leaked) == 0 || time.Now().After(deadline) {
			break
		}
	}
	rep.goroutinesAfter = runtime.NumGoroutine()
	if len(rep.leaked) > 0 {
		rep.fail("%d goroutine(s) left behind", len(rep.leaked))
	}
	return rep
}

// worker runs statements on a connection of its own (SQLite :memory: is one
// database per connection) until end, reconnecting now and then.
func worker(ctx context.Context, db *sql.DB, seed int64, end time.Time, statements, stmtErrs, reconnects *atomic.Int64) {
	r := rand.New(rand.NewPCG(uint64(seed), 0x77))
	for time.Now().Before(end) {
		conn, err := db.Conn(ctx)
		if err != nil {
			stmtErrs.Add(1)
			continue
		}
		reconnects.Add(1)
		exec := func(q string, args ...any) {
			statements.Add(1)
			if _, err := conn.ExecContext(ctx, q, args...); err != nil {
				stmtErrs.Add(1)
			}
		}
		exec("create table t (id integer primary key, v text unique, n integer)")
		for i := 0; i < 200+r.IntN(800) && time.Now().Before(end); i++ {
			switch x := r.IntN(20); {
			case x < 8:
				exec("insert into t (v, n) values (?, ?)", fmt.Sprintf("v%d", r.IntN(5000)), r.IntN(1000))
			case x < 13:
				statements.Add(1)
				rows, err := conn.QueryContext(ctx, "select id, v, n from t where n > ? limit 20", r.IntN(1000))
				if err != nil {
					stmtErrs.Add(1)
					continue
				}
				for rows.Next() {
				}
				rows.Close()
			case x < 15:
				exec("update t set n = n + 1 where id % ? = 0", 1+r.IntN(7))
			case x < 16:
				exec("delete from t where n > ?", 900+r.IntN(100))
			case x < 17:
				exec("selec broken")
			case x < 19:
				statements.Add(1)
				tx, err := conn.BeginTx(ctx, nil)
				if err != nil {
					stmtErrs.Add(1)
					continue
				}
				tx.ExecContext(ctx, "insert into t (v, n) values (?, ?)", fmt.Sprintf("tx%d", r.IntN(1e6)), 1)
				if r.IntN(2) == 0 {
					tx.Commit()
				} else {
					tx.Rollback()
				}
			default:
				statements.Add(1)
				if err := conn.PingContext(ctx); err != nil {
					stmtErrs.Add(1)
				}
			}
		}
		conn.Close()
	}
}

// goroutineIDs returns the ids of the running goroutines.
func goroutineIDs() map[string]bool {
	ids := map[string]bool{}
	for _, g := range goroutineStacks() {
		ids[strings.Fields(g)[1]] = true
	}
	return ids
}

func goroutineStacks() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Split(strings.TrimSpace(string(buf)), "\n\n")
}

// leakedGoroutines returns the stacks of goroutines that are not in
// baseline, the caller's excluded.
func leakedGoroutines(baseline map[string]bool) []string {
	var out []string
	for i, g := range goroutineStacks() {
		if i == 0 || baseline[strings.Fields(g)[1]] {
			continue
		}
		out = append(out, g)
	}
	return out
}

func (r *report) print(w *os.File) {
	s := r.stats
	fmt.Fprintf(w, "soak: seed %d, %v (ran %v), %d workers, fault rate %.2f, buffer %d, batch %d\n",
		r.cfg.seed, r.cfg.duration, r.runTime.Round(time.Millisecond), r.cfg.workers, r.cfg.faultRate, r.cfg.buffer, r.cfg.batch)
	fmt.Fprintf(w, "statements: %d (%d errors, most of them deliberate), %d connections opened\n", r.statements, r.errs, r.reconnects)
	fmt.Fprintf(w, "events: recorded %d, delivered %d, dropped %d (overflow %d, rejected %d, retries_exhausted %d, too_large %d, shutdown %d, internal %d), pending %d\n",
		s.Recorded, s.Delivered, s.DroppedTotal(), s.Dropped.Overflow, s.Dropped.Rejected, s.Dropped.RetriesExhausted,
		s.Dropped.TooLarge, s.Dropped.Shutdown, s.Dropped.Internal, s.Pending)
	fmt.Fprintf(w, "requests: %d (retries %d, event retries %d, warnings %d, malformed answers %d, panics %d)\n",
		s.Requests, s.Retries, s.EventRetries, s.Warnings, s.MalformedResponses, s.Panics)
	var fs []string
	for _, f := range slices.Sorted(maps.Keys(r.faults)) {
		fs = append(fs, fmt.Sprintf("%s=%d", f, r.faults[f]))
	}
	fmt.Fprintf(w, "collector: %d event requests, stored %d events, %d resent after ack; answers: %s\n",
		r.requests, r.stored, r.resent, strings.Join(fs, " "))
	fmt.Fprintf(w, "max pending: %d (bound %d), %d snapshots checked\n", r.maxPending, r.cfg.buffer+r.cfg.batch, r.snapshots)
	fmt.Fprintf(w, "peak heap: %.1f MiB (limit %d MiB)\n", float64(r.peakHeap)/(1<<20), r.cfg.heapLimit>>20)
	fmt.Fprintf(w, "goroutines: before %d, after %d\n", r.goroutinesBefore, r.goroutinesAfter)
	fmt.Fprintf(w, "DB.Close: %v; logs: %d warnings, %d errors\n", r.closeTime.Round(time.Millisecond), r.logWarns, r.logErrors)
	if len(r.failures) == 0 {
		fmt.Fprintln(w, "PASS")
		return
	}
	for _, f := range r.failures {
		fmt.Fprintln(w, "FAIL:", f)
	}
	for _, g := range r.leaked {
		fmt.Fprintf(w, "\nleaked goroutine:\n%s\n", g)
	}
}
