package driver_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	sqltel "github.com/sqltel/sqltel/driver"
)

// capture is a driver that records the DSN it was asked to open.
type capture struct {
	mu   sync.Mutex
	dsns []string
}

func (c *capture) Open(dsn string) (driver.Conn, error) {
	c.mu.Lock()
	c.dsns = append(c.dsns, dsn)
	c.mu.Unlock()
	return nil, errors.New("capture: not a real driver")
}

func TestInnerDriverSeesStrippedDSN(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://u:p%3F@h:5432/db?sslmode=disable&telemetry=off", "postgres://u:p%3F@h:5432/db?sslmode=disable"},
		{"u:p@tcp(h:3306)/db?telemetry=off&parseTime=true", "u:p@tcp(h:3306)/db?parseTime=true"},
		{"host=h port=5432 telemetry=off dbname=x", "host=h port=5432 dbname=x"},
		{"file:app.db?cache=shared&telemetry=off", "file:app.db?cache=shared"},
		{":memory:", ":memory:"},
	} {
		c := &capture{}
		db := sql.OpenDB(mustConnector(t, c, tc.dsn))
		db.Ping()
		db.Close()
		if len(c.dsns) == 0 || c.dsns[0] != tc.want {
			t.Errorf("%q: inner driver opened %q, want %q", tc.dsn, c.dsns, tc.want)
		}
	}
}

func mustConnector(t *testing.T, d driver.Driver, dsn string) driver.Connector {
	t.Helper()
	c, err := sqltel.NewConnector(d, dsn)
	if err != nil {
		t.Fatalf("NewConnector(%q): %v", dsn, err)
	}
	return c
}

var registerOnce sync.Once

func TestRegisterAndOpenErrors(t *testing.T) {
	registerOnce.Do(func() { sqltel.Register("sqltel-test-sqlite", &sqlite.Driver{}) })
	for _, tc := range []struct{ dsn, wantParam string }{
		{":memory:?telemetry=maybe", "telemetry"},
		{"file:x.db?telemetry_batch_size=abc", "telemetry_batch_size"},
		{"file:x.db?telemetry=on&telemetry_endpoint=http://collector.example.com", "endpoint"},
		{"file:x.db?telemetry_bogus=1", "telemetry_bogus"},
	} {
		_, err := sql.Open("sqltel-test-sqlite", tc.dsn)
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), tc.wantParam) {
			t.Errorf("sql.Open(%q) = %v, want an error naming %s", tc.dsn, err, tc.wantParam)
		}
	}
	db, err := sql.Open("sqltel-test-sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("select 40 + 2").Scan(&n); err != nil || n != 42 {
		t.Fatalf("query through the registered driver: %d, %v", n, err)
	}
	if _, ok := db.Driver().(*sqlite.Driver); !ok {
		t.Errorf("db.Driver() is %T, want the inner driver", db.Driver())
	}
}

// Two DBs opened through the driver package share the process-wide flag
// cache: one flag request for their host, however many connections.
func TestDefaultFlagCacheShared(t *testing.T) {
	var flagReqs atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/flags", func(w http.ResponseWriter, r *http.Request) {
		flagReqs.Add(1)
		w.Write([]byte(`{"flags":{"telemetry_enabled":false},"ttl_seconds":900}`))
	})
	hs := httptest.NewServer(mux)
	defer hs.Close()
	dsn := "file:shared.db?mode=memory&telemetry=on&telemetry_host=shared-cache-test:1&telemetry_endpoint=" + url.QueryEscape(hs.URL)
	t.Setenv("SQLTEL_TELEMETRY", "")
	t.Setenv("DO_NOT_TRACK", "")
	for range 2 {
		db, err := sqltel.Open("sqlite", dsn)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			c, err := db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
		}
		defer db.Close()
	}
	if got := flagReqs.Load(); got != 1 {
		t.Errorf("6 connections over 2 DBs made %d flag requests, want 1", got)
	}
}

// pgx sends unknown DSN keys to the server as runtime parameters, which the
// server rejects: connecting at all proves they were stripped.
func TestPgxGetsNoTelemetryParams(t *testing.T) {
	dsn := os.Getenv("SQLTEL_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("SQLTEL_TEST_POSTGRES_DSN is not set")
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db := sql.OpenDB(mustConnector(t, stdlib.GetDefaultDriver(), dsn+sep+"telemetry=off&telemetry_batch_size=10"))
	defer db.Close()
	if err := db.Ping(); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// ownDriver's connector owns what its connections use (an embedded
// engine's database handle, say): closing it breaks them. Its own Open
// leaves the connector it makes open.
type ownDriver struct{ made []*ownConnector }

type ownConnector struct{ closed atomic.Bool }

type ownConn struct{ c *ownConnector }

func (d *ownDriver) Open(dsn string) (driver.Conn, error) {
	c, _ := d.OpenConnector(dsn)
	return c.Connect(context.Background())
}

func (d *ownDriver) OpenConnector(string) (driver.Connector, error) {
	c := &ownConnector{}
	d.made = append(d.made, c)
	return c, nil
}

func (c *ownConnector) Connect(context.Context) (driver.Conn, error) { return &ownConn{c}, nil }
func (c *ownConnector) Driver() driver.Driver                        { return &ownDriver{} }
func (c *ownConnector) Close() error                                 { c.closed.Store(true); return nil }

var errClosedUnder = errors.New("ownDriver: database closed under the connection")

func (c *ownConn) Prepare(string) (driver.Stmt, error) {
	if c.c.closed.Load() {
		return nil, errClosedUnder
	}
	return nil, errors.New("ownDriver: prepared")
}
func (c *ownConn) Close() error              { return nil }
func (c *ownConn) Begin() (driver.Tx, error) { return nil, errors.New("ownDriver: no transactions") }

// Wrap(d).Open gives a connection that works as d.Open's does: the inner
// connector it connected through stays open. Through sql.OpenDB the
// connector is the pool's, and DB.Close closes the inner one, as it would
// unwrapped.
func TestOpenLeavesInnerConnectorOpen(t *testing.T) {
	d := &ownDriver{}
	conn, err := sqltel.Wrap(d).Open("x?telemetry=off")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Prepare("select 1"); errors.Is(err, errClosedUnder) {
		t.Errorf("Wrap(d).Open: %v (the inner connector was closed)", err)
	}
	c, err := sqltel.NewConnector(d, "x")
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if inner := d.made[len(d.made)-1]; !inner.closed.Load() {
		t.Error("DB.Close left the inner connector open")
	}
}
