package connector

import (
	"context"
	"database/sql/driver"

	"github.com/sqltel/sqltel/telemetry"
)

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
)

// conn wraps a recording connection. It always exposes the context-aware
// interfaces, with database/sql's own fallbacks (ctxutil.go) when the inner
// conn lacks them; the interfaces whose presence alone changes database/sql's
// behaviour (NamedValueChecker, SessionResetter, Validator) are added by
// mirrorConn exactly when the inner conn has them.
//
// database/sql never uses one driver.Conn from two goroutines at once, so the
// plain fields below need no lock.
type conn struct {
	inner driver.Conn
	s     *session
	inTx  bool

	// skipped remembers the statement whose fast path just answered
	// driver.ErrSkip: database/sql will now prepare it, run it once and close
	// it, and that whole fallback is reported as the one exec or query the
	// user asked for.
	skipped   string
	skippedOp telemetry.Op
}

// Unwrap returns the driver's own connection, for sql.Conn.Raw users who need
// the driver's concrete type.
func (c *conn) Unwrap() driver.Conn { return c.inner }

// Prepare implements driver.Conn.
func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext implements driver.ConnPrepareContext.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	op := telemetry.OpPrepare
	if c.skippedOp != telemetry.OpUnknown && c.skipped == query {
		op = c.skippedOp
	}
	c.skippedOp = telemetry.OpUnknown
	start := c.s.c.now()
	si, err := ctxPrepare(ctx, c.inner, query)
	if err != nil {
		c.s.record(op, query, stmtID{}, start, -1, err, c.inTx)
		return nil, err
	}
	st := &stmt{inner: si, c: c, id: c.s.id(query)}
	if op == telemetry.OpPrepare {
		c.s.record(op, "", st.id, start, -1, nil, c.inTx)
	} else {
		st.implicit, st.start = op, start
	}
	return mirrorStmt(st).(driver.Stmt), nil
}

// Close implements driver.Conn. The inner conn is closed first, then the
// close is recorded and the session's references are given back; the last
// reference to an exporter flushes it, within its shutdown budget.
func (c *conn) Close() error {
	start := c.s.c.now()
	err := c.inner.Close()
	if !c.s.released.Load() {
		c.s.record(telemetry.OpClose, "", stmtID{}, start, -1, err, false)
	}
	c.s.done()
	return err
}

// Begin implements driver.Conn.
func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx implements driver.ConnBeginTx.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.skippedOp = telemetry.OpUnknown
	start := c.s.c.now()
	ti, err := ctxBegin(ctx, c.inner, opts)
	c.s.record(telemetry.OpBegin, "", stmtID{kind: telemetry.KindBegin}, start, -1, err, true)
	if err != nil {
		return nil, err
	}
	c.inTx = true
	return &tx{inner: ti, c: c}, nil
}

// Ping implements driver.Pinger; like database/sql, a conn without Pinger is
// taken to be alive.
func (c *conn) Ping(ctx context.Context) error {
	c.skippedOp = telemetry.OpUnknown
	p, ok := c.inner.(driver.Pinger)
	if !ok {
		return nil
	}
	start := c.s.c.now()
	err := p.Ping(ctx)
	c.s.record(telemetry.OpPing, "", stmtID{}, start, -1, err, c.inTx)
	return err
}

// ExecContext implements driver.ExecerContext. driver.ErrSkip is passed
// through unrecorded: database/sql's fallback that follows is the exec.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.skippedOp = telemetry.OpUnknown
	start := c.s.c.now()
	res, err := ctxExec(ctx, c.inner, query, args)
	if err == driver.ErrSkip {
		c.skipped, c.skippedOp = query, telemetry.OpExec
		return nil, err
	}
	c.s.recordExec(telemetry.OpExec, query, stmtID{}, start, res, err, c.inTx)
	return res, err
}

// QueryContext implements driver.QueryerContext. The event is recorded when
// the rows are closed, so that it can count them.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.skippedOp = telemetry.OpUnknown
	start := c.s.c.now()
	ri, err := ctxQuery(ctx, c.inner, query, args)
	if err == driver.ErrSkip {
		c.skipped, c.skippedOp = query, telemetry.OpQuery
		return nil, err
	}
	if err != nil {
		c.s.record(telemetry.OpQuery, query, stmtID{}, start, -1, err, c.inTx)
		return nil, err
	}
	return newRows(ri, c, telemetry.OpQuery, query, stmtID{}, start), nil
}
