// Command postgres runs the sqltel example workload against PostgreSQL,
// through pgx's database/sql driver, and prints what a collector running in
// this process received:
//
//	go run ./examples/postgres
//	SQLTEL_POSTGRES_DSN='postgres://user@db.example:5432/app?sslmode=require' go run ./examples/postgres
//
// The DSN defaults to postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
// The workload creates a table with a random name and drops it at the end.
package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"

	"github.com/sqltel/sqltel/driver"
	"github.com/sqltel/sqltel/examples/collector/collector"
	"github.com/sqltel/sqltel/examples/internal/workload"
	"github.com/sqltel/sqltel/telemetry"
)

const defaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := os.MkdirTemp("", "sqltel-postgres-")
	if err == nil {
		_, err = run(ctx, os.Stdout, dir, cmp.Or(os.Getenv("SQLTEL_POSTGRES_DSN"), defaultDSN))
		err = errors.Join(err, os.RemoveAll(dir))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "postgres:", err)
		os.Exit(1)
	}
}

// result is what a run did and what the collector made of it.
type result struct {
	Counts workload.Counts
	Report *collector.Report
	Stats  telemetry.Stats
	Store  string // the collector's SQLite file, in dir
}

// run runs the workload on the database at dsn, with the collector's files
// in dir, and prints the summary to w.
func run(ctx context.Context, w io.Writer, dir, dsn string) (result, error) {
	// The collector enables every host: the host key sqltel derives from a
	// PostgreSQL URL is its host:port, 127.0.0.1:5432 for the default.
	col, err := workload.StartCollector(dir, "*")
	if err != nil {
		return result{}, err
	}
	defer col.Close(context.WithoutCancel(ctx))

	c, err := driver.NewConnector(stdlib.GetDefaultDriver(), col.TelemetryDSN(dsn))
	if err != nil {
		return result{}, err
	}
	db := sqlx.NewDb(sql.OpenDB(c), "pgx") // "pgx": sqlx rebinds '?' to $1, $2...

	counts, err := workload.Run(ctx, db, workload.Postgres)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return result{}, err
	}
	report, err := col.Server.Report(ctx, "", time.Time{})
	if err != nil {
		return result{}, err
	}
	res := result{Counts: counts, Report: report, Stats: c.Stats(), Store: col.Path}
	if err := workload.PrintSummary(w, report); err != nil {
		return res, err
	}
	return res, workload.PrintStats(w, res.Stats)
}
