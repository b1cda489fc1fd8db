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
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sqltel/sqltel/examples/internal/workload"
)

// example is what sets this example apart. workload.Example.Run does the
// rest, and wraps the driver as an application would:
//
//	c, err := driver.NewConnector(stdlib.GetDefaultDriver(), dsn)
//	db := sqlx.NewDb(sql.OpenDB(c), "pgx")
var example = workload.Example{
	Name:       "postgres",
	Driver:     stdlib.GetDefaultDriver(),
	SQLXName:   "pgx", // sqlx rebinds '?' to $1, $2...
	Dialect:    workload.Postgres,
	DSNEnv:     "SQLTEL_POSTGRES_DSN",
	DefaultDSN: "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
	// The collector enables every host: the host key sqltel derives from a
	// PostgreSQL URL is its host:port, 127.0.0.1:5432 for the default.
	Enable: "*",
}

func main() { workload.Main(example) }
