// Command soak runs one workload at the highest statement rate the machine
// sustains, on one pooled connection with telemetry on, recording into a
// live exporter that sends to the reference collector in a child process on
// loopback, and reports the events recorded, delivered and dropped and the
// heap before, at its peak and after. It exits 1 when an event was dropped
// or the heap did not stay flat.
//
// "Sustains" means with every event delivered. The exporter sends one
// request at a time, so delivery, not the statements, sets that rate; with
// -rate 0 soak first measures it: 5 s flat out on a connection of its own,
// counting what the collector accepted per second, then soaks at 80 % of
// that. -rate N soaks at N statements/s instead.
//
//	go run ./cmd/soak -d 30s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sqltel/sqltel/bench"
)

func main() {
	bench.ServeCollectorIfChild()
	d := flag.Duration("d", 30*time.Second, "how long to run statements")
	workload := flag.String("workload", "exec", "workload: "+strings.Join(bench.Workloads, ", "))
	rate := flag.Int("rate", 0, "statements per second; 0 measures the delivery rate first and runs at 80% of it")
	flatOut := flag.Bool("flat-out", false, "run statements as fast as possible, whatever the collector keeps up with")
	backend := flag.String("backend", "sqlite", "sqlite, or postgres (needs "+bench.PostgresEnv+")")
	flag.Parse()
	ok, err := run(*d, *workload, *rate, *flatOut, *backend)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

const mib = 1 << 20

// flatSlack is how much the heap may grow over the run and still count as
// flat: the ring is allocated before the "before" reading, so what is left
// is the batch being encoded, its gzip buffers and HTTP's.
const flatSlack = 8 * mib

func run(d time.Duration, workload string, rate int, flatOut bool, backend string) (bool, error) {
	ctx := context.Background()
	be := bench.SQLite()
	if backend == "postgres" {
		dsn := os.Getenv(bench.PostgresEnv)
		if dsn == "" {
			return false, fmt.Errorf("%s is not set", bench.PostgresEnv)
		}
		be = bench.Postgres(dsn)
	}
	col, err := bench.StartCollector()
	if err != nil {
		return false, err
	}
	defer col.Close()
	if rate == 0 && !flatOut {
		delivered, err := deliveryRate(ctx, be, col.URL, workload)
		if err != nil {
			return false, err
		}
		rate = int(0.8 * delivered)
		if rate == 0 { // 0 would mean flat out
			return false, fmt.Errorf("calibration: the collector accepted %.0f events/s", delivered)
		}
		fmt.Printf("calibration: flat out, the collector accepted %.0f events/s; soaking at %d statements/s\n", delivered, rate)
	}
	db, err := bench.Open(ctx, be, bench.On, bench.Options{Collector: col.URL})
	if err != nil {
		return false, err
	}
	step, done, err := bench.Step(ctx, db, be, workload)
	if err != nil {
		db.Close()
		return false, err
	}
	if err := step(0); err != nil {
		return false, err
	}

	heapStart := heapAfterGC()
	var peak atomic.Uint64
	peak.Store(heapStart)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // the heap's peak, and a line every 5 s
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			if i%50 == 0 {
				st := db.Telemetry.Stats()
				fmt.Printf("t=%3ds recorded=%d delivered=%d pending=%d dropped=%d heap=%.1f MiB\n",
					i/10, st.Recorded, st.Delivered, st.Pending, st.DroppedTotal(), float64(ms.HeapAlloc)/mib)
			}
		}
	})

	per := bench.StatementsPerStep(workload)
	var interval time.Duration
	if rate > 0 {
		interval = time.Second * time.Duration(per) / time.Duration(rate)
	}
	start := time.Now()
	end := start.Add(d)
	var (
		steps      int64
		heapBefore uint64 // after the first second, once the exporter's buffers exist
	)
	for next := start; time.Now().Before(end); steps++ {
		if heapBefore == 0 && time.Since(start) > time.Second {
			heapBefore = heapAfterGC()
		}
		if interval > 0 {
			if w := time.Until(next); w > 0 {
				time.Sleep(w)
			}
			next = next.Add(interval)
		}
		if err := step(steps + 1); err != nil {
			return false, err
		}
	}
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	heapAfter := heapAfterGC()
	done()
	if err := db.Close(); err != nil { // flushes what is pending
		return false, err
	}
	st := db.Telemetry.Stats()

	statements := steps * int64(per)
	fmt.Printf("\nworkload %s on %s, %s, %d statements: %.0f statements/s\n",
		workload, be.Name, elapsed.Round(time.Millisecond), statements, float64(statements)/elapsed.Seconds())
	fmt.Printf("events: recorded %d, delivered %d, pending %d, dropped %d %+v\n",
		st.Recorded, st.Delivered, st.Pending, st.DroppedTotal(), st.Dropped)
	fmt.Printf("requests %d, retries %d\n", st.Requests, st.Retries)
	if heapBefore == 0 {
		heapBefore = heapStart
	}
	fmt.Printf("heap: at start %.1f MiB, before (after 1 s) %.1f MiB, peak %.1f MiB, after %.1f MiB (after GC)\n",
		float64(heapStart)/mib, float64(heapBefore)/mib, float64(peak.Load())/mib, float64(heapAfter)/mib)
	flat := peak.Load() <= heapBefore+flatSlack && heapAfter <= heapBefore+mib
	// Every statement recorded and every event delivered: a connection that
	// recorded nothing (a flag that said no) drops nothing either.
	delivered := st.Recorded >= uint64(statements) && st.Delivered == st.Recorded && st.Pending == 0
	ok := st.DroppedTotal() == 0 && flat && delivered
	fmt.Printf("every statement recorded and delivered: %v; dropped == 0: %v; heap flat (peak ≤ before + %d MiB, after ≤ before + 1 MiB): %v\n",
		delivered, st.DroppedTotal() == 0, flatSlack/mib, flat)
	return ok, nil
}

// deliveryRate runs workload flat out for 5 s on a connection and exporter
// of its own and returns the events the collector accepted per second.
func deliveryRate(ctx context.Context, be bench.Backend, collector, workload string) (float64, error) {
	db, err := bench.Open(ctx, be, bench.On, bench.Options{Collector: collector, Params: []string{"telemetry_shutdown_timeout=1s"}})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	step, done, err := bench.Step(ctx, db, be, workload)
	if err != nil {
		return 0, err
	}
	defer done()
	const window = 5 * time.Second
	before := db.Telemetry.Stats().Delivered
	start := time.Now()
	for i := int64(1); time.Since(start) < window; i++ {
		if err := step(i); err != nil {
			return 0, err
		}
	}
	return float64(db.Telemetry.Stats().Delivered-before) / time.Since(start).Seconds(), nil
}

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
