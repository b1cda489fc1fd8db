package connector

import (
	"context"
	"database/sql/driver"
	"testing"
)

// Every combination of the mirrored interfaces, on a fake inner conn and
// stmt made for each: the wrapper has exactly the inner value's set, and the
// calls reach the inner value.
func TestMirrorEveryCombination(t *testing.T) {
	for mask := 0; mask < 8; mask++ {
		inner := fakeConn(mask)
		w := mirrorConn(&conn{inner: inner})
		_, nvc := w.(driver.NamedValueChecker)
		_, sr := w.(driver.SessionResetter)
		_, val := w.(driver.Validator)
		if nvc != (mask&1 != 0) || sr != (mask&2 != 0) || val != (mask&4 != 0) {
			t.Errorf("conn mask %03b: wrapper has NamedValueChecker=%v SessionResetter=%v Validator=%v", mask, nvc, sr, val)
		}
		if nvc {
			if err := w.(driver.NamedValueChecker).CheckNamedValue(nil); err != errFromFake {
				t.Errorf("conn mask %03b: CheckNamedValue not forwarded: %v", mask, err)
			}
		}
		if sr {
			if err := w.(driver.SessionResetter).ResetSession(context.Background()); err != errFromFake {
				t.Errorf("conn mask %03b: ResetSession not forwarded: %v", mask, err)
			}
		}
		if val && w.(driver.Validator).IsValid() {
			t.Errorf("conn mask %03b: IsValid not forwarded", mask)
		}
		if _, ok := w.(driver.Conn); !ok {
			t.Errorf("conn mask %03b: not a driver.Conn", mask)
		}
	}
	for mask := 0; mask < 4; mask++ {
		inner := fakeStmt(mask)
		w := mirrorStmt(&stmt{inner: inner})
		_, nvc := w.(driver.NamedValueChecker)
		_, cc := w.(driver.ColumnConverter)
		if nvc != (mask&1 != 0) || cc != (mask&2 != 0) {
			t.Errorf("stmt mask %02b: wrapper has NamedValueChecker=%v ColumnConverter=%v", mask, nvc, cc)
		}
		if cc && w.(driver.ColumnConverter).ColumnConverter(0) != fakeConverter {
			t.Errorf("stmt mask %02b: ColumnConverter not forwarded", mask)
		}
		if _, ok := w.(driver.Stmt); !ok {
			t.Errorf("stmt mask %02b: not a driver.Stmt", mask)
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

type baseStmt struct{}

func (baseStmt) Close() error                               { return nil }
func (baseStmt) NumInput() int                              { return 0 }
func (baseStmt) Exec([]driver.Value) (driver.Result, error) { return nil, nil }
func (baseStmt) Query([]driver.Value) (driver.Rows, error)  { return nil, nil }

type ccImpl struct{}

func (ccImpl) ColumnConverter(int) driver.ValueConverter { return fakeConverter }

func fakeConn(mask int) driver.Conn {
	switch mask {
	case 0:
		return baseConn{}
	case 1:
		return struct {
			baseConn
			nvcImpl
		}{}
	case 2:
		return struct {
			baseConn
			srImpl
		}{}
	case 3:
		return struct {
			baseConn
			nvcImpl
			srImpl
		}{}
	case 4:
		return struct {
			baseConn
			valImpl
		}{}
	case 5:
		return struct {
			baseConn
			nvcImpl
			valImpl
		}{}
	case 6:
		return struct {
			baseConn
			srImpl
			valImpl
		}{}
	default:
		return struct {
			baseConn
			nvcImpl
			srImpl
			valImpl
		}{}
	}
}

func fakeStmt(mask int) driver.Stmt {
	switch mask {
	case 0:
		return baseStmt{}
	case 1:
		return struct {
			baseStmt
			nvcImpl
		}{}
	case 2:
		return struct {
			baseStmt
			ccImpl
		}{}
	default:
		return struct {
			baseStmt
			nvcImpl
			ccImpl
		}{}
	}
}
