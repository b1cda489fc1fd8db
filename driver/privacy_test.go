package driver_test

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"github.com/sqltel/sqltel/connector"
	sqltel "github.com/sqltel/sqltel/driver"
	"github.com/sqltel/sqltel/flags"
	"github.com/sqltel/sqltel/internal/faultcollector"
	"github.com/sqltel/sqltel/telemetry"
)

// Distinctive values the privacy tests put in statements, arguments, DSNs
// and errors. None may reach the collector or a log line.
const (
	privToken       = "tok-SECRET-123"
	privPassword    = "DSN-PASSWORD-5150"
	privLiteral     = "LITERAL-STRING-8812"
	privNumber      = "424242"
	privArg         = "ARG-VALUE-98127"
	privArgNumber   = 737373
	privErrLiteral  = "ERRMSG-LITERAL-6160"
	privTable       = "zz_secret_table"
	privNormalizedQ = "select id, name, n from zz_secret_table where name = ? or name = ?"
)

// privLogs is a goroutine-safe slog sink at debug level.
type privLogs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *privLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *privLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *privLogs) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func privNoEnv(string) string { return "" }

// dialect adapts the privacy workload to a database.
type dialect struct {
	name string
	ph   func(i int) string // placeholder i (1-based)
	// serial is the column type of an auto-increment key.
	serial string
	// badSQL is a failing statement whose error message quotes %s.
	badSQL string
}

var (
	sqliteDialect   = dialect{"sqlite", func(int) string { return "?" }, "integer primary key", "select 1 'a' '%s'"}
	mysqlDialect    = dialect{"mysql", func(int) string { return "?" }, "integer primary key auto_increment", "select 1 'a' '%s'"}
	postgresDialect = dialect{"postgres", func(i int) string { return fmt.Sprintf("$%d", i) }, "serial primary key", "select '%s'::int"}
)

// privacyWorkload runs statements full of distinctive literals and
// arguments, some of them failing, and returns the texts of the errors the
// driver gave (which do quote some of them).
func privacyWorkload(t *testing.T, db *sql.DB, d dialect) []string {
	t.Helper()
	ctx := context.Background()
	var errs []string
	run := func(q string, args ...any) {
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			errs = append(errs, err.Error())
		}
	}
	run("drop table if exists " + privTable)
	run(fmt.Sprintf("create table %s (id %s, name varchar(64) unique, n integer)", privTable, d.serial))
	run(fmt.Sprintf("insert into %s (name, n) values ('%s', %s)", privTable, privLiteral, privNumber))
	run(fmt.Sprintf("insert into %s (name, n) values (%s, %s)", privTable, d.ph(1), d.ph(2)), privArg, privArgNumber)
	run(fmt.Sprintf("insert into %s (name, n) values ('%s', 1)", privTable, privLiteral)) // unique violation
	rows, err := db.QueryContext(ctx, fmt.Sprintf("select id, name, n from %s where name = '%s' or name = %s", privTable, privLiteral, d.ph(1)), privArg)
	if err != nil {
		t.Fatalf("select: %v", err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	if n != 2 {
		t.Fatalf("select read %d rows, want 2", n)
	}
	st, err := db.PrepareContext(ctx, fmt.Sprintf("select n from %s where name = %s", privTable, d.ph(1)))
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := st.QueryRowContext(ctx, privArg).Scan(&v); err != nil || v != privArgNumber {
		t.Fatalf("prepared select = %d, %v", v, err)
	}
	st.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	tx.ExecContext(ctx, fmt.Sprintf("update %s set n = %s where name = '%s'", privTable, d.ph(1), privLiteral), privArgNumber)
	tx.Rollback()
	// A syntax error whose message quotes a literal.
	_, err = db.ExecContext(ctx, fmt.Sprintf(d.badSQL, privErrLiteral))
	if err == nil || !strings.Contains(err.Error(), privErrLiteral) {
		t.Fatalf("the failing statement's error %v does not quote %s: the test proves nothing", err, privErrLiteral)
	}
	errs = append(errs, err.Error())
	run("drop table " + privTable)
	return errs
}

// secrets returns the values that must never reach the collector nor a
// log; table names only when statement text is off.
func secrets(extra ...string) []string {
	return append([]string{privToken, privPassword, privLiteral, privNumber, privArg, fmt.Sprint(privArgNumber), privErrLiteral}, extra...)
}

// scan reports every secret found in what.
func scan(t *testing.T, where string, what []byte, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if i := bytes.Index(what, []byte(s)); i >= 0 {
			lo, hi := max(0, i-80), min(len(what), i+len(s)+80)
			t.Errorf("%s holds %q: ...%s...", where, s, what[lo:hi])
		}
	}
}

