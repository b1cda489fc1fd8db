package driver_test

import (
	"context"
	"database/sql/driver"
	"testing"

	sqltel "github.com/sqltel/sqltel/driver"
)

// nopDriver opens one connection that does nothing, so that the benchmarks
// below measure sqltel and not a driver.
type nopDriver struct{ c nopConn }

func (d *nopDriver) Open(string) (driver.Conn, error) { return &d.c, nil }

type nopConn struct{}

func (*nopConn) Prepare(string) (driver.Stmt, error) { return nil, driver.ErrSkip }
func (*nopConn) Close() error                        { return nil }
func (*nopConn) Begin() (driver.Tx, error)           { return nil, driver.ErrSkip }

// BenchmarkNewConnector measures parsing and stripping a DSN that carries
// sqltel's parameters, and building the connector: paid once per sql.Open.
func BenchmarkNewConnector(b *testing.B) {
	const dsn = "postgres://app@db.example.com:5432/shop?sslmode=disable" +
		"&telemetry=on&telemetry_endpoint=https%3A%2F%2Ftelemetry.example.com&telemetry_batch_size=500"
	d := &nopDriver{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sqltel.NewConnector(d, dsn); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConnectDefaultDSN measures Connect through a connector built
// from a DSN without telemetry parameters (telemetry off), against the inner
// driver's Open: the default must add nothing, and returns the inner conn.
func BenchmarkConnectDefaultDSN(b *testing.B) {
	d := &nopDriver{}
	ctx := context.Background()
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.Open("file::memory:"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("off", func(b *testing.B) {
		c, err := sqltel.NewConnector(d, "file::memory:")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			cn, err := c.Connect(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if cn != driver.Conn(&d.c) {
				b.Fatal("Connect wrapped the conn with telemetry off")
			}
		}
	})
}
