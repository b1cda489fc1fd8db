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

// ctxExec answers driver.ErrSkip when the inner conn has neither execer, which
// sends database/sql down its prepare path exactly as with the raw conn.
func ctxExec(ctx context.Context, ci driver.Conn, query string, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := ci.(driver.ExecerContext); ok {
		return e.ExecContext(ctx, query, args)
	}
	e, ok := ci.(driver.Execer) //nolint:staticcheck // the deprecated form is what some drivers have
	if !ok {
		return nil, driver.ErrSkip
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
	return e.Exec(query, dargs)
}

func ctxQuery(ctx context.Context, ci driver.Conn, query string, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := ci.(driver.QueryerContext); ok {
		return q.QueryContext(ctx, query, args)
	}
	q, ok := ci.(driver.Queryer) //nolint:staticcheck // see ctxExec
	if !ok {
		return nil, driver.ErrSkip
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
	return q.Query(query, dargs)
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
		return ci.Begin() //nolint:staticcheck // see ctxExec
	}
	txi, err := ci.Begin() //nolint:staticcheck // see ctxExec
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
