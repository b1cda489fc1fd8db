package connector_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/go-sql-driver/mysql"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"github.com/sqltel/sqltel/telemetry"
)

// target is one real driver the wrappers must be invisible on.
type target struct {
	name  string
	drv   driver.Driver
	dsn   string
	query string // a SELECT with columns of several types, for ColumnTypes
	exec  string // a statement that changes nothing
}

func targets(t *testing.T) []target {
	ts := []target{
		{"sqlite", &sqlite.Driver{}, ":memory:", "select 1 as i, 'x' as s, 1.5 as f, x'00' as b, null as n", "select 1"},
		{"minimal", minimal{}, "", "select", "update"},
		{"sqlmock", sqlmockDriver(t), "sqltel_conformance", "select", "update"},
	}
	if dsn := os.Getenv("SQLTEL_TEST_POSTGRES_DSN"); dsn != "" {
		ts = append(ts, target{"postgres", stdlib.GetDefaultDriver(), dsn,
			"select 1::int4 as i, 'x'::text as s, 1.5::numeric(5,2) as f, '\\x00'::bytea as b, null::int8 as n, array[1,2]::int4[] as a", "select 1"})
	} else {
		t.Log("SQLTEL_TEST_POSTGRES_DSN not set: PostgreSQL not in the table")
	}
	if dsn := os.Getenv("SQLTEL_TEST_MYSQL_DSN"); dsn != "" {
		ts = append(ts, target{"mysql", &mysql.MySQLDriver{}, dsn,
			"select 1 as i, 'x' as s, cast(1.5 as decimal(5,2)) as f, x'00' as b, null as n", "do 1"})
	} else {
		t.Log("SQLTEL_TEST_MYSQL_DSN not set: MariaDB not in the table")
	}
	return ts
}

// The interfaces database/sql looks for on a Conn. The mirrored ones change
// its behaviour by their mere presence; the always ones have a fallback that
// the wrapper reproduces.
var (
	connMirrored = []string{"NamedValueChecker", "SessionResetter", "Validator", "Exec fast path", "Query fast path"}
	connAlways   = []string{"Pinger", "ConnPrepareContext", "ConnBeginTx"}
	stmtMirrored = []string{"NamedValueChecker", "ColumnConverter"}
	stmtAlways   = []string{"StmtExecContext", "StmtQueryContext"}
)

func connIfaces(c any) map[string]bool {
	m := map[string]bool{}
	_, m["NamedValueChecker"] = c.(driver.NamedValueChecker)
	_, m["SessionResetter"] = c.(driver.SessionResetter)
	_, m["Validator"] = c.(driver.Validator)
	_, m["Pinger"] = c.(driver.Pinger)
	_, m["ExecerContext"] = c.(driver.ExecerContext)
	_, m["QueryerContext"] = c.(driver.QueryerContext)
	// A fast path is there with either form; the wrapper offers the
	// context one exactly when the driver has either.
	_, execer := c.(driver.Execer)   //nolint:staticcheck // the deprecated form counts
	_, queryer := c.(driver.Queryer) //nolint:staticcheck // the deprecated form counts
	m["Exec fast path"] = m["ExecerContext"] || execer
	m["Query fast path"] = m["QueryerContext"] || queryer
	_, m["ConnPrepareContext"] = c.(driver.ConnPrepareContext)
	_, m["ConnBeginTx"] = c.(driver.ConnBeginTx)
	return m
}

func stmtIfaces(s any) map[string]bool {
	m := map[string]bool{}
	_, m["NamedValueChecker"] = s.(driver.NamedValueChecker)
	_, m["ColumnConverter"] = s.(driver.ColumnConverter) //nolint:staticcheck // database/sql still honours it
	_, m["StmtExecContext"] = s.(driver.StmtExecContext)
	_, m["StmtQueryContext"] = s.(driver.StmtQueryContext)
	return m
}

