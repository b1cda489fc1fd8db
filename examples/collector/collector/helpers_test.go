package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// postgresEnv names the PostgreSQL DSN the store tests also run against.
// When it is set, an unreachable server fails the tests: it never skips them.
const postgresEnv = "SQLTEL_TEST_POSTGRES_DSN"

// dialect is one store the dialect-table tests run against.
type dialect struct {
	name string
	open func(t *testing.T) (*sql.DB, string)
}

// dialects returns SQLite, always, and PostgreSQL when postgresEnv is set.
func dialects(t *testing.T) []dialect {
	t.Helper()
	ds := []dialect{{name: DialectSQLite, open: openSQLite}}
	if os.Getenv(postgresEnv) != "" {
		ds = append(ds, dialect{name: DialectPostgres, open: openPostgres})
	}
	return ds
}

// openSQLite opens a fresh SQLite file in t's temporary directory.
func openSQLite(t *testing.T) (*sql.DB, string) {
	t.Helper()
	db, d, err := Open("file:" + filepath.Join(t.TempDir(), "sqltel.db"))
	if err != nil {
		t.Fatalf("Open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, d
}

// openPostgres opens the database of postgresEnv in a schema of its own,
// dropped at the end of the test, so that runs never see each other's rows
// and reruns start clean.
func openPostgres(t *testing.T) (*sql.DB, string) {
	t.Helper()
	dsn := os.Getenv(postgresEnv)
	admin, d, err := Open(dsn)
	if err != nil {
		t.Fatalf("Open %s: %v", postgresEnv, err)
	}
	if d != DialectPostgres {
		t.Fatalf("%s is not a postgres:// URL: dialect %q", postgresEnv, d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	schema := "sqltel_test_" + randomHex(t, 8)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("%s is set but PostgreSQL is not usable: %v", postgresEnv, err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", postgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown parameters as run-time settings
	u.RawQuery = q.Encode()
	db, _, err := Open(u.String())
	if err != nil {
		t.Fatalf("Open postgres schema: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	return db, d
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newServer returns a Server on a fresh store of d and an httptest server
// serving it, both cleaned up with t. Unset cfg fields keep New's defaults;
// cfg.Enable defaults to "*".
func newServer(t *testing.T, d dialect, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	cfg.DB, cfg.Dialect = d.open(t)
	if cfg.Enable == nil {
		cfg.Enable = []string{"*"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

// newSQLiteServer is newServer on SQLite, for the tests of the HTTP layer.
func newSQLiteServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	return newServer(t, dialect{name: DialectSQLite, open: openSQLite}, cfg)
}

// testWriter sends the collector's logs to t.Log, so they show only for
// failing tests.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

var baseTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// ev returns a valid wire event with id n. Tests mutate the map to make it
// invalid.
func ev(n int, host, fingerprint, op string, latencyUS int64) map[string]any {
	e := map[string]any{
		"id":         fmt.Sprintf("%032x", n),
		"type":       "statement",
		"time":       baseTime.Add(time.Duration(n) * time.Second).Format(time.RFC3339Nano),
		"host":       host,
		"db_system":  "postgresql",
		"conn_id":    fmt.Sprintf("%016x", n%4+1),
		"op":         op,
		"latency_us": latencyUS,
		"in_tx":      false,
	}
	if fingerprint != "" {
		e["fingerprint"] = fingerprint
		e["stmt_kind"] = "SELECT"
		e["rows"] = 1
	}
	return e
}

// batchJSON wraps events in a request envelope.
func batchJSON(t *testing.T, events ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"request_id": "req-1",
		"created_at": baseTime.Format(time.RFC3339Nano),
		"client": map[string]any{
			"name": "sqltel-go", "version": "0.1.0", "session_id": "s", "os": "linux",
			"arch": "amd64", "go_version": "go1.26",
		},
		"events":        events,
		"unknown_field": map[string]any{"ignored": true},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipBytes(t *testing.T, p []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// response is a decoded answer of the collector.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request and reads the whole answer.
func do(t *testing.T, method, url string, body io.Reader, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

var jsonHeader = map[string]string{
	"Content-Type":      "application/json",
	"User-Agent":        "sqltel-go/0.1.0",
	"Sqltel-Request-Id": "req-1",
	"Sqltel-Attempt":    "1",
}

// postEvents posts a JSON batch and returns the decoded 200 answer.
func postEvents(t *testing.T, ts *httptest.Server, body []byte) eventsResponse {
	t.Helper()
	res := do(t, http.MethodPost, ts.URL+"/v1/events", bytes.NewReader(body), jsonHeader)
	if res.status != http.StatusOK {
		t.Fatalf("POST /v1/events: status %d, body %s", res.status, res.body)
	}
	var er eventsResponse
	res.json(t, &er)
	return er
}

// getReport fetches GET /v1/summary with the given query.
func getReport(t *testing.T, ts *httptest.Server, query string) Report {
	t.Helper()
	res := do(t, http.MethodGet, ts.URL+"/v1/summary?"+query, nil, nil)
	if res.status != http.StatusOK {
		t.Fatalf("GET /v1/summary?%s: status %d, body %s", query, res.status, res.body)
	}
	var r Report
	res.json(t, &r)
	return r
}
