// Command instr runs one workload through one wrapper n times, for counting
// instructions under valgrind (cmd/benchtable -instr drives it): instruction
// counts are the same from run to run whatever else the machine does, where
// nanoseconds on a shared machine are not.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/sqltel/sqltel/bench"
)

func main() {
	bench.ServeCollectorIfChild()
	wrapper := flag.String("wrapper", "raw", "wrapper: raw, off, on, nop, otelsql, sqlmw")
	workload := flag.String("workload", "exec", "workload: exec, queryrow, prepared, tx")
	n := flag.Int("n", 1000, "iterations")
	warmup := flag.Int("warmup", 0, "iterations run first, in both runs of a pair: they fill the runtime's type-assertion caches and settle the heap")
	collector := flag.String("collector", "", "URL of a running collector for -wrapper on (default: start one; valgrind cannot follow that start)")
	flag.Parse()
	if err := run(bench.Wrapper(*wrapper), *workload, *warmup, *n, *collector); err != nil {
		fmt.Fprintln(os.Stderr, "instr:", err)
		os.Exit(1)
	}
	if os.Getenv("SQLTEL_INSTR_GC") != "" {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Fprintf(os.Stderr, "gc cycles %d, allocated %d bytes in %d objects\n", m.NumGC, m.TotalAlloc, m.Mallocs)
	}
}

func run(w bench.Wrapper, workload string, warmup, n int, collector string) error {
	ctx := context.Background()
	opts := bench.Options{Collector: collector}
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
	for i := range warmup + n {
		if err := step(int64(i)); err != nil {
			return err
		}
	}
	if err := done(); err != nil {
		return err
	}
	// Closing drains the exporter: its whole cost is counted.
	err = db.Close()
	if db.Telemetry != nil && os.Getenv("SQLTEL_INSTR_GC") != "" {
		st := db.Telemetry.Stats()
		fmt.Fprintf(os.Stderr, "recorded %d in %d requests, delivered %d, dropped %+v\n", st.Recorded, st.Requests, st.Delivered, st.Dropped)
	}
	return err
}
