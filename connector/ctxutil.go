package connector

import (
	"context"
	"database/sql/driver"
	"errors"
)

// The fallbacks in this file mirror database/sql's ctxutil.go so that a
// wrapper which always exposes the context-aware interfaces behaves exactly
// like the raw driver, whose missing methods database/sql would have filled in
// the same way. The error texts are database/sql's own.

var (
	errNamedParams  = errors.New("sql: driver does not support the use of Named Parameters")
	errIsolation    = errors.New("sql: driver does not support non-default isolation level")
	errReadOnlyTxns = errors.New("sql: driver does not support read-only transactions")
)

func ctxPrepare(ctx context.Context, ci driver.Conn, query string) (driver.Stmt, error) {
	if ciCtx, ok := ci.(driver.ConnPrepareContext); ok {
		return ciCtx.PrepareContext(ctx, query)
	}
	si, err := ci.Prepare(query)
	if err == nil {
		select {
		default:
		case <-ctx.Done():
			si.Close()
			return nil, ctx.Err()
		}
	}
	return si, err
}

// fastPaths returns the inner conn's Exec and Query fast paths in their
// context form: its own, or its deprecated Execer/Queryer behind database/sql's
// fallback (named-parameter and context checks); nil where it has neither,
// in which case mirrorConn exposes no fast path either.
func fastPaths(ci driver.Conn) (driver.ExecerContext, driver.QueryerContext) {
	e, _ := ci.(driver.ExecerContext)
	if e == nil {
		if old, ok := ci.(driver.Execer); ok { //nolint:staticcheck // the deprecated form is what some drivers have
			e = legacyExecer{old}
		}
	}
	q, _ := ci.(driver.QueryerContext)
	if q == nil {
		if old, ok := ci.(driver.Queryer); ok { //nolint:staticcheck // see above
			q = legacyQueryer{old}
		}
	}
	return e, q
}

type legacyExecer struct{ e driver.Execer } //nolint:staticcheck // see fastPaths

func (l legacyExecer) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	dargs, err := namedValueToValue(args)
	if err != nil {
		return nil, err
	}
	select {
	default:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return l.e.Exec(query, dargs)
}

type legacyQueryer struct{ q driver.Queryer } //nolint:staticcheck // see fastPaths

func (l legacyQueryer) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	dargs, err := namedValueToValue(args)
	if err != nil {
		return nil, err
	}
	select {
	default:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return l.q.Query(query, dargs)
}

func ctxStmtExec(ctx context.Context, si driver.Stmt, args []driver.NamedValue) (driver.Result, error) {
	if s, ok := si.(driver.StmtExecContext); ok {
		return s.ExecContext(ctx, args)
	}
	dargs, err := namedValueToValue(args)
	if err != nil {
		return nil, err
	}
	select {
	default:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return si.Exec(dargs) //nolint:staticcheck // the fallback database/sql itself uses
}

func ctxStmtQuery(ctx context.Context, si driver.Stmt, args []driver.NamedValue) (driver.Rows, error) {
	if s, ok := si.(driver.StmtQueryContext); ok {
		return s.QueryContext(ctx, args)
	}
	dargs, err := namedValueToValue(args)
	if err != nil {
		return nil, err
	}
	select {
	default:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return si.Query(dargs) //nolint:staticcheck // see ctxStmtExec
}

func ctxBegin(ctx context.Context, ci driver.Conn, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := ci.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	if opts.Isolation != driver.IsolationLevel(0) {
		return nil, errIsolation
	}
	if opts.ReadOnly {
		return nil, errReadOnlyTxns
	}
	if ctx.Done() == nil {
		return ci.Begin() //nolint:staticcheck // see fastPaths
	}
	txi, err := ci.Begin() //nolint:staticcheck // see fastPaths
	if err == nil {
		select {
		default:
		case <-ctx.Done():
			txi.Rollback()
			return nil, ctx.Err()
		}
	}
	return txi, err
}

func namedValueToValue(named []driver.NamedValue) ([]driver.Value, error) {
	dargs := make([]driver.Value, len(named))
	for n, param := range named {
		if len(param.Name) > 0 {
			return nil, errNamedParams
		}
		dargs[n] = param.Value
	}
	return dargs, nil
}
