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
	_ driver.Pinger             = (*conn)(nil)
	_ driver.ExecerContext      = connExecer{}
	_ driver.QueryerContext     = connQueryer{}
)

// conn wraps a connection opened with telemetry on (a recording one, or one
// whose flag said no: see session.recording). It always exposes the
// context-aware Begin, Prepare and Ping, with database/sql's own fallbacks
// (ctxutil.go) when the inner conn lacks them; what changes database/sql's
// behaviour by its mere presence (NamedValueChecker, SessionResetter,
// Validator, and whether there is a fast path for Exec and Query at all) is
// added by mirrorConn exactly when the inner conn has it.
//
// database/sql calls a driver.Conn with its driverConn's lock held, so the
// plain fields below need no lock of their own.
type conn struct {
	inner driver.Conn
	s     *session
	inTx  bool

	// The inner conn's fast paths in their context form (fastPaths),
	// asserted once at Connect rather than on every statement; set whenever
	// mirrorConn exposes connExecer or connQueryer.
	execer  driver.ExecerContext
	queryer driver.QueryerContext

	// skipped remembers statements whose fast path just answered
	// driver.ErrSkip: database/sql will now prepare each, run it once and
	// close it, and that whole fallback is reported as the one exec or query
	// the user asked for. database/sql releases the lock between the fast
	// path and the prepare, so another user of the same Tx or sql.Conn may
	// come between: a few slots, matched by text, tolerate that.
	skipped [4]skip
	nskip   uint8

	// spare is a rows wrapper reused by the next query once the previous
	// one's rows are closed: most connections have one result set open at
	// a time, and this saves an allocation per query. database/sql never
	// touches a driver.Rows after closing it, and it opens and closes rows
	// under the connection's lock. (Code that queries a driver.Conn itself,
	// through sql.Conn.Raw, must likewise not close a driver.Rows twice.)
	spare     rows
	spareBusy bool
}

type skip struct {
	query string
	op    telemetry.Op
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
	op := c.takeSkipped(query)
	start := c.s.now()
	si, err := ctxPrepare(ctx, c.inner, query)
	if err != nil {
		c.s.record(op, query, stmtID{}, start, nil, err, c.inTx)
		return nil, err
	}
	if !c.s.recording() {
		return si, nil
	}
	st := stmt{inner: si, c: c}
	if op == telemetry.OpPrepare {
		// Given the text, record reads the driver's time before it
		// fingerprints; the id is then a hit in the connection's cache of
		// recent statements.
		c.s.record(op, query, stmtID{}, start, nil, nil, c.inTx)
		st.id = c.s.id(query)
	} else {
		// Fingerprinted when its one execution is recorded, after that
		// execution's end is read: no clock read of its own.
		st.implicit, st.start, st.query = op, start, query
	}
	return mirrorStmt(st), nil
}

// takeSkipped returns what a prepare of query reports as: the exec or query
// whose ErrSkip it follows, or OpPrepare.
func (c *conn) takeSkipped(query string) telemetry.Op {
	for i := uint8(0); i < c.nskip; i++ {
		if c.skipped[i].query == query {
			op := c.skipped[i].op
			c.nskip--
			c.skipped[i] = c.skipped[c.nskip]
			c.skipped[c.nskip] = skip{}
			return op
		}
	}
	return telemetry.OpPrepare
}

func (c *conn) addSkipped(query string, op telemetry.Op) {
	if !c.s.recording() {
		return
	}
	if int(c.nskip) == len(c.skipped) {
		// Only a fallback abandoned through Raw leaves a slot behind; the
		// oldest goes.
		copy(c.skipped[:], c.skipped[1:])
		c.nskip--
	}
	c.skipped[c.nskip] = skip{query, op}
	c.nskip++
}

// Close implements driver.Conn. The inner conn is closed first, then the
// close is recorded and the session's references are given back, once.
func (c *conn) Close() error {
	start := c.s.now()
	err := c.inner.Close()
	if !c.s.released.Load() {
		c.s.record(telemetry.OpClose, "", stmtID{}, start, nil, err, false)
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
	start := c.s.now()
	ti, err := ctxBegin(ctx, c.inner, opts)
	c.s.record(telemetry.OpBegin, "", stmtID{kind: telemetry.KindBegin}, start, nil, err, true)
	if err != nil {
		return nil, err
	}
	if !c.s.recording() {
		return ti, nil
	}
	c.inTx = true
	return &tx{inner: ti, c: c}, nil
}

// Ping implements driver.Pinger; like database/sql, a conn without Pinger is
// taken to be alive.
func (c *conn) Ping(ctx context.Context) error {
	p, ok := c.inner.(driver.Pinger)
	if !ok {
		return nil
	}
	start := c.s.now()
	err := p.Ping(ctx)
	c.s.record(telemetry.OpPing, "", stmtID{}, start, nil, err, c.inTx)
	return err
}

// connExecer is the Exec fast path, present (see mirrorConn) only when the
// inner conn has ExecerContext or Execer.
type connExecer struct{ c *conn }

// ExecContext implements driver.ExecerContext. driver.ErrSkip is passed
// through unrecorded: database/sql's fallback that follows is the exec.
func (x connExecer) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c := x.c
	start := c.s.now()
	res, err := c.execer.ExecContext(ctx, query, args)
	if err == driver.ErrSkip {
		c.addSkipped(query, telemetry.OpExec)
		return nil, err
	}
	c.s.record(telemetry.OpExec, query, stmtID{}, start, res, err, c.inTx)
	return res, err
}

// connQueryer is the Query fast path, present (see mirrorConn) only when the
// inner conn has QueryerContext or Queryer.
type connQueryer struct{ c *conn }

// QueryContext implements driver.QueryerContext. The event is recorded when
// the rows are closed, so that it can count them.
func (x connQueryer) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c := x.c
	start := c.s.now()
	ri, err := c.queryer.QueryContext(ctx, query, args)
	if err == driver.ErrSkip {
		c.addSkipped(query, telemetry.OpQuery)
		return nil, err
	}
	if err != nil {
		c.s.record(telemetry.OpQuery, query, stmtID{}, start, nil, err, c.inTx)
		return nil, err
	}
	return newRows(ri, c, telemetry.OpQuery, query, stmtID{}, start), nil
}
