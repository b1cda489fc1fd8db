package connector

import (
	"database/sql/driver"
	"io"
	"reflect"
	"time"

	"github.com/sqltel/sqltel/telemetry"
)

var (
	_ driver.Rows                           = (*rows)(nil)
	_ driver.RowsNextResultSet              = (*rows)(nil)
	_ driver.RowsColumnTypeScanType         = (*rows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*rows)(nil)
	_ driver.RowsColumnTypeLength           = (*rows)(nil)
	_ driver.RowsColumnTypeNullable         = (*rows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*rows)(nil)
)

// rows wraps a result set to count its rows and report the query when it is
// closed. It exposes every optional Rows interface: each one's fallback below
// is exactly what database/sql does when the interface is missing
// (rowsColumnInfoSetupConnLocked and Rows.NextResultSet), so ColumnTypes and
// NextResultSet answer the same wrapped or raw.
type rows struct {
	inner   driver.Rows
	c       *conn
	query   string
	id      stmtID
	start   time.Time
	latency time.Duration
	n       int64
	err     error
	op      telemetry.Op
	closed  bool
}

// newRows wraps ri, or returns it as it is when the connection does not
// record: the wrapper adds nothing database/sql would notice.
func newRows(ri driver.Rows, c *conn, op telemetry.Op, query string, id stmtID, start time.Time) driver.Rows {
	if !c.s.recording() {
		return ri
	}
	r := &c.spare
	if c.spareBusy {
		r = new(rows)
	} else {
		c.spareBusy = true
	}
	*r = rows{inner: ri, c: c, op: op, query: query, id: id, start: start, latency: c.s.c.since(start)}
	return r
}

// Unwrap returns the driver's own rows.
func (r *rows) Unwrap() driver.Rows { return r.inner }

// Columns implements driver.Rows.
func (r *rows) Columns() []string { return r.inner.Columns() }

// Next implements driver.Rows.
func (r *rows) Next(dest []driver.Value) error {
	err := r.inner.Next(dest)
	switch err {
	case nil:
		r.n++
	case io.EOF:
	default:
		if r.err == nil {
			r.err = err
		}
	}
	return err
}

// Close implements driver.Rows and records the query with the number of
// rows read, once.
func (r *rows) Close() error {
	err := r.inner.Close()
	if r.closed {
		return err
	}
	r.closed = true
	c := r.c
	rerr := r.err
	if rerr == nil {
		rerr = err
	}
	c.s.recordRows(r, c.s.c.since(r.start), rerr, c.inTx)
	if r == &c.spare {
		c.spareBusy = false
	}
	return err
}

// HasNextResultSet implements driver.RowsNextResultSet.
func (r *rows) HasNextResultSet() bool {
	if x, ok := r.inner.(driver.RowsNextResultSet); ok {
		return x.HasNextResultSet()
	}
	return false
}

// NextResultSet implements driver.RowsNextResultSet.
func (r *rows) NextResultSet() error {
	x, ok := r.inner.(driver.RowsNextResultSet)
	if !ok {
		return io.EOF
	}
	// A later statement of a multi-statement query fails here (MySQL's
	// multiStatements): the query failed, whatever the driver's Close says.
	err := x.NextResultSet()
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return err
}

var anyType = reflect.TypeFor[any]()

// ColumnTypeScanType implements driver.RowsColumnTypeScanType.
func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	if x, ok := r.inner.(driver.RowsColumnTypeScanType); ok {
		return x.ColumnTypeScanType(i)
	}
	return anyType
}

// ColumnTypeDatabaseTypeName implements driver.RowsColumnTypeDatabaseTypeName.
func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	if x, ok := r.inner.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return x.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

// ColumnTypeLength implements driver.RowsColumnTypeLength.
func (r *rows) ColumnTypeLength(i int) (int64, bool) {
	if x, ok := r.inner.(driver.RowsColumnTypeLength); ok {
		return x.ColumnTypeLength(i)
	}
	return 0, false
}

// ColumnTypeNullable implements driver.RowsColumnTypeNullable.
func (r *rows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if x, ok := r.inner.(driver.RowsColumnTypeNullable); ok {
		return x.ColumnTypeNullable(i)
	}
	return false, false
}

// ColumnTypePrecisionScale implements driver.RowsColumnTypePrecisionScale.
func (r *rows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if x, ok := r.inner.(driver.RowsColumnTypePrecisionScale); ok {
		return x.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
