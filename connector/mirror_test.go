package connector

import (
	"context"
	"database/sql/driver"
	"testing"
)

// Every combination of the mirrored capabilities, on fake inner values made
// for each (mirror_fakes_test.go): the wrapper has exactly the inner value's
// set, and the calls reach the inner value.
func TestMirrorEveryCombination(t *testing.T) {
	ctx := context.Background()
	s := &session{c: &Connector{}}
	connHas := []func(any) bool{
		func(w any) bool { _, ok := w.(driver.NamedValueChecker); return ok },
		func(w any) bool { _, ok := w.(driver.SessionResetter); return ok },
		func(w any) bool { _, ok := w.(driver.Validator); return ok },
		func(w any) bool { _, ok := w.(driver.ExecerContext); return ok },
		func(w any) bool { _, ok := w.(driver.QueryerContext); return ok },
	}
	for mask := uint(0); mask < 1<<len(connHas); mask++ {
		cw := &conn{inner: fakeConn(mask), s: s}
		cw.execer, cw.queryer = fastPaths(cw.inner)
		w := mirrorConn(cw)
		for bit, has := range connHas {
			if has(w) != (mask&(1<<bit) != 0) {
				t.Errorf("conn mask %05b: capability %d present = %v", mask, bit, has(w))
			}
		}
		if x, ok := w.(driver.NamedValueChecker); ok && x.CheckNamedValue(nil) != errFromFake {
			t.Errorf("conn mask %05b: CheckNamedValue not forwarded", mask)
		}
		if x, ok := w.(driver.SessionResetter); ok && x.ResetSession(ctx) != errFromFake {
			t.Errorf("conn mask %05b: ResetSession not forwarded", mask)
		}
		if x, ok := w.(driver.Validator); ok && x.IsValid() {
			t.Errorf("conn mask %05b: IsValid not forwarded", mask)
		}
		if x, ok := w.(driver.ExecerContext); ok {
			if _, err := x.ExecContext(ctx, "x", nil); err != errFromFake {
				t.Errorf("conn mask %05b: ExecContext not forwarded: %v", mask, err)
			}
		}
		if x, ok := w.(driver.QueryerContext); ok {
			if _, err := x.QueryContext(ctx, "x", nil); err != errFromFake {
				t.Errorf("conn mask %05b: QueryContext not forwarded: %v", mask, err)
			}
		}
	}
	for mask := uint(0); mask < 4; mask++ {
		w := mirrorStmt(stmt{inner: fakeStmt(mask)})
		// One allocation: the stmt travels inside the struct that adds
		// the capabilities, not behind a pointer from it.
		if n := testing.AllocsPerRun(10, func() { mirrorStmt(stmt{inner: fakeStmt(mask)}) }); n > 1 {
			t.Errorf("stmt mask %02b: mirrorStmt allocates %.0f times, want 1", mask, n)
		}
		if u, ok := w.(interface{ Unwrap() driver.Stmt }); !ok || u.Unwrap() != fakeStmt(mask) {
			t.Errorf("stmt mask %02b: Unwrap does not give the inner stmt", mask)
		}
		_, nvc := w.(driver.NamedValueChecker)
		_, cc := w.(driver.ColumnConverter)
		if nvc != (mask&1 != 0) || cc != (mask&2 != 0) {
			t.Errorf("stmt mask %02b: wrapper has NamedValueChecker=%v ColumnConverter=%v", mask, nvc, cc)
		}
		if cc && w.(driver.ColumnConverter).ColumnConverter(0) != fakeConverter {
			t.Errorf("stmt mask %02b: ColumnConverter not forwarded", mask)
		}
		if nvc && w.(driver.NamedValueChecker).CheckNamedValue(nil) != errFromFake {
			t.Errorf("stmt mask %02b: CheckNamedValue not forwarded", mask)
		}
	}
}

// The fast paths' other forms: the fakes above have the context form of
// Execer and the deprecated form of Queryer; these have the reverse, and
// each is forwarded as ExecerContext or QueryerContext all the same.
func TestMirrorOtherFastPathForms(t *testing.T) {
	ctx := context.Background()
	s := &session{c: &Connector{}}
	for _, inner := range []driver.Conn{
		struct {
			baseConn
			execOld
		}{},
		struct {
			baseConn
			queryCtx
		}{},
	} {
		cw := &conn{inner: inner, s: s}
		cw.execer, cw.queryer = fastPaths(inner)
		w := mirrorConn(cw)
		_, isExecer := inner.(driver.Execer)
		x, hasExec := w.(driver.ExecerContext)
		y, hasQuery := w.(driver.QueryerContext)
		if hasExec != isExecer || hasQuery == isExecer {
			t.Fatalf("%T: wrapper has ExecerContext=%v QueryerContext=%v", inner, hasExec, hasQuery)
		}
		var err error
		if hasExec {
			_, err = x.ExecContext(ctx, "x", nil)
		} else {
			_, err = y.QueryContext(ctx, "x", nil)
		}
		if err != errFromFake {
			t.Errorf("%T: call not forwarded: %v", inner, err)
		}
	}
}

type execOld struct{}

func (execOld) Exec(string, []driver.Value) (driver.Result, error) { return nil, errFromFake }

type queryCtx struct{}

func (queryCtx) QueryContext(context.Context, string, []driver.NamedValue) (driver.Rows, error) {
	return nil, errFromFake
}

var (
	errFromFake   = driver.ErrRemoveArgument
	fakeConverter = driver.Int32
)

type baseConn struct{}

func (baseConn) Prepare(string) (driver.Stmt, error) { return nil, nil }
func (baseConn) Close() error                        { return nil }
func (baseConn) Begin() (driver.Tx, error)           { return nil, nil }

type nvcImpl struct{}

func (nvcImpl) CheckNamedValue(*driver.NamedValue) error { return errFromFake }

type srImpl struct{}

func (srImpl) ResetSession(context.Context) error { return errFromFake }

type valImpl struct{}

func (valImpl) IsValid() bool { return false }

type execImpl struct{}

func (execImpl) ExecContext(context.Context, string, []driver.NamedValue) (driver.Result, error) {
	return nil, errFromFake
}

// queryImpl has only the deprecated form: it counts as a fast path too.
type queryImpl struct{}

func (queryImpl) Query(string, []driver.Value) (driver.Rows, error) { return nil, errFromFake }

type baseStmt struct{}

func (baseStmt) Close() error                               { return nil }
func (baseStmt) NumInput() int                              { return 0 }
func (baseStmt) Exec([]driver.Value) (driver.Result, error) { return nil, nil }
func (baseStmt) Query([]driver.Value) (driver.Rows, error)  { return nil, nil }

type ccImpl struct{}

func (ccImpl) ColumnConverter(int) driver.ValueConverter { return fakeConverter }

// The adapter over a deprecated Execer checks the context as database/sql
// does before calling the driver.
func TestLegacyExecerChecksContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (legacyExecer{execOld{}}).ExecContext(ctx, "x", nil); err != context.Canceled {
		t.Errorf("ExecContext with a cancelled context = %v, want context.Canceled before the driver's %v", err, errFromFake)
	}
	if _, err := (legacyExecer{execOld{}}).ExecContext(context.Background(), "x", nil); err != errFromFake {
		t.Errorf("ExecContext = %v, want the driver's answer", err)
	}
}
