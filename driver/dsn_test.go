package driver

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParseDSNStrips(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		// URLs
		{"url last", "postgres://u:p@h:5432/db?sslmode=disable&telemetry=on", "postgres://u:p@h:5432/db?sslmode=disable"},
		{"url first", "postgres://u:p@h/db?telemetry=on&sslmode=disable", "postgres://u:p@h/db?sslmode=disable"},
		{"url middle", "postgresql://h/db?a=1&telemetry=on&b=2", "postgresql://h/db?a=1&b=2"},
		{"url only", "postgres://u:p@h/db?telemetry=on", "postgres://u:p@h/db"},
		{"url several", "postgres://h/db?telemetry=on&a=1&telemetry_sql=normalized&telemetry_gzip=false", "postgres://h/db?a=1"},
		{"url no path", "postgres://h:5432?telemetry=on", "postgres://h:5432"},
		{"url none", "postgres://u:p@h/db?sslmode=disable", "postgres://u:p@h/db?sslmode=disable"},
		{"url no query", "postgres://u:p@h/db", "postgres://u:p@h/db"},
		{"url password ?&=:", "postgres://u:p?a&b=c:d@h/db?telemetry=on&x=1", "postgres://u:p?a&b=c:d@h/db?x=1"},
		{"url password ? only param", "postgres://u:p?x@h/db?telemetry=on", "postgres://u:p?x@h/db"},
		{"url password encoded", "postgres://u:p%40%2F%3F@h/db?telemetry=on", "postgres://u:p%40%2F%3F@h/db"},
		// No path, and an '@' in the query: net/url's reading (lib/pq,
		// go-mssqldb), where libpq's would see a host "tenant&telemetry=on".
		{"url no path, @ in query", "postgres://db.example.com?user=app@tenant&telemetry=on", "postgres://db.example.com?user=app@tenant"},
		{"url no path, @ in query, last", "sqlserver://h?database=db&user%20id=a@corp&telemetry=on&x=1", "sqlserver://h?database=db&user%20id=a@corp&x=1"},
		{"url password ? no path, query after @", "postgres://u:p?x@h?telemetry=on", "postgres://u:p?x@h"},
		{"url keeps encoding", "postgres://h/db?options=-c%20x%3Dy&telemetry=on&application_name=a+b", "postgres://h/db?options=-c%20x%3Dy&application_name=a+b"},
		{"url keeps empty segments", "postgres://h/db?a=1&&telemetry=on&b", "postgres://h/db?a=1&&b"},
		{"url endpoint with slashes", "postgres://h/db?telemetry_endpoint=https://c.example/v1&a=1", "postgres://h/db?a=1"},
		{"url hash is data", "postgres://h/db?telemetry_token=a#b", "postgres://h/db"},
		{"url multi host", "postgres://u@h1:5432,h2:5433/db?target_session_attrs=any&telemetry=on", "postgres://u@h1:5432,h2:5433/db?target_session_attrs=any"},
		{"mysql url", "mysql://u:p@h:3306/db?telemetry=force", "mysql://u:p@h:3306/db"},
		{"other scheme", "sqlserver://u:p@h:1433?database=db&telemetry=on", "sqlserver://u:p@h:1433?database=db"},
		{"case-insensitive key", "postgres://h/db?Telemetry=on&TELEMETRY_SQL=off", "postgres://h/db"},
		{"not ours", "postgres://h/db?telemetryx=1&xtelemetry=2", "postgres://h/db?telemetryx=1&xtelemetry=2"},
		// keyword/value
		{"kv last", "host=h port=5432 telemetry=on", "host=h port=5432"},
		{"kv first", "telemetry=on host=h port=5432", "host=h port=5432"},
		{"kv middle", "host=h telemetry=on port=5432", "host=h port=5432"},
		{"kv only", "telemetry=on", ""},
		{"kv several", "telemetry=on telemetry_sql=off host=h telemetry_gzip=1\tport=1 telemetry_format=json", "host=h\tport=1"},
		{"kv quoted password", `host=h password='a b\'c telemetry=on' telemetry=on user=u`, `host=h password='a b\'c telemetry=on' user=u`},
		{"kv quoted value", `host=h telemetry_token='x\'z=y' user='a b'`, "host=h user='a b'"},
		{"kv spaces around =", "host = h telemetry = on  port=1", "host = h  port=1"},
		{"kv whitespace kept", "  host=h\n\ttelemetry=on\n  port=1  ", "  host=h\n  port=1  "},
		{"kv unparsable rest", "telemetry=on garbage", "garbage"},
		{"kv unterminated", "host=h telemetry=on password='abc", "host=h password='abc"},
		{"kv none", "host=h password=x?y&z=w", "host=h password=x?y&z=w"},
		// MySQL
		{"mysql last", "u:p@tcp(h:3306)/db?parseTime=true&telemetry=on", "u:p@tcp(h:3306)/db?parseTime=true"},
		{"mysql first", "u:p@tcp(h:3306)/db?telemetry=on&parseTime=true", "u:p@tcp(h:3306)/db?parseTime=true"},
		{"mysql only", "u:p@tcp(h:3306)/db?telemetry=on", "u:p@tcp(h:3306)/db"},
		{"mysql unix", "u:p@unix(/tmp/mysql.sock)/db?telemetry=on&loc=Local", "u:p@unix(/tmp/mysql.sock)/db?loc=Local"},
		{"mysql no net", "u:p@/db?telemetry=on", "u:p@/db"},
		{"mysql password ?@&=/:", "u:p?a@b&c=d/e:f@tcp(h)/db?telemetry=on&tls=true", "u:p?a@b&c=d/e:f@tcp(h)/db?tls=true"},
		{"mysql password ? no params", "u:p?x=y@tcp(h)/db", "u:p?x=y@tcp(h)/db"},
		{"mysql password ? endpoint unescaped", "u:p?x@tcp(h)/db?telemetry_endpoint=https://c/x", "u:p?x@tcp(h)/db"},
		{"mysql endpoint unescaped", "u:p@tcp(h)/db?tls=true&telemetry_endpoint=https://c.example/v1", "u:p@tcp(h)/db?tls=true"},
		{"mysql endpoint escaped", "u:p@tcp(h)/db?telemetry_endpoint=https%3A%2F%2Fc.example&tls=true", "u:p@tcp(h)/db?tls=true"},
		{"mysql no params", "u:p@tcp(h)/db", "u:p@tcp(h)/db"},
		// SQLite and the rest
		{"sqlite file", "file:app.db?cache=shared&telemetry=on", "file:app.db?cache=shared"},
		{"sqlite memory uri", "file::memory:?telemetry=on&cache=shared", "file::memory:?cache=shared"},
		{"sqlite memory", ":memory:", ":memory:"},
		{"sqlite path", "app.db", "app.db"},
		{"sqlite path params", "/var/data/app.db?telemetry=on", "/var/data/app.db"},
		{"sqlite pragma", "file:test.db?_pragma=busy_timeout(5000)&telemetry_sql=normalized", "file:test.db?_pragma=busy_timeout(5000)"},
		{"empty", "", ""},
		{"bare ?", "app.db?", "app.db?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := parseDSN(tt.dsn)
			if err != nil {
				t.Fatalf("parseDSN(%q): %v", tt.dsn, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseDSN(%q) mismatch (-want +got):\n%s", tt.dsn, diff)
			}
		})
	}
}

