package workload

import (
	"cmp"
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sqltel/sqltel/driver"
	"github.com/sqltel/sqltel/examples/collector/collector"
	"github.com/sqltel/sqltel/telemetry"
)

// Example is what sets one of the single-database examples (quickstart,
// postgres, mysql) apart from the others: the driver sqltel wraps, how sqlx
// binds placeholders for it, and where the database is.
type Example struct {
	Name     string           // the command's name, for its temporary directory and errors
	Driver   sqldriver.Driver // the database's own driver, which sqltel wraps
	SQLXName string           // the name sqlx.NewDb gets: it picks sqlx's bind style
	Dialect  Dialect          // the statements Run uses where databases differ
	Enable   string           // the host key the collector turns telemetry on for, "*" for all

	// The database is $DSNEnv, or DefaultDSN when that is unset; or, when
	// SQLiteFile is set, that file in the run's temporary directory.
	DSNEnv, DefaultDSN string
	SQLiteFile         string
}

// Result is what an Example's run did and what the collector made of it.
type Result struct {
	Counts Counts            // the events the workload should have produced
	Report *collector.Report // the collector's summary for the enabled hosts
	Stats  telemetry.Stats   // the exporter's counters, after the last Close
	Store  string            // the collector's SQLite file, in dir
}

// DSN returns the DSN Main runs ex on, given the run's directory.
func (ex Example) DSN(dir string) string {
	if ex.SQLiteFile != "" {
		return "file:" + filepath.Join(dir, ex.SQLiteFile)
	}
	return cmp.Or(os.Getenv(ex.DSNEnv), ex.DefaultDSN)
}

// Run runs the workload on the database at dsn, with the collector's files
// in dir, and prints the collector's summary and the exporter's counters to
// w.
func (ex Example) Run(ctx context.Context, w io.Writer, dir, dsn string) (Result, error) {
	// The collector serves the feature flag (on for the hosts in ex.Enable)
	// and stores the events.
	col, err := StartCollector(dir, ex.Enable)
	if err != nil {
		return Result{}, err
	}
	defer col.Close(context.WithoutCancel(ctx))

	// This is all an application changes to use sqltel: wrap the driver in a
	// connector, open it with sql.OpenDB, and use the *sql.DB as before, here
	// through sqlx. NewConnector rather than driver.Open, to keep the
	// *Connector for its Stats.
	//
	// telemetry=on records only where the collector's flag says so; the
	// endpoint and a short flush interval ride along in the DSN:
	//   file:/tmp/.../app.db?telemetry=on&telemetry_flush_interval=200ms&telemetry_endpoint=http%3A%2F%2F127.0.0.1%3A...
	c, err := driver.NewConnector(ex.Driver, col.TelemetryDSN(dsn))
	if err != nil {
		return Result{}, err
	}
	db := sqlx.NewDb(sql.OpenDB(c), ex.SQLXName)

	counts, err := Run(ctx, db, ex.Dialect)
	// Closing the last connection flushes the events still buffered.
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Result{}, err
	}

	host := ex.Enable
	if host == "*" {
		host = "" // the report on every host
	}
	report, err := col.Server.Report(ctx, host, time.Time{})
	if err != nil {
		return Result{}, err
	}
	res := Result{Counts: counts, Report: report, Stats: c.Stats(), Store: col.Path}
	if err := PrintSummary(w, report); err != nil {
		return res, err
	}
	return res, PrintStats(w, res.Stats)
}

// RunIn is Run on ex.DSN(dir).
func (ex Example) RunIn(ctx context.Context, w io.Writer, dir string) (Result, error) {
	return ex.Run(ctx, w, dir, ex.DSN(dir))
}

// Main is func main for an Example: it runs ex on ex.DSN, printing to
// standard output.
func Main(ex Example) { MainFunc(ex.Name, ex.RunIn) }

// MainFunc is func main for any example: it calls run with a new temporary
// directory, which it removes afterwards, and a context that SIGINT cancels.
// On error it prints it after name and exits with status 1.
func MainFunc[R any](name string, run func(ctx context.Context, w io.Writer, dir string) (R, error)) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := os.MkdirTemp("", "sqltel-"+name+"-")
	if err == nil {
		_, err = run(ctx, os.Stdout, dir)
		err = errors.Join(err, os.RemoveAll(dir))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}
