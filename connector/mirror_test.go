package connector

import (
	"context"
	"database/sql/driver"
	"testing"
	"time"
)

// Every combination of the mirrored capabilities, on fake inner values made
// for each (mirror_fakes_test.go): the wrapper has exactly the inner value's
// set, and the calls reach the inner value.
func TestMirrorEveryCombination(t *testing.T) {
	ctx := context.Background()
	s := &session{c: &Connector{now: time.Now}}
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
		if w == nil {
			t.Errorf("conn mask %05b: nil driver.Conn", mask)
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
		w := mirrorStmt(&stmt{inner: fakeStmt(mask)})
		_, nvc := w.(driver.NamedValueChecker)
		_, cc := w.(driver.ColumnConverter)
		if nvc != (mask&1 != 0) || cc != (mask&2 != 0) {
			t.Errorf("stmt mask %02b: wrapper has NamedValueChecker=%v ColumnConverter=%v", mask, nvc, cc)
		}
		if cc && w.(driver.ColumnConverter).ColumnConverter(0) != fakeConverter {
			t.Errorf("stmt mask %02b: ColumnConverter not forwarded", mask)
		}
		if w == nil {
			t.Errorf("stmt mask %02b: nil driver.Stmt", mask)
		}
	}
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
