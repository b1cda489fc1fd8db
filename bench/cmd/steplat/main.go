// Command steplat times every step of one benchmark workload on its own and
// prints the distribution: the median shows what each statement costs, the
// tail shows stalls — steps during which the query goroutine waited for
// something else (a lock, a thread's wake-up, a preempted thread). A mean
// far above the median comes from the tail, which a benchmark's ns/op
// cannot tell apart.
//
// Run it from the bench directory:
//
//	go run ./cmd/steplat -wrapper on -workload queryrow -n 500000
//
// -trace writes a runtime/trace of the timed steps (go tool trace).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/trace"
	"slices"
	"strings"
	"time"

	"github.com/sqltel/sqltel/bench"
)

func main() {
	bench.ServeCollectorIfChild()
	w := flag.String("wrapper", "nop", "wrapper: "+bench.WrapperList(", "))
	wl := flag.String("workload", "queryrow", "workload: "+strings.Join(bench.Workloads, ", "))
	n := flag.Int("n", 500000, "timed steps")
	warmup := flag.Int("warmup", 20000, "steps run first, untimed")
	traceFile := flag.String("trace", "", "write a runtime/trace of the timed steps to this file")
	flag.Parse()
	if *n < 1 || *warmup < 0 {
		fmt.Fprintf(os.Stderr, "steplat: -n must be at least 1 and -warmup at least 0 (got %d and %d)\n", *n, *warmup)
		os.Exit(2)
	}
	if err := run(bench.Wrapper(*w), *wl, *n, *warmup, *traceFile); err != nil {
		fmt.Fprintln(os.Stderr, "steplat:", err)
		os.Exit(1)
	}
}

func run(w bench.Wrapper, workload string, n, warmup int, traceFile string) error {
	ctx := context.Background()
	var opts bench.Options
	if w == bench.On {
		c, err := bench.StartCollector()
		if err != nil {
			return err
		}
		defer c.Close()
		opts.Collector = c.URL
	}
	be := bench.SQLite()
	db, err := bench.Open(ctx, be, w, opts)
	if err != nil {
		return err
	}
	defer db.Close()
	step, done, err := bench.Step(ctx, db, be, workload)
	if err != nil {
		return err
	}
	defer done()
	for i := range warmup {
		if err := step(int64(i)); err != nil {
			return err
		}
	}
	if traceFile != "" {
		f, err := os.Create(traceFile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return err
		}
		defer trace.Stop()
	}
	lat := make([]time.Duration, n)
	start := time.Now()
	for i := range lat {
		t := time.Now()
		if err := step(int64(warmup + i)); err != nil {
			return err
		}
		lat[i] = time.Since(t)
	}
	wall := time.Since(start)
	slices.Sort(lat)
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	q := func(p float64) time.Duration { return lat[min(n-1, int(p*float64(n)))] }
	fmt.Printf("%s %s, %d steps: mean %d ns (wall %d), p50 %d, p90 %d, p99 %d, p99.9 %d ns\n",
		w, workload, n, int64(sum)/int64(n), int64(wall)/int64(n), q(.5), q(.9), q(.99), q(.999))
	fmt.Println("steps over | count | their share of the mean")
	for _, b := range []time.Duration{5 * time.Microsecond, 20 * time.Microsecond, 50 * time.Microsecond, 100 * time.Microsecond, time.Millisecond} {
		var c int
		var s time.Duration
		for _, l := range lat {
			if l > b {
				c++
				s += l
			}
		}
		fmt.Printf("%10v | %5d | %6.1f ns\n", b, c, float64(s)/float64(n))
	}
	return nil
}
