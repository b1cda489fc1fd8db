// Command quickstart shows sqltel end to end in one process, with nothing to
// install and no network beyond loopback:
//
//	go run ./examples/quickstart    # or: make demo
//
// It starts the reference collector on a loopback port, opens a SQLite
// database through sqltel's wrapped driver with telemetry=on, runs a small
// workload through sqlx, closes the database (which sends the last events)
// and prints what the collector received, then the exporter's counters.
//
// What leaves the database layer is one event per operation: its kind,
// fingerprint, latency, row count and error category. Never SQL text, never
// values.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"

	"github.com/sqltel/sqltel/driver"
	"github.com/sqltel/sqltel/examples/collector/collector"
	"github.com/sqltel/sqltel/examples/internal/workload"
	"github.com/sqltel/sqltel/telemetry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := os.MkdirTemp("", "sqltel-quickstart-")
	if err == nil {
		_, err = run(ctx, os.Stdout, dir)
		err = errors.Join(err, os.RemoveAll(dir))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// result is what a run did and what the collector made of it.
type result struct {
	Counts workload.Counts   // the events the workload should have produced
	Report *collector.Report // the collector's summary for "localhost"
	Stats  telemetry.Stats   // the exporter's counters, after the last Close
	Store  string            // the collector's SQLite file, in dir
}

// run does the demo with its files in dir and prints the summary to w.
func run(ctx context.Context, w io.Writer, dir string) (result, error) {
	// The collector serves the feature flag (on for "localhost", the host key
	// of every SQLite file) and stores the events.
	col, err := workload.StartCollector(dir, "localhost")
	if err != nil {
		return result{}, err
	}
	defer col.Close(context.WithoutCancel(ctx))

	// telemetry=on records only where the collector's flag says so; the
	// endpoint and a short flush interval ride along in the DSN:
	//   file:/tmp/.../app.db?telemetry=on&telemetry_flush_interval=200ms&telemetry_endpoint=http%3A%2F%2F127.0.0.1%3A...
	dsn := col.TelemetryDSN("file:" + filepath.Join(dir, "app.db"))
	// NewConnector rather than driver.Open, to keep the *Connector for its
	// Stats. sqlx picks its bind style by name: "sqlite3" means '?'.
	c, err := driver.NewConnector(&sqlite.Driver{}, dsn)
	if err != nil {
		return result{}, err
	}
	db := sqlx.NewDb(sql.OpenDB(c), "sqlite3")

	counts, err := workload.Run(ctx, db, workload.SQLite)
	// Closing the last connection flushes the events still buffered.
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return result{}, err
	}

	report, err := col.Server.Report(ctx, "localhost", time.Time{})
	if err != nil {
		return result{}, err
	}
	res := result{Counts: counts, Report: report, Stats: c.Stats(), Store: col.Path}
	if err := workload.PrintSummary(w, report); err != nil {
		return res, err
	}
	return res, workload.PrintStats(w, res.Stats)
}
