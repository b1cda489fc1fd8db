// Command sqlx shows the two ways to use sqltel with github.com/jmoiron/sqlx,
// on SQLite files in a temporary directory:
//
//	go run ./examples/sqlx
//
// sqlx chooses its placeholder style from a driver name (db.Rebind turns '?'
// into $1 for "postgres" and "pgx", leaves it for "mysql" and "sqlite3"). So:
//
//  1. With a wrapped driver registered under a name of its own, open it with
//     sqlx.Open and tell sqlx that name's style with sqlx.BindDriver.
//  2. With a connector, open it with sql.OpenDB and give the *sql.DB to
//     sqlx.NewDb with any name of the style wanted: the name is used for
//     nothing else. Here "postgres", for $1 placeholders, which SQLite also
//     understands.
//
// Both run the examples' workload with telemetry on, sending it to a
// collector in this process, whose summary is printed at the end.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"

	"github.com/sqltel/sqltel/driver"
	"github.com/sqltel/sqltel/examples/internal/workload"
)

// Register once, at start-up: like sql.Register, it panics on a name that is
// already taken.
func init() {
	driver.Register("sqltel-sqlite", &sqlite.Driver{})
	// For a PostgreSQL driver registered as, say, "sqltel-pgx", this would
	// be sqlx.DOLLAR: sqlx cannot guess from a name it has never seen.
	sqlx.BindDriver("sqltel-sqlite", sqlx.QUESTION)
}

func main() { workload.MainFunc("sqlx", run) }

// result is what the two workloads should have produced together, and where
// the collector stored what it received.
type result struct {
	Counts workload.Counts
	Store  string
}

// run runs the workload through both kinds of sqlx.DB, with their files in
// dir, and prints what each one's Rebind does and the collector's summary.
func run(ctx context.Context, w io.Writer, dir string) (result, error) {
	col, err := workload.StartCollector(dir, "localhost")
	if err != nil {
		return result{}, err
	}
	defer col.Close(context.WithoutCancel(ctx))
	dsn := func(name string) string { return col.TelemetryDSN("file:" + filepath.Join(dir, name)) }

	// 1. sqlx.Open with the registered name.
	registered, err := sqlx.Open("sqltel-sqlite", dsn("registered.db"))
	if err != nil {
		return result{}, err
	}

	// 2. sqlx.NewDb over a connector's *sql.DB.
	c, err := driver.NewConnector(&sqlite.Driver{}, dsn("connector.db"))
	if err != nil {
		registered.Close()
		return result{}, err
	}
	wrapped := sqlx.NewDb(sql.OpenDB(c), "postgres")

	total := workload.Counts{}
	for _, db := range []*sqlx.DB{registered, wrapped} {
		fmt.Fprintf(w, "sqlx.DB %-15q rebinds to: %s\n", db.DriverName(), db.Rebind("SELECT name FROM items WHERE id = ? AND price < ?"))
		counts, err := workload.Run(ctx, db, workload.SQLite)
		// Closing the last connection to the collector flushes its events.
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return result{}, fmt.Errorf("%s: %w", db.DriverName(), err)
		}
		for k, n := range counts {
			total[k] += n
		}
	}

	report, err := col.Server.Report(ctx, "localhost", time.Time{})
	if err != nil {
		return result{}, err
	}
	fmt.Fprintln(w)
	return result{Counts: total, Store: col.Path}, workload.PrintSummary(w, report)
}
