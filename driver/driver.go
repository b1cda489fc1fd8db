package driver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net/url"
	"reflect"
	"strings"

	"github.com/sqltel/sqltel/connector"
	"github.com/sqltel/sqltel/telemetry"
)

var (
	_ driver.Driver        = (*wrapped)(nil)
	_ driver.DriverContext = (*wrapped)(nil)
)

// wrapped is a driver.Driver whose connectors are sqltel connectors.
type wrapped struct {
	inner driver.Driver
	opts  []connector.Option
}

// Wrap returns a driver that opens inner's connections through a
// connector.Connector. opts apply to every connector it makes; the DSN's own
// telemetry parameters are applied after them, so a DSN can override what
// the code set.
func Wrap(inner driver.Driver, opts ...connector.Option) driver.Driver {
	return &wrapped{inner: inner, opts: opts}
}

// Register wraps inner and registers it with database/sql under name. Like
// sql.Register it panics if name is already taken or inner is nil.
func Register(name string, inner driver.Driver, opts ...connector.Option) {
	if inner == nil {
		panic("sqltel: Register driver is nil")
	}
	sql.Register(name, Wrap(inner, opts...))
}

// Open opens a database through the driver registered as innerDriverName,
// wrapped, without registering a new name: the sqltel counterpart of
// sql.Open(innerDriverName, dsn).
func Open(innerDriverName, dsn string, opts ...connector.Option) (*sql.DB, error) {
	stripped, _, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	// database/sql does not expose its registry; opening a DB (which does not
	// connect) is the supported way to reach a registered driver.
	probe, err := sql.Open(innerDriverName, stripped)
	if err != nil {
		return nil, err
	}
	inner := probe.Driver()
	probe.Close()
	c, err := NewConnector(inner, dsn, opts...)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

// Unwrap returns the inner driver.
func (d *wrapped) Unwrap() driver.Driver { return d.inner }

// Open implements driver.Driver. database/sql calls OpenConnector instead;
// Open serves code that uses the driver directly.
func (d *wrapped) Open(dsn string) (driver.Conn, error) {
	c, err := newConnector(d.inner, dsn, false, d.opts...)
	if err != nil {
		return nil, err
	}
	conn, err := c.Connect(context.Background())
	// Nobody else can reach this connector to close it: give back its own
	// exporter reference now (the connection keeps its own). The inner
	// connector stays open, as it does when the inner driver's own Open
	// makes one: its connection may depend on it.
	c.Close()
	return conn, err
}

// OpenConnector implements driver.DriverContext with NewConnector.
func (d *wrapped) OpenConnector(dsn string) (driver.Connector, error) {
	return NewConnector(d.inner, dsn, d.opts...)
}

// NewConnector removes sqltel's parameters from dsn, opens inner's connector
// on what is left (inner's OpenConnector when it has one, else a connector
// like database/sql's own) and wraps it, with the host key derived from the
// DSN. An invalid sqltel parameter is an error that names it. Use it with
// sql.OpenDB when the program wants the *connector.Connector, for its Stats.
func NewConnector(inner driver.Driver, dsn string, opts ...connector.Option) (*connector.Connector, error) {
	return newConnector(inner, dsn, true, opts...)
}

// newConnector is NewConnector; closeInner says whether the connector's
// Close closes the inner connector (when it is an io.Closer).
func newConnector(inner driver.Driver, dsn string, closeInner bool, opts ...connector.Option) (*connector.Connector, error) {
	if inner == nil {
		return nil, errors.New("sqltel: the inner driver is nil")
	}
	stripped, p, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	var ic, opened driver.Connector
	if dc, ok := inner.(driver.DriverContext); ok {
		if ic, err = dc.OpenConnector(stripped); err != nil {
			return nil, err
		}
		opened = ic
		if !closeInner {
			ic = unclosable{ic}
		}
	} else {
		ic = dsnConnector{dsn: stripped, drv: inner}
	}
	all := make([]connector.Option, 0, len(opts)+16)
	all = append(all, connector.WithHost(hostKey(stripped)), connector.WithDBSystem(dbSystem(inner, stripped)))
	all = append(all, opts...)
	all = append(all, p.options()...)
	c, err := connector.New(ic, all...)
	if err != nil {
		// Nothing connected through it yet: the inner connector (which may
		// hold an embedded engine's database, and its file lock) goes.
		if cl, ok := opened.(io.Closer); ok {
			cl.Close()
		}
		if errors.Is(err, telemetry.ErrInsecureEndpoint) && p.has(setEndpoint) {
			return nil, &DSNError{Param: "telemetry_endpoint", Reason: "uses http to a host that is not loopback; use https or set telemetry_insecure=true"}
		}
		return nil, err
	}
	return c, nil
}

// unclosable is a connector without its Close: a connector's only optional
// interface is io.Closer, which it hides.
type unclosable struct{ driver.Connector }

// dsnConnector is database/sql's own connector for drivers without
// DriverContext.
type dsnConnector struct {
	dsn string
	drv driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

// dbSystem names the database system for events, from the inner driver's
// package path, or else the DSN's URL scheme.
func dbSystem(inner driver.Driver, dsn string) string {
	t := reflect.TypeOf(inner)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pkg := strings.ToLower(t.PkgPath())
	switch {
	case strings.Contains(pkg, "pgx"), strings.Contains(pkg, "lib/pq"), strings.Contains(pkg, "postgres"):
		return "postgresql"
	case strings.Contains(pkg, "mysql"):
		return "mysql"
	case strings.Contains(pkg, "sqlite"):
		return "sqlite"
	case strings.Contains(pkg, "mssql"), strings.Contains(pkg, "sqlserver"):
		return "mssql"
	}
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.Host != "" {
		switch s := strings.ToLower(u.Scheme); s {
		case "postgres", "postgresql":
			return "postgresql"
		default:
			return s
		}
	}
	return ""
}
