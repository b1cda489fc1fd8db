package connector

import (
	"context"
	"database/sql/driver"
	"errors"
	"time"

	"github.com/sqltel/sqltel/telemetry"
)

var (
	_ driver.Stmt             = (*stmt)(nil)
	_ driver.StmtExecContext  = (*stmt)(nil)
	_ driver.StmtQueryContext = (*stmt)(nil)
)

// stmt wraps a prepared statement of a recording connection. Its statement
// id is computed once at Prepare, so executing it again costs no
// fingerprinting. NamedValueChecker and ColumnConverter are added by
// mirrorStmt exactly when the inner stmt has them: database/sql's argument
// conversion (convert.go) checks the Stmt's checker, then the Conn's, then
// the Stmt's ColumnConverter, and mirroring keeps that order intact.
type stmt struct {
	inner driver.Stmt
	c     *conn
	id    stmtID

	// implicit is set on the statement database/sql prepares after an
	// ErrSkip: its one execution is reported as that exec or query, timed
	// from the prepare's start. query is its text until id is computed:
	// after that execution's end is read, so fingerprinting is not timed.
	implicit telemetry.Op
	start    time.Time
	query    string
}

// Unwrap returns the driver's own statement.
func (s *stmt) Unwrap() driver.Stmt { return s.inner }

// errNotExecuted stands for the error database/sql returned, unseen here,
// when it prepared a statement after an ErrSkip and then did not run it.
var errNotExecuted = errors.New("sqltel: statement prepared and not executed")

// Close implements driver.Stmt. A statement database/sql prepared after an
// ErrSkip and closes unexecuted (its arguments did not fit, say) is the
// exec or query the user asked for, failed: it is reported as one, as a
// driver whose fast path runs it would report it.
func (s *stmt) Close() error {
	if op := s.implicit; op != telemetry.OpUnknown && s.c.s.recording() {
		s.implicit = telemetry.OpUnknown
		c := s.c
		c.s.record(op, s.query, stmtID{}, s.start, nil, errNotExecuted, c.inTx)
	}
	return s.inner.Close()
}

// NumInput implements driver.Stmt.
func (s *stmt) NumInput() int { return s.inner.NumInput() }

// Exec implements driver.Stmt.
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), valuesToNamed(args))
}

// Query implements driver.Stmt.
func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), valuesToNamed(args))
}

// begin returns what an execution of this statement is reported as, since
// when it is timed, and the text to fingerprint when its id is not known
// yet. The implicit statement's one execution is timed from the prepare,
// with no clock read of its own.
func (s *stmt) begin(explicit telemetry.Op) (telemetry.Op, time.Time, string) {
	if op := s.implicit; op != telemetry.OpUnknown {
		s.implicit = telemetry.OpUnknown
		return op, s.start, s.query
	}
	if s.query != "" { // executed again (through Raw): fingerprint it now
		s.id, s.query = s.c.s.id(s.query), ""
	}
	return explicit, s.c.s.now(), ""
}

// ExecContext implements driver.StmtExecContext.
func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	c := s.c
	op, start, query := s.begin(telemetry.OpStmtExec)
	res, err := ctxStmtExec(ctx, s.inner, args)
	c.s.record(op, query, s.id, start, res, err, c.inTx)
	return res, err
}

// QueryContext implements driver.StmtQueryContext.
func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	c := s.c
	op, start, query := s.begin(telemetry.OpStmtQuery)
	ri, err := ctxStmtQuery(ctx, s.inner, args)
	if err != nil {
		c.s.record(op, query, s.id, start, nil, err, c.inTx)
		return nil, err
	}
	return newRows(ri, c, op, query, s.id, start), nil
}

// valuesToNamed serves callers of the deprecated Exec and Query (through
// sql.Conn.Raw); database/sql itself always calls the context forms.
func valuesToNamed(args []driver.Value) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, v := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return nv
}

// columnConverter forwards a mirrored ColumnConverter (see mirror_gen.go).
type columnConverter struct{ cc driver.ColumnConverter } //nolint:staticcheck // database/sql still honours it

// ColumnConverter implements driver.ColumnConverter.
func (c columnConverter) ColumnConverter(idx int) driver.ValueConverter {
	return c.cc.ColumnConverter(idx)
}