// privacyRun opens inner with dsn through sqltel against fc, runs the
// workload and closes the DB. It returns the connector's final stats.
func privacyRun(t *testing.T, inner driver.Driver, dsn string, d dialect, logs *privLogs) (telemetry.Stats, []string) {
	t.Helper()
	cache := flags.NewCache(flags.WithLogger(logs.logger()), flags.WithFetchTimeout(2*time.Second))
	defer cache.Close()
	c, err := sqltel.NewConnector(inner, dsn, connector.WithFlagCache(cache), connector.WithRegistry(telemetry.NewRegistry()),
		connector.WithEnv(privNoEnv), connector.WithLogger(logs.logger()))
	if err != nil {
		t.Fatalf("NewConnector: %v", err)
	}
	db := sql.OpenDB(c)
	errs := privacyWorkload(t, db, d)
	if err := db.Close(); err != nil {
		t.Errorf("DB.Close: %v", err)
	}
	return c.Stats(), errs
}

func telemetryParams(fc *faultcollector.Collector, extra string) string {
	return "telemetry=on&telemetry_endpoint=" + url.QueryEscape(fc.URL) + "&telemetry_token=" + privToken +
		"&telemetry_flush_interval=100ms&telemetry_shutdown_timeout=2s" + extra
}

// checkCollector scans everything fc received: no secret in any byte but
// the Authorization header, which carries exactly the token.
func checkCollector(t *testing.T, fc *faultcollector.Collector, secrets []string) {
	t.Helper()
	scan(t, "collector's received bytes", fc.Raw(), secrets)
	for i, a := range fc.AuthHeaders() {
		if a != "Bearer "+privToken {
			t.Errorf("request %d: Authorization %q, want the bearer token", i, a)
		}
	}
}

// Nothing but fingerprints leaves by default: no literal, argument, error
// text, table name, DSN password or path reaches the collector, and the
// token travels only in the Authorization header.
func TestPrivacySQLite(t *testing.T) {
	for _, normalized := range []bool{false, true} {
		t.Run(fmt.Sprintf("normalized=%v", normalized), func(t *testing.T) {
			fc := faultcollector.New(faultcollector.Config{FlagEnabled: true})
			defer fc.Close()
			tmp := t.TempDir()
			extra := ""
			if normalized {
				extra = "&telemetry_sql=normalized"
			}
			dsn := "file:" + tmp + "/p.db?_auth_user=admin&_auth_pass=" + privPassword + "&" + telemetryParams(fc, extra)
			logs := &privLogs{}
			st, errs := privacyRun(t, &sqlite.Driver{}, dsn, sqliteDialect, logs)
			if st.Delivered < 10 || st.Delivered != st.Recorded {
				t.Fatalf("stats %+v: the events did not all reach the collector, the scan proves little", st)
			}
			if fc.StoredCount() != int(st.Delivered) {
				t.Errorf("collector stored %d, exporter delivered %d", fc.StoredCount(), st.Delivered)
			}
			if !strings.Contains(strings.Join(errs, "\n"), privTable) {
				t.Errorf("driver errors %q do not name the table: the scan proves less", errs)
			}
			forbidden := secrets(tmp)
			if !normalized {
				forbidden = append(forbidden, privTable)
			}
			checkCollector(t, fc, forbidden)
			scan(t, "logs", []byte(logs.String()), forbidden)
			raw := fc.Raw()
			if got := bytes.Contains(raw, []byte(privTable)); got != normalized {
				t.Errorf("collector got the table name: %v, want %v (telemetry_sql=normalized)", got, normalized)
			}
			if normalized && !bytes.Contains(bytes.ToLower(raw), []byte(privNormalizedQ)) {
				t.Errorf("normalized text %q not received", privNormalizedQ)
			}
		})
	}
}

// The same scan against real servers when CI provides them. The password in
// the DSN must not leave either (PostgreSQL: a password parameter is added
// when the DSN has none; trust authentication ignores it).
func TestPrivacyPostgres(t *testing.T) {
	base := os.Getenv("SQLTEL_TEST_POSTGRES_DSN")
	if base == "" {
		t.Skip("SQLTEL_TEST_POSTGRES_DSN is not set")
	}
	cfg, err := pgconn.ParseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	password := cfg.Password
	dsn := base
	if password == "" {
		password = privPassword
		dsn = addParam(dsn, "password="+privPassword)
	}
	privacyServer(t, stdlib.GetDefaultDriver(), dsn, postgresDialect, password)
}

