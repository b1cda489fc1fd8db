// Command mysql runs the sqltel example workload against MySQL or MariaDB,
// through go-sql-driver/mysql, and prints what a collector running in
// this process received:
//
//	go run ./examples/mysql
//	SQLTEL_MYSQL_DSN='app:secret@tcp(db.example:3306)/app?tls=true' go run ./examples/mysql
//
// The DSN defaults to root@tcp(127.0.0.1:3306)/test.
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

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/sqltel/sqltel/driver"
	"github.com/sqltel/sqltel/examples/collector/collector"
	"github.com/sqltel/sqltel/examples/internal/workload"
	"github.com/sqltel/sqltel/telemetry"
)

const defaultDSN = "root@tcp(127.0.0.1:3306)/test"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := os.MkdirTemp("", "sqltel-mysql-")
	if err == nil {
		_, err = run(ctx, os.Stdout, dir, cmp.Or(os.Getenv("SQLTEL_MYSQL_DSN"), defaultDSN))
		err = errors.Join(err, os.RemoveAll(dir))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mysql:", err)
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
	// MySQL DSN is its address, 127.0.0.1:3306 for the default.
	col, err := workload.StartCollector(dir, "*")
	if err != nil {
		return result{}, err
	}
	defer col.Close(context.WithoutCancel(ctx))

	c, err := driver.NewConnector(&mysql.MySQLDriver{}, col.TelemetryDSN(dsn))
	if err != nil {
		return result{}, err
	}
	db := sqlx.NewDb(sql.OpenDB(c), "mysql") // "mysql": sqlx keeps '?' placeholders

	counts, err := workload.Run(ctx, db, workload.MySQL)
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
