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
	"modernc.org/sqlite"

	"github.com/sqltel/sqltel/examples/internal/workload"
)

// example says which database to use and how; workload.Example.Run (in
// examples/internal/workload/example.go) does the rest. The lines that
// matter for an application are those that wrap the driver there:
//
//	c, err := driver.NewConnector(&sqlite.Driver{}, dsn) // sqltel around the SQLite driver
//	db := sqlx.NewDb(sql.OpenDB(c), "sqlite3")           // then database/sql and sqlx as usual
//
// where dsn carries telemetry=on and the collector's endpoint.
var example = workload.Example{
	Name:     "quickstart",
	Driver:   &sqlite.Driver{},
	SQLXName: "sqlite3", // sqlx picks its bind style by name: "sqlite3" means '?'
	Dialect:  workload.SQLite,
	// The database is app.db in a temporary directory, removed at the end.
	SQLiteFile: "app.db",
	// The collector turns telemetry on for "localhost", the host key of
	// every SQLite file.
	Enable: "localhost",
}

func main() { workload.Main(example) }