func TestPrivacyMySQL(t *testing.T) {
	base := os.Getenv("SQLTEL_TEST_MYSQL_DSN")
	if base == "" {
		t.Skip("SQLTEL_TEST_MYSQL_DSN is not set")
	}
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatal(err)
	}
	privacyServer(t, &mysql.MySQLDriver{}, base, mysqlDialect, cfg.Passwd)
}

// addParam appends a query parameter (URL and MySQL forms) or a keyword
// (keyword/value form).
func addParam(dsn, kv string) string {
	switch {
	case strings.Contains(dsn, "://") || strings.Contains(dsn, "@"):
		if strings.Contains(dsn, "?") {
			return dsn + "&" + kv
		}
		return dsn + "?" + kv
	default:
		return dsn + " " + kv
	}
}

func privacyServer(t *testing.T, inner driver.Driver, dsn string, d dialect, password string) {
	fc := faultcollector.New(faultcollector.Config{FlagEnabled: true})
	defer fc.Close()
	params := telemetryParams(fc, "")
	if strings.Contains(dsn, "://") || strings.Contains(dsn, "@") {
		dsn = addParam(dsn, params)
	} else {
		dsn += " " + strings.ReplaceAll(params, "&", " ")
	}
	logs := &privLogs{}
	st, _ := privacyRun(t, inner, dsn, d, logs)
	if st.Delivered < 10 {
		t.Fatalf("stats %+v: too few events delivered", st)
	}
	forbidden := secrets(privTable)
	if password != "" {
		forbidden = append(forbidden, password)
	}
	checkCollector(t, fc, forbidden)
	scan(t, "logs", []byte(logs.String()), forbidden)
}

// Failure paths log and return errors; none of them quotes the token or
// the DSN password.
func TestPrivacyFailurePathsLogNoSecrets(t *testing.T) {
	other := faultcollector.New(faultcollector.Config{FlagEnabled: true})
	defer other.Close()
	for _, tc := range []struct {
		name string
		cfg  faultcollector.Config
	}{
		{"events 401", faultcollector.Config{FlagEnabled: true, Default: faultcollector.Status401}},
		{"events 500", faultcollector.Config{FlagEnabled: true, Default: faultcollector.Status500}},
		{"events reset", faultcollector.Config{FlagEnabled: true, Default: faultcollector.Reset}},
		{"events malformed", faultcollector.Config{FlagEnabled: true, Default: faultcollector.Malformed}},
		{"events redirect", faultcollector.Config{FlagEnabled: true, Default: faultcollector.Redirect, RedirectTo: other.URL}},
		{"flags 500", faultcollector.Config{FlagsDefault: faultcollector.Status500}},
		{"flags 401", faultcollector.Config{FlagsDefault: faultcollector.Status401}},
		{"flags malformed", faultcollector.Config{FlagsDefault: faultcollector.Malformed}},
		{"flags reset", faultcollector.Config{FlagsDefault: faultcollector.Reset}},
		{"flags redirect", faultcollector.Config{FlagsDefault: faultcollector.Redirect, RedirectTo: other.URL}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := faultcollector.New(tc.cfg)
			defer fc.Close()
			dsn := "file:" + t.TempDir() + "/f.db?_auth_pass=" + privPassword + "&" + telemetryParams(fc, "")
			logs := &privLogs{}
			var exportErrs []string
			var mu sync.Mutex
			cache := flags.NewCache(flags.WithLogger(logs.logger()), flags.WithFetchTimeout(time.Second))
			defer cache.Close()
			c, err := sqltel.NewConnector(&sqlite.Driver{}, dsn, connector.WithFlagCache(cache),
				connector.WithRegistry(telemetry.NewRegistry()), connector.WithEnv(privNoEnv),
				connector.WithLogger(logs.logger()), connector.WithBatchSize(3),
				connector.WithOnError(func(err error) {
					mu.Lock()
					exportErrs = append(exportErrs, err.Error())
					mu.Unlock()
				}))
			if err != nil {
				t.Fatal(err)
			}
			db := sql.OpenDB(c)
			for i := range 10 {
				if _, err := db.Exec("select ?", privArg+fmt.Sprint(i)); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			if logs.String() == "" {
				t.Error("nothing logged on a failure path: the scan proves nothing")
			}
			mu.Lock()
			all := logs.String() + strings.Join(exportErrs, "\n")
			mu.Unlock()
			scan(t, "logs and export errors", []byte(all), []string{privToken, privPassword, privArg})
			if n := len(other.Requests()); n != 0 {
				t.Errorf("the redirect target got %d requests", n)
			}
		})
	}
	for _, a := range other.AuthHeaders() {
		if strings.Contains(a, privToken) {
			t.Error("the token reached another host")
		}
	}
}

