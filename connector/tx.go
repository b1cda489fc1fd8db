package connector

import (
	"database/sql/driver"

	"github.com/sqltel/sqltel/telemetry"
)

var _ driver.Tx = (*tx)(nil)

// tx wraps a transaction of a recording connection to report its end.
type tx struct {
	inner driver.Tx
	c     *conn
}

// Unwrap returns the driver's own transaction.
func (t *tx) Unwrap() driver.Tx { return t.inner }

// Commit implements driver.Tx.
func (t *tx) Commit() error { return t.end(telemetry.OpCommit, t.inner.Commit) }

// Rollback implements driver.Tx.
func (t *tx) Rollback() error { return t.end(telemetry.OpRollback, t.inner.Rollback) }

func (t *tx) end(op telemetry.Op, f func() error) error {
	c := t.c
	start := c.s.now()
	err := f()
	c.inTx = false
	c.s.record(op, "", stmtID{}, start, nil, err, true)
	return err
}
