package bench

import (
	"context"
	"os"
	"runtime"
	"testing"
)

// BenchmarkSQLite runs every workload through every wrapper on modernc
// sqlite in memory, one pooled connection. Its sub-benchmarks are named
// wrapper/workload, e.g. BenchmarkSQLite/on/exec.
func BenchmarkSQLite(b *testing.B) { benchmarkBackend(b, SQLite()) }

// BenchmarkPostgres is BenchmarkSQLite on the PostgreSQL server named by
// SQLTEL_BENCH_POSTGRES_DSN; it is skipped when that is not set.
func BenchmarkPostgres(b *testing.B) {
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		b.Skip(PostgresEnv + " is not set")
	}
	benchmarkBackend(b, Postgres(dsn))
}

func benchmarkBackend(b *testing.B, be Backend) {
	for _, w := range Wrappers {
		b.Run(string(w), func(b *testing.B) {
			for _, wl := range Workloads {
				b.Run(wl, func(b *testing.B) { benchmarkWorkload(b, be, w, wl) })
			}
		})
	}
}

func benchmarkWorkload(b *testing.B, be Backend, w Wrapper, workload string) {
	ctx := context.Background()
	var opts Options
	if w == On {
		c, err := StartCollector()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		// A short shutdown budget: what is still buffered when the
		// benchmark ends is not worth waiting for.
		opts = Options{Collector: c.URL, Params: []string{"telemetry_shutdown_timeout=1s"}}
	}
	db, err := Open(ctx, be, w, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() }) // registered after the collector's: runs first
	step, done, err := Step(ctx, db, be, workload)
	if err != nil {
		b.Fatal(err)
	}
	defer done()
	if err := step(0); err != nil { // warm: connection, statement caches
		b.Fatal(err)
	}
	if db.Exporters != nil {
		// Warm the exporter too: its connection to the collector and its
		// buffers are made once, not per run of a few hundred statements.
		if err := db.Exporters.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var before uint64
	if db.Telemetry != nil {
		before = db.Telemetry.Stats().Recorded
	}
	b.ReportAllocs()
	// allocs/op is printed as a whole number, rounded down: 14.99 and
	// 15.07 read 14 and 15. mallocs/op is the same count unrounded, so that
	// the table's difference to raw is not an artifact of the rounding.
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	i := int64(1)
	for ; i <= int64(b.N); i++ {
		if err := step(i); err != nil {
			b.Fatal(err)
		}
	}
	if db.Exporters != nil {
		// Every event's delivery is part of the figure: what is still
		// buffered when the loop ends is sent inside the timed region. Left
		// to Close, it went untimed: the last batch of every run, and on
		// PostgreSQL, where a run makes fewer statements than a batch
		// holds, all of them.
		if err := db.Exporters.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(i-1), "mallocs/op")
	if w == On {
		// Proof that the connection recorded: one event per statement.
		st := db.Telemetry.Stats()
		n := float64(i - 1)
		b.ReportMetric(float64(st.Recorded-before)/n, "events/op")
		if got, want := st.Recorded-before, uint64(i-1)*uint64(StatementsPerStep(workload)); got != want {
			b.Errorf("recorded %d events for %d steps, want %d", got, i-1, want)
		}
		// An exporter that fell behind and dropped events would have been
		// measured doing less than its work.
		if d := st.Dropped.Total(); d != 0 {
			b.Errorf("the exporter dropped %d events (%+v): the figure leaves their cost out", d, st.Dropped)
		}
		if st.Pending != 0 || st.Delivered != st.Recorded {
			b.Errorf("after the timed Flush: %d of %d events delivered, %d pending", st.Delivered, st.Recorded, st.Pending)
		}
	}
}
