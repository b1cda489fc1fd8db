package connector

import (
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
	"strings"

	"github.com/sqltel/sqltel/telemetry"
)

// category maps an error to the fixed set of categories that may leave the
// process. It reads the error's type, code and SQLSTATE; the message is
// looked at only as a last resort, locally, and never recorded.
func category(err error) telemetry.ErrCategory {
	switch {
	case err == nil:
		return telemetry.ErrNone
	case errors.Is(err, context.Canceled):
		return telemetry.ErrCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return telemetry.ErrDeadline
	case errors.Is(err, driver.ErrBadConn):
		return telemetry.ErrBadConn
	}
	if state := sqlState(err); len(state) == 5 {
		switch {
		case state == "57014": // query_canceled (PostgreSQL's statement_timeout and pg_cancel_backend)
			return telemetry.ErrCanceled
		case strings.HasPrefix(state, "23"): // integrity constraint violation
			return telemetry.ErrConstraint
		case strings.HasPrefix(state, "42"): // syntax error or access rule violation
			return telemetry.ErrSyntax
		case strings.HasPrefix(state, "08"): // connection exception
			return telemetry.ErrBadConn
		}
	}
	// errors.AsType rather than As: As's target would escape to the heap,
	// an allocation for every failed statement.
	if coder, ok := errors.AsType[interface {
		error
		Code() int
	}](err); ok {
		// SQLite's primary result codes are the low byte of the extended code.
		switch coder.Code() & 0xff {
		case 19: // SQLITE_CONSTRAINT
			return telemetry.ErrConstraint
		case 1: // SQLITE_ERROR: syntax and schema errors
			if strings.Contains(err.Error(), "syntax error") || strings.Contains(err.Error(), "no such ") {
				return telemetry.ErrSyntax
			}
		}
	}
	return telemetry.ErrOther
}

// sqlState finds a five-character SQLSTATE in the error chain: through a
// SQLState() string method (pgx, lib/pq) or an exported SQLState field of
// type string or [5]byte (go-sql-driver/mysql), so no driver is imported.
func sqlState(err error) string {
	if st, ok := errors.AsType[interface {
		error
		SQLState() string
	}](err); ok {
		return st.SQLState()
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		v := reflect.ValueOf(e)
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				break
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			continue
		}
		f := v.FieldByName("SQLState")
		switch {
		case !f.IsValid():
		case f.Kind() == reflect.String:
			return f.String()
		case f.Kind() == reflect.Array && f.Len() == 5 && f.Type().Elem().Kind() == reflect.Uint8:
			var b [5]byte
			reflect.Copy(reflect.ValueOf(&b).Elem(), f)
			return string(b[:])
		}
	}
	return ""
}
