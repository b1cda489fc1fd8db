package connector_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"modernc.org/sqlite"

	"github.com/sqltel/sqltel/connector"
	"github.com/sqltel/sqltel/flags"
	"github.com/sqltel/sqltel/telemetry"
)

// nopRecorder drops every event: the benchmarks below measure what the
// wrappers, the fingerprint and the event cost, without an exporter.
var nopRecorder = telemetry.RecorderFunc(func(telemetry.Event) {})

// staticConnector hands out one driver.Conn that does nothing, so that
// Connect benchmarks measure sqltel and not a driver's dial.
type staticConnector struct{ c benchConn }

func (s *staticConnector) Connect(context.Context) (driver.Conn, error) { return &s.c, nil }
func (s *staticConnector) Driver() driver.Driver                        { return nil }

type benchConn struct{}

func (*benchConn) Prepare(string) (driver.Stmt, error) { return nil, driver.ErrSkip }
func (*benchConn) Close() error                        { return nil }
func (*benchConn) Begin() (driver.Tx, error)           { return nil, driver.ErrSkip }

// BenchmarkConnectWarmFlagCache measures Connect and Close of a connection
// in mode on whose host's flag is already cached and enabled: what a pool
// pays for each new recording connection, without the network.
func BenchmarkConnectWarmFlagCache(b *testing.B) {
	fc := flags.NewCache(flags.WithFetcher(func(flags.Endpoint) flags.Fetcher {
		return benchFetcher{}
	}))
	defer fc.Close()
	c, err := connector.New(&staticConnector{},
		connector.WithMode(connector.ModeOn),
		connector.WithEndpoint("http://127.0.0.1:1"),
		connector.WithFlagCache(fc),
		connector.WithRecorder(nopRecorder),
		connector.WithEnv(noEnv),
		connector.WithHost("bench:1"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	connect := func() {
		cn, err := c.Connect(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := cn.(*benchConn); ok {
			b.Fatal("Connect returned the inner conn: the connection does not record")
		}
		cn.Close()
	}
	connect() // warms the flag cache
	b.ReportAllocs()
	for b.Loop() {
		connect()
	}
}

type benchFetcher struct{}

func (benchFetcher) Fetch(context.Context, string) (flags.Answer, error) {
	return flags.Answer{Enabled: true}, nil
}

// benchModes: the raw driver; sqltel recording into nopRecorder; sqltel
// recording into a live exporter that sends to an in-process loopback sink,
// gzipped ("exporter", as to a remote collector) or not ("plain", the
// default to a loopback endpoint).
var benchModes = []string{"raw", "recording", "exporter", "plain"}

// openSQLiteBench opens modernc sqlite in memory on one pooled connection,
// in one of benchModes, with a one-row table t.
func openSQLiteBench(b *testing.B, mode string) *sql.DB {
	b.Helper()
	inner := innerConnector(b, &sqlite.Driver{}, "file::memory:")
	opts := []connector.Option{connector.WithMode(connector.ModeForce), connector.WithEnv(noEnv), connector.WithHost("bench:1")}
	var db *sql.DB
	switch mode {
	case "raw":
		db = sql.OpenDB(inner)
	case "recording":
		opts = append(opts, connector.WithRecorder(nopRecorder))
	case "exporter", "plain":
		opts = append(opts, connector.WithGzip(mode == "exporter"))
		sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, "{}")
		}))
		b.Cleanup(sink.Close)
		opts = append(opts, connector.WithEndpoint(sink.URL), connector.WithRegistry(telemetry.NewRegistry()),
			connector.WithLogger(discardLogger()))
	}
	var c *connector.Connector
	if db == nil {
		var err error
		if c, err = connector.New(inner, opts...); err != nil {
			b.Fatal(err)
		}
		db = sql.OpenDB(c)
	}
	b.Cleanup(func() {
		db.Close()
		// An exporter that fell behind and dropped events would have been
		// measured doing less than its work.
		if c != nil && (mode == "exporter" || mode == "plain") {
			if st := c.Stats(); st.DroppedTotal() != 0 {
				b.Errorf("the exporter dropped %d of %d events (%+v): the figure leaves their cost out", st.DroppedTotal(), st.Recorded, st.Dropped)
			}
		}
	})
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		"CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)",
		"INSERT INTO t (id, v) VALUES (1, 0)",
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// BenchmarkExecRecording measures ExecContext of a one-argument UPDATE on
// sqlite in memory, raw, recording into a no-op recorder (the difference is the
// wrappers, the fingerprint and building the event) and into a live exporter.
func BenchmarkExecRecording(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode, func(b *testing.B) {
			db := openSQLiteBench(b, mode)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := db.ExecContext(ctx, "UPDATE t SET v = v + 1 WHERE id = ?", 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkQueryRowRecording is BenchmarkExecRecording for
// QueryRowContext("SELECT ?") and Scan, whose event is recorded when the
// rows are closed.
func BenchmarkQueryRowRecording(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode, func(b *testing.B) {
			db := openSQLiteBench(b, mode)
			ctx := context.Background()
			var n int64
			b.ReportAllocs()
			for b.Loop() {
				if err := db.QueryRowContext(ctx, "SELECT ?", 1).Scan(&n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTxRecording is BenchmarkExecRecording for BeginTx, an UPDATE
// and Commit: three events.
func BenchmarkTxRecording(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode, func(b *testing.B) {
			db := openSQLiteBench(b, mode)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tx.ExecContext(ctx, "UPDATE t SET v = v + 1 WHERE id = ?", 1); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