func TestParseDSNParams(t *testing.T) {
	yes, no := true, false
	_ = no
	tests := []struct {
		dsn  string
		want params
	}{
		{"postgres://h/db", params{}},
		{"postgres://h/db?telemetry=ON", params{set: setMode, mode: "on"}},
		{"postgres://h/db?telemetry=force&telemetry_endpoint=https%3A%2F%2Fc.example%2Fbase&telemetry_token=a%2Bb+c%3D%3D",
			params{set: setMode | setEndpoint | setToken, mode: "force", endpoint: "https://c.example/base", token: "a+b+c=="}},
		{"host=h telemetry_host=DB.Example:5433 telemetry_insecure=true telemetry_gzip=0",
			params{set: setHost | setInsecure | setGzip, host: "db.example:5433", insecure: yes, gzip: false}},
		{"u@tcp(h)/db?telemetry_buffer_size=1000000&telemetry_batch_size=1&telemetry_flush_interval=100ms&telemetry_shutdown_timeout=1ms",
			params{set: setBufferSize | setBatchSize | setFlushInterval | setShutdownTimeout,
				bufferSize: 1_000_000, batchSize: 1, flushInterval: 100 * time.Millisecond, shutdownTimeout: time.Millisecond}},
		{"file:a.db?telemetry_format=NDJSON&telemetry_sql=normalized&telemetry_shutdown_timeout=5m",
			params{set: setFormat | setSQL | setShutdownTimeout, format: "ndjson", sql: "normalized", shutdownTimeout: 5 * time.Minute}},
		{`telemetry_token='x\'z=y' host=h`, params{set: setToken, token: "x'z=y"}},
		{"postgres://h/db?telemetry_endpoint=http://localhost:4318", params{set: setEndpoint, endpoint: "http://localhost:4318"}},
	}
	for _, tt := range tests {
		_, got, err := parseDSN(tt.dsn)
		if err != nil {
			t.Errorf("parseDSN(%q): %v", tt.dsn, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(params{})); diff != "" {
			t.Errorf("parseDSN(%q) params mismatch (-want +got):\n%s", tt.dsn, diff)
		}
		for bit := paramSet(1); bit != 0 && bit <= setGzip; bit <<= 1 {
			if got.has(bit) != (tt.want.set&bit != 0) {
				t.Errorf("parseDSN(%q): has(%#x) = %v", tt.dsn, bit, got.has(bit))
			}
		}
	}
}

func TestParseDSNErrors(t *testing.T) {
	const password = "Sup3rS3cret"
	tests := []struct {
		dsn, param, msg string
	}{
		{"postgres://u:" + password + "@h/db?telemetry_batch_size=abc", "telemetry_batch_size",
			`sqltel: DSN parameter telemetry_batch_size: "abc" is not an integer`},
		{"postgres://u:" + password + "@h/db?telemetry_batch_size=0", "telemetry_batch_size",
			`sqltel: DSN parameter telemetry_batch_size: "0" is out of range [1, 10000]`},
		{"u:" + password + "@tcp(h)/db?telemetry_buffer_size=1000001", "telemetry_buffer_size", ""},
		{"host=h password=" + password + " telemetry=yes", "telemetry",
			`sqltel: DSN parameter telemetry: "yes" is not one of off, on, force`},
		{"postgres://h/db?telemetry_flush_interval=10ms", "telemetry_flush_interval",
			`sqltel: DSN parameter telemetry_flush_interval: "10ms" is out of range [100ms, 1h0m0s]`},
		{"postgres://h/db?telemetry_flush_interval=5", "telemetry_flush_interval", ""},
		{"postgres://h/db?telemetry_shutdown_timeout=6m", "telemetry_shutdown_timeout", ""},
		{"postgres://h/db?telemetry_shutdown_timeout=-1s", "telemetry_shutdown_timeout", ""},
		{"postgres://h/db?telemetry_shutdown_timeout=0s", "telemetry_shutdown_timeout", ""},
		{"postgres://h/db?telemetry_format=xml", "telemetry_format", ""},
		{"postgres://h/db?telemetry_sql=raw", "telemetry_sql", ""},
		{"postgres://h/db?telemetry_gzip=maybe", "telemetry_gzip", ""},
		{"postgres://h/db?telemetry_insecure=", "telemetry_insecure", ""},
		{"postgres://h/db?telemetry_endpoint=ftp://c.example", "telemetry_endpoint", ""},
		{"postgres://h/db?telemetry_endpoint=c.example:4318", "telemetry_endpoint", ""},
		{"postgres://h/db?telemetry_endpoint=/v1", "telemetry_endpoint", ""},
		{"postgres://h/db?telemetry_endpoint=http://", "telemetry_endpoint", ""},
		{"postgres://h/db?telemetry_endpoint=https://u:" + password + "@c.example", "telemetry_endpoint", ""},
		{"postgres://h/db?telemetry_endpoint=https%3A%2F%2Fc.example%2F%3Fk%3Dv", "telemetry_endpoint",
			`sqltel: DSN parameter telemetry_endpoint: the value (not shown: it may hold other DSN text) has a query or a fragment; give the collector's base URL`},
		{"postgres://h/db?telemetry_endpoint=https://c.example/%3F", "telemetry_endpoint", ""},
		{"postgres://h/db?telemetry_endpoint=https://c.example/%23", "telemetry_endpoint",
			`sqltel: DSN parameter telemetry_endpoint: "https://c.example/#" has a query or a fragment; give the collector's base URL`},
		{"postgres://h/db?telemetry_endpoint=https://c.example/%23x", "telemetry_endpoint", ""},
		{"postgres://h/db?telemetry_buffer_size=10&telemetry_batch_size=100", "telemetry_batch_size",
			`sqltel: DSN parameter telemetry_batch_size: 100 is larger than telemetry_buffer_size (10)`},
		{"host=h telemetry_batch_size=100 telemetry_buffer_size=99", "telemetry_batch_size", ""},
		{"postgres://h/db?telemetry_host=", "telemetry_host", ""},
		{"postgres://h/db?telemetry_token=", "telemetry_token", ""},
		{"postgres://h/db?telemetry_token=" + password + "%0A", "telemetry_token", ""},
		{"postgres://h/db?telemetry_token=" + password + "%zz", "telemetry_token", ""},
		{"postgres://h/db?telemetry_token=" + password + "%20x", "telemetry_token",
			"sqltel: DSN parameter telemetry_token: holds a character an HTTP header cannot carry (only visible ASCII, no spaces)"},
		{"postgres://h/db?telemetry_token=" + password + "%C3%A9", "telemetry_token", ""},
		{"postgres://h/db?telemetry_token=" + password + "%7F", "telemetry_token", ""},
		{"postgres://h/db?telemetry_batch_size=%zz", "telemetry_batch_size", ""},
		{"postgres://u:" + password + "@h/db?telemetry_bach_size=1", "telemetry_bach_size", ""},
		{"postgres://h/db?telemetry_=1", "telemetry_", ""},
		{"postgres://h/db?telemetry=on&telemetry=off", "telemetry", "sqltel: DSN parameter telemetry: given more than once"},
		{"postgres://h/db?telemetry=on&Telemetry=on", "telemetry", ""},
		{"host=h telemetry= password=" + password, "telemetry", ""},
		{"telemetry_batch_size=' password=" + password + "'", "telemetry_batch_size", ""},
	}
	for _, tt := range tests {
		_, _, err := parseDSN(tt.dsn)
		var de *DSNError
		if !errors.As(err, &de) {
			t.Errorf("parseDSN(%q) error = %v, want a *DSNError", tt.dsn, err)
			continue
		}
		if de.Param != tt.param {
			t.Errorf("parseDSN(%q) error names %q, want %q", tt.dsn, de.Param, tt.param)
		}
		if tt.msg != "" && err.Error() != tt.msg {
			t.Errorf("parseDSN(%q) error = %q, want %q", tt.dsn, err.Error(), tt.msg)
		}
		if strings.Contains(err.Error(), password) || strings.Contains(de.Reason, password) {
			t.Errorf("parseDSN(%q) error %q holds a secret", tt.dsn, err.Error())
		}
		if !strings.Contains(err.Error(), tt.param) {
			t.Errorf("parseDSN(%q) error %q does not name %s", tt.dsn, err.Error(), tt.param)
		}
	}
}