// rawIfaces returns the Conn and Stmt interface sets of one pooled
// connection, as database/sql sees them.
func rawIfaces(t *testing.T, db *sql.DB, query string) (connSet, stmtSet map[string]bool) {
	t.Helper()
	ctx := context.Background()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatalf("Conn: %v", err)
	}
	defer c.Close()
	err = c.Raw(func(dc any) error {
		connSet = connIfaces(dc)
		var si driver.Stmt
		var err error
		if p, ok := dc.(driver.ConnPrepareContext); ok {
			si, err = p.PrepareContext(ctx, query)
		} else {
			si, err = dc.(driver.Conn).Prepare(query)
		}
		if err != nil {
			return err
		}
		defer si.Close()
		stmtSet = stmtIfaces(si)
		return nil
	})
	if err != nil {
		t.Fatalf("Raw: %v", err)
	}
	return connSet, stmtSet
}

func checkSets(t *testing.T, what string, raw, wrapped map[string]bool, mirrored, always []string) {
	t.Helper()
	for _, name := range mirrored {
		if raw[name] != wrapped[name] {
			t.Errorf("%s %s: raw has it %v, wrapped %v", what, name, raw[name], wrapped[name])
		}
	}
	for _, name := range always {
		if !wrapped[name] {
			t.Errorf("%s %s: wrapped lacks it", what, name)
		}
	}
}

type colType struct {
	Name, DBType          string
	ScanType              string
	Length                int64
	HasLength             bool
	Nullable, HasNullable bool
	Prec, Scale           int64
	HasDecimal            bool
}

func columnTypes(t *testing.T, db *sql.DB, query string) []colType {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		t.Fatalf("ColumnTypes: %v", err)
	}
	var out []colType
	for _, ct := range cts {
		c := colType{Name: ct.Name(), DBType: ct.DatabaseTypeName(), ScanType: fmt.Sprint(ct.ScanType())}
		c.Length, c.HasLength = ct.Length()
		c.Nullable, c.HasNullable = ct.Nullable()
		c.Prec, c.Scale, c.HasDecimal = ct.DecimalSize()
		out = append(out, c)
	}
	for rows.Next() {
	}
	return out
}

// openConnsAfterCancelledTx begins a transaction, cancels its context and
// reports how many connections the pool still holds once database/sql has
// rolled it back: one if it kept the connection, zero if it discarded it.
func openConnsAfterCancelledTx(t *testing.T, db *sql.DB, exec string) int {
	t.Helper()
	db.SetMaxIdleConns(2)
	ctx, cancel := context.WithCancel(context.Background())
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("BeginTx: %v", err)
	}
	if _, err := tx.Exec(exec); err != nil {
		t.Fatalf("Exec in tx: %v", err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for db.Stats().InUse != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cancelled transaction never gave its connection back")
		}
		time.Sleep(time.Millisecond)
	}
	return db.Stats().OpenConnections
}

func TestConformance(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			raw := sql.OpenDB(innerConnector(t, tg.drv, tg.dsn))
			defer raw.Close()
			wrapped, rec, c := openRecording(t, tg.drv, tg.dsn)
			raw.SetMaxOpenConns(1)
			wrapped.SetMaxOpenConns(1)

			rc, rs := rawIfaces(t, raw, tg.query)
			wc, ws := rawIfaces(t, wrapped, tg.query)
			checkSets(t, "Conn", rc, wc, connMirrored, connAlways)
			checkSets(t, "Stmt", rs, ws, stmtMirrored, stmtAlways)

			if diff := cmp.Diff(columnTypes(t, raw, tg.query), columnTypes(t, wrapped, tg.query)); diff != "" {
				t.Errorf("ColumnTypes differ (-raw +wrapped):\n%s", diff)
			}

			if err := wrapped.Ping(); err != nil {
				t.Errorf("Ping: %v", err)
			}
			res, err := wrapped.Exec(tg.exec)
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			if _, err := res.RowsAffected(); err != nil {
				t.Errorf("RowsAffected: %v", err)
			}

			if r, w := openConnsAfterCancelledTx(t, raw, tg.exec), openConnsAfterCancelledTx(t, wrapped, tg.exec); r != w {
				t.Errorf("after a cancelled transaction the raw pool holds %d connections, the wrapped %d", r, w)
			}

			if got := c.RecoveredPanics(); got != 0 {
				t.Errorf("RecoveredPanics = %d", got)
			}
			if rec.count(telemetry.OpConnect) == 0 {
				t.Error("no connect event recorded")
			}
		})
	}
}

