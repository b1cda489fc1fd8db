package connector

// Unwrap returns the driver's own connection behind a connection sqltel
// wrapped, or c itself when sqltel did not wrap it (telemetry off). It is
// meant for sql.Conn.Raw users who need the driver's concrete type, and is
// safe whatever telemetry decided for the connection:
//
//	err := sqlConn.Raw(func(dc any) error {
//		pc := connector.Unwrap(dc).(*stdlib.Conn)
//		...
//	})
func Unwrap(c any) any {
	if w, ok := c.(interface{ sqltelConn() *conn }); ok {
		return w.sqltelConn().inner
	}
	return c
}

// sqltelConn marks the wrapped connection, whatever mirrorConn embeds it in.
func (c *conn) sqltelConn() *conn { return c }
