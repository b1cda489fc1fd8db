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
	"github.com/go-sql-driver/mysql"

	"github.com/sqltel/sqltel/examples/internal/workload"
)

// example is what sets this example apart. workload.Example.Run does the
// rest, and wraps the driver as an application would:
//
//	c, err := driver.NewConnector(&mysql.MySQLDriver{}, dsn)
//	db := sqlx.NewDb(sql.OpenDB(c), "mysql")
var example = workload.Example{
	Name:       "mysql",
	Driver:     &mysql.MySQLDriver{},
	SQLXName:   "mysql", // sqlx keeps '?' placeholders
	Dialect:    workload.MySQL,
	DSNEnv:     "SQLTEL_MYSQL_DSN",
	DefaultDSN: "root@tcp(127.0.0.1:3306)/test",
	// The collector enables every host: the host key sqltel derives from a
	// MySQL DSN is its address, 127.0.0.1:3306 for the default.
	Enable: "*",
}

func main() { workload.Main(example) }