var privRegisterOnce sync.Once

// Endpoint rules: https, or http to loopback unless telemetry_insecure=true;
// no user information. A refused endpoint is an sql.Open error that names
// the parameter and quotes neither the token nor the DSN password.
func TestEndpointSchemeRules(t *testing.T) {
	privRegisterOnce.Do(func() { sqltel.Register("sqltel-privacy-sqlite", &sqlite.Driver{}) })
	for _, tc := range []struct {
		endpoint, extra string
		ok              bool
	}{
		{"https://collector.example.com", "", true},
		{"http://127.0.0.1:4318", "", true},
		{"http://127.9.9.9:4318", "", true},
		{"http://localhost:4318", "", true},
		{"http://[::1]:4318", "", true},
		{"http://collector.example.com", "", false},
		{"http://10.0.0.1:4318", "", false},
		{"http://collector.example.com", "&telemetry_insecure=true", true},
		{"http://collector.example.com", "&telemetry_insecure=false", false},
		{"ftp://collector.example.com", "", false},
		{"https://user:" + privPassword + "@collector.example.com", "", false},
		{"//collector.example.com", "", false},
		{"https://", "", false},
	} {
		t.Run(tc.endpoint+tc.extra, func(t *testing.T) { checkEndpointRule(t, tc.endpoint, tc.extra, tc.ok) })
	}
}

func checkEndpointRule(t *testing.T, endpoint, extra string, ok bool) {
	dsn := "file:x.db?_auth_pass=" + privPassword + "&telemetry=on&telemetry_token=" + privToken +
		"&telemetry_endpoint=" + url.QueryEscape(endpoint) + extra
	db, err := sql.Open("sqltel-privacy-sqlite", dsn)
	if db != nil {
		db.Close()
	}
	if ok {
		if err != nil {
			t.Errorf("refused: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatal("accepted")
	}
	if !strings.Contains(err.Error(), "telemetry_endpoint") {
		t.Errorf("error %q does not name the DSN parameter telemetry_endpoint", err)
	}
	scan(t, "sql.Open error", []byte(err.Error()), []string{privToken, privPassword})
}

// Response bodies are read through a limit: a collector streaming hundreds
// of MiB costs the client about a MiB, for flags and for events alike.
func TestHugeResponseBodiesBounded(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     faultcollector.Config
		records bool
	}{
		{"flags", faultcollector.Config{FlagsDefault: faultcollector.HugeBody, FlagEnabled: true}, false},
		{"events", faultcollector.Config{Default: faultcollector.HugeBody, FlagEnabled: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := faultcollector.New(tc.cfg)
			defer fc.Close()
			cache := flags.NewCache(flags.WithFetchTimeout(5*time.Second), flags.WithLogger(slog.New(slog.DiscardHandler)))
			defer cache.Close()
			c, err := sqltel.NewConnector(&sqlite.Driver{}, ":memory:?"+telemetryParams(fc, ""),
				connector.WithFlagCache(cache), connector.WithRegistry(telemetry.NewRegistry()),
				connector.WithEnv(privNoEnv), connector.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			db := sql.OpenDB(c)
			begin := time.Now()
			for i := range 5 {
				if _, err := db.Exec("select ?", i); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			elapsed := time.Since(begin)
			st := c.Stats()
			if (st.Recorded > 0) != tc.records {
				t.Errorf("stats %+v: want telemetry on = %v", st, tc.records)
			}
			if tc.records && (st.Delivered != st.Recorded || st.MalformedResponses == 0) {
				t.Errorf("stats %+v: want every event delivered on a truncated, malformed 2xx", st)
			}
			// 1 MiB read, plus what the loopback socket buffers absorb.
			if sent := fc.HugeBytesSent(); sent > 48<<20 {
				t.Errorf("the server wrote %d MiB before the client hung up", sent>>20)
			}
			if elapsed > 10*time.Second {
				t.Errorf("took %v", elapsed)
			}
			t.Logf("server wrote %.1f MiB of a 256 MiB body; %v", float64(fc.HugeBytesSent())/(1<<20), elapsed)
		})
	}
}