// point is an argument only the driver's statement knows how to convert.
type point struct{ x, y int }

type pointConverter struct{}

func (pointConverter) ConvertValue(v any) (driver.Value, error) {
	if p, ok := v.(point); ok {
		return int64(p.x*1000 + p.y), nil
	}
	return driver.DefaultParameterConverter.ConvertValue(v)
}

// convStmt converts its arguments with its own ColumnConverter, which
// database/sql consults only on the prepare path.
type convStmt struct{ minStmt }

func (convStmt) ColumnConverter(int) driver.ValueConverter { return pointConverter{} }

type convConn struct{ minConn }

func (convConn) Prepare(string) (driver.Stmt, error) { return convStmt{}, nil }

type convDriver struct{}

func (convDriver) Open(string) (driver.Conn, error) { return &convConn{}, nil }

// countingValuer counts how often database/sql asks it for its value.
type countingValuer struct{ n *int }

func (v countingValuer) Value() (driver.Value, error) { *v.n++; return int64(7), nil }

// A driver without a fast path converts arguments once, with its statement's
// converter: the wrapper must not add a fast path that makes database/sql
// convert them first with the default converter (which rejects point) and
// call a Valuer twice.
func TestArgumentConversionMatchesRaw(t *testing.T) {
	raw := sql.OpenDB(innerConnector(t, convDriver{}, ""))
	defer raw.Close()
	wrapped, _, _ := openRecording(t, convDriver{}, "")
	for name, db := range map[string]*sql.DB{"raw": raw, "wrapped": wrapped} {
		if _, err := db.Exec("insert", point{1, 2}); err != nil {
			t.Errorf("%s: Exec with a statement-converted argument: %v", name, err)
		}
		var got int64
		if err := db.QueryRow("select ?", point{3, 4}).Scan(&got); err != nil || got != 3004 {
			t.Errorf("%s: QueryRow = %d, %v; want 3004", name, got, err)
		}
		n := 0
		if _, err := db.Exec("insert", countingValuer{&n}); err != nil || n != 1 {
			t.Errorf("%s: Valuer called %d times (%v), want once", name, n, err)
		}
	}
}

// sqlmockDriver returns go-sqlmock's driver with a connection registered as
// "sqltel_conformance" that answers, in any order, as many of the
// conformance test's statements as it makes (raw and wrapped share it).
func sqlmockDriver(t *testing.T) driver.Driver {
	t.Helper()
	db, mock, err := sqlmock.NewWithDSN("sqltel_conformance",
		sqlmock.QueryMatcherOption(sqlmock.QueryMatcherFunc(func(string, string) error { return nil })),
		sqlmock.MonitorPingsOption(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mock.MatchExpectationsInOrder(false)
	for range 20 {
		mock.ExpectPrepare("")
		mock.ExpectQuery("").WillReturnRows(sqlmock.NewRowsWithColumnDefinition(
			sqlmock.NewColumn("i").OfType("INT", int64(0)).Nullable(false),
			sqlmock.NewColumn("s").OfType("VARCHAR", "").WithLength(64).Nullable(true),
			sqlmock.NewColumn("f").OfType("DECIMAL", float64(0)).WithPrecisionAndScale(5, 2),
		).AddRow(int64(1), "x", 1.5))
		mock.ExpectExec("").WillReturnResult(sqlmock.NewResult(0, 1))
		mock.ExpectBegin()
		mock.ExpectRollback()
		mock.ExpectPing()
	}
	return db.Driver()
}
