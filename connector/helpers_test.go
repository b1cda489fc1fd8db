package connector_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/sqltel/sqltel/connector"
	"github.com/sqltel/sqltel/telemetry"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// database/sql's connectionOpener lives as long as a DB that a
		// failing test could not close; pgx and mysql keep none.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
	)
}

// events is a Recorder that tests can read.
type events struct {
	mu  sync.Mutex
	evs []telemetry.Event
}

func (e *events) Record(ev telemetry.Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

func (e *events) all() []telemetry.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]telemetry.Event(nil), e.evs...)
}

func (e *events) reset() {
	e.mu.Lock()
	e.evs = nil
	e.mu.Unlock()
}

// ops returns the operations recorded, in order.
func (e *events) ops() []string {
	var out []string
	for _, ev := range e.all() {
		out = append(out, ev.Op.String())
	}
	return out
}

func (e *events) count(op telemetry.Op) int {
	n := 0
	for _, ev := range e.all() {
		if ev.Op == op {
			n++
		}
	}
	return n
}

// dsnConnector is database/sql's own connector for drivers without
// DriverContext, so the raw and the wrapped DB open connections alike.
type dsnConnector struct {
	dsn string
	drv driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

func innerConnector(t testing.TB, drv driver.Driver, dsn string) driver.Connector {
	t.Helper()
	if dc, ok := drv.(driver.DriverContext); ok {
		c, err := dc.OpenConnector(dsn)
		if err != nil {
			t.Fatalf("OpenConnector: %v", err)
		}
		return c
	}
	return dsnConnector{dsn: dsn, drv: drv}
}

// noEnv hides the machine's SQLTEL_TELEMETRY and DO_NOT_TRACK from tests.
func noEnv(string) string { return "" }

// openRecording opens a DB whose every connection records into the returned
// events (force mode, no flag service).
func openRecording(t testing.TB, drv driver.Driver, dsn string, opts ...connector.Option) (*sql.DB, *events, *connector.Connector) {
	t.Helper()
	rec := &events{}
	opts = append([]connector.Option{connector.WithMode(connector.ModeForce), connector.WithRecorder(rec), connector.WithEnv(noEnv), connector.WithHost("test:1")}, opts...)
	c, err := connector.New(innerConnector(t, drv, dsn), opts...)
	if err != nil {
		t.Fatalf("connector.New: %v", err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db, rec, c
}

// requireEnvDSN returns the DSN in the environment variable, or skips when it
// is unset. When it is set the server must answer: CI sets it, and a server
// that is down must fail the run rather than skip it.
func requireEnvDSN(t *testing.T, name string) string {
	t.Helper()
	dsn := os.Getenv(name)
	if dsn == "" {
		t.Skipf("%s is not set", name)
	}
	return dsn
}

// minimal is a driver with only the required interfaces: no context methods,
// no Execer, no Pinger, no column types. It answers every query with one row
// holding its arguments (or 1 when it has none).
type minimal struct{ skipFast bool }

func (d minimal) Open(string) (driver.Conn, error) {
	if d.skipFast {
		return &skipConn{}, nil
	}
	return &minConn{}, nil
}

type minConn struct{ closed bool }

func (c *minConn) Prepare(q string) (driver.Stmt, error) {
	if q == "bad" {
		return nil, errors.New("minimal: syntax error")
	}
	return &minStmt{}, nil
}
func (c *minConn) Close() error              { c.closed = true; return nil }
func (c *minConn) Begin() (driver.Tx, error) { return minTx{}, nil }

// skipConn has fast paths that always decline, as some drivers' do for
// statements they cannot run directly.
type skipConn struct{ minConn }

func (c *skipConn) ExecContext(context.Context, string, []driver.NamedValue) (driver.Result, error) {
	return nil, driver.ErrSkip
}
func (c *skipConn) QueryContext(context.Context, string, []driver.NamedValue) (driver.Rows, error) {
	return nil, driver.ErrSkip
}

type minStmt struct{}

func (minStmt) Close() error  { return nil }
func (minStmt) NumInput() int { return -1 }
func (minStmt) Exec([]driver.Value) (driver.Result, error) {
	return driver.RowsAffected(1), nil
}
func (minStmt) Query(args []driver.Value) (driver.Rows, error) {
	if len(args) == 0 {
		args = []driver.Value{int64(1)}
	}
	return &minRows{vals: args}, nil
}

type minRows struct {
	vals []driver.Value
	done bool
}

func (r *minRows) Columns() []string {
	cols := make([]string, len(r.vals))
	for i := range cols {
		cols[i] = "c"
	}
	return cols
}
func (r *minRows) Close() error { return nil }
func (r *minRows) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	r.done = true
	copy(dest, r.vals)
	return nil
}

type minTx struct{}

func (minTx) Commit() error   { return nil }
func (minTx) Rollback() error { return nil }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// panickingHandler is a log handler that panics on every line, as a buggy
// one or one writing to a closed sink might.
type panickingHandler struct{}

func (panickingHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (panickingHandler) Handle(context.Context, slog.Record) error { panic("log sink broken") }
func (h panickingHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h panickingHandler) WithGroup(string) slog.Handler           { return h }
