// Command instr runs one workload through one wrapper n times, for counting
// instructions under valgrind (cmd/instrtable drives it): instruction
// counts are the same from run to run whatever else the machine does, where
// nanoseconds on a shared machine are not.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/sqltel/sqltel/bench"
)

// diagnose (SQLTEL_INSTR_GC set) prints garbage-collection cycles, the live
// heap and the exporter's stats to stderr; it is read once at start.
var diagnose = os.Getenv("SQLTEL_INSTR_GC") != ""

func main() {
	bench.ServeCollectorIfChild()
	wrapper := flag.String("wrapper", "raw", "wrapper: "+bench.WrapperList(", "))
	workload := flag.String("workload", "exec", "workload: "+strings.Join(bench.Workloads, ", "))
	n := flag.Int("n", 1000, "iterations")
	warmup := flag.Int("warmup", 0, "iterations run first, in both runs of a pair: they fill the runtime's type-assertion caches and settle the heap")
	collector := flag.String("collector", "", "URL of a running collector for -wrapper on (default: start one; valgrind cannot follow that start)")
	flag.Parse()
	if err := run(bench.Wrapper(*wrapper), *workload, *warmup, *n, *collector); err != nil {
		fmt.Fprintln(os.Stderr, "instr:", err)
		os.Exit(1)
	}
	if diagnose {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Fprintf(os.Stderr, "gc cycles %d, allocated %d bytes in %d objects\n", m.NumGC, m.TotalAlloc, m.Mallocs)
	}
}

func run(w bench.Wrapper, workload string, warmup, n int, collector string) error {
	ctx := context.Background()
	// Under valgrind, which runs one thread at a time, the exporter's
	// goroutine can fall behind a workload that never blocks: a buffer that
	// holds every event and a long shutdown budget make Close encode and
	// send whatever is left, so that every event's cost is counted (and
	// checked below) rather than some dropped as overflow.
	opts := bench.Options{Collector: collector, Params: []string{
		fmt.Sprintf("telemetry_buffer_size=%d", warmup+n+1000), "telemetry_shutdown_timeout=5m"}}
	if w == bench.On && collector == "" {
		col, err := bench.StartCollector()
		if err != nil {
			return err
		}
		defer col.Close()
		opts.Collector = col.URL
	}
	b := bench.SQLite()
	db, err := bench.Open(ctx, b, w, opts)
	if err != nil {
		return err
	}
	step, done, err := bench.Step(ctx, db, b, workload)
	if err != nil {
		return err
	}
	diag := diagnose && db.Telemetry != nil
	var maxPending int64
	for i := range warmup + n {
		if err := step(int64(i)); err != nil {
			return err
		}
		if diag && i%500 == 0 {
			maxPending = max(maxPending, db.Telemetry.Stats().Pending)
		}
	}
	if diagnose {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Fprintf(os.Stderr, "max pending (sampled) %d, live heap %d KiB, next GC at %d KiB\n", maxPending, m.HeapAlloc>>10, m.NextGC>>10)
	}
	if err := done(); err != nil {
		return err
	}
	// Closing drains the exporter: its whole cost is counted.
	if err := db.Close(); err != nil {
		return err
	}
	if db.Telemetry == nil {
		return nil
	}
	st := db.Telemetry.Stats()
	if diagnose {
		fmt.Fprintf(os.Stderr, "recorded %d in %d requests, delivered %d, dropped %+v\n", st.Recorded, st.Requests, st.Delivered, st.Dropped)
	}
	if w == bench.On && st.Delivered != st.Recorded {
		return fmt.Errorf("%d events recorded, %d delivered (dropped %+v): the count would leave some out", st.Recorded, st.Delivered, st.Dropped)
	}
	// Nothing recorded at all (a flag that said no, a fetch that timed out
	// under valgrind) would pass the check above and count "off" as "on".
	if want := uint64((warmup + n) * bench.StatementsPerStep(workload)); w == bench.On && st.Recorded < want {
		return fmt.Errorf("%d events recorded for %d statements: the connection did not record", st.Recorded, want)
	}
	return nil
}
