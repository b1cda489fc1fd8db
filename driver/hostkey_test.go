package driver

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHostKey(t *testing.T) {
	tests := []struct {
		dsn, want string
	}{
		// URLs
		{"postgres://u:p@H.Example.COM:5432/db?sslmode=disable", "h.example.com:5432"},
		{"postgres://u:p@h.example.com/db", "h.example.com:5432"},
		{"postgres://u:p@ss@db.example.com/app", "db.example.com:5432"}, // no part of a password with '@'
		{"postgres://u:p@ss@db.example.com:6543/app?x=a@b", "db.example.com:6543"},
		{"postgresql://h", "h:5432"},
		{"postgres://u:p?x@h:6543/db", "h:6543"},
		{"postgres://db.example.com?user=app@tenant&sslmode=disable", "db.example.com:5432"},
		// A password holding '?' and no path: never a host key of user
		// information, even where the text could be a host and port.
		{"postgres://app:se?cret@db", "db:5432"},
		{"mysql://root:pa?ss@db", "db:3306"},
		{"postgres://app:6000?x@db", "db:5432"},
		{"postgres://db.example.com:6000?user=app@tenant", "tenant:5432"},
		{"sqlserver://h?user%20id=a@corp", "h:1433"},
		{"postgres://u:p?x@h:6543?sslmode=disable", "h:6543"},
		{"postgres://u:p%40x@h/db", "h:5432"},
		{"postgres://h1:5433,h2:5434/db", "h1:5433"},
		{"postgres://h1,h2:5434/db", "h1:5432"},
		{"postgres://[::1]:5432/db", "[::1]:5432"},
		{"postgres://[2001:DB8::1]/db", "[2001:db8::1]:5432"},
		{"postgres://127.0.0.1/db", "127.0.0.1:5432"},
		{"postgres:///db", "localhost:5432"},
		{"postgres:///db?host=/var/run/postgresql", "localhost"},
		{"postgres://%2Fvar%2Frun%2Fpostgresql/db", "localhost"},
		{"postgres:///db?host=db.internal&port=6000", "db.internal:6000"},
		{"postgres://h/db?port=6000", "h:6000"},
		{"mysql://u:p@h/db", "h:3306"},
		{"mariadb://h:3307", "h:3307"},
		{"sqlserver://u:p@h?database=x", "h:1433"},
		{"clickhouse://h", "h:9000"},
		{"redis://h", "h"},
		{"redis://[::1]", "[::1]"},
		{"file:///var/data/app.db", "localhost"},
		// keyword/value
		{"host=H port=6000 user=u", "h:6000"},
		{"host=h", "h:5432"},
		{"user=u dbname=d", "localhost:5432"},
		{"host=h1,h2 port=5433,5434", "h1:5433"},
		{"host=/var/run/postgresql port=5433", "localhost"},
		{"hostaddr=10.0.0.1", "10.0.0.1:5432"},
		{"host=::1", "[::1]:5432"},
		{"host='my host' password='a b'", "my host:5432"},
		// MySQL
		{"u:p@tcp(H:3307)/db", "h:3307"},
		{"u:p@tcp(h)/db?tls=true", "h:3306"},
		{"u:p@tcp([::1]:3306)/db", "[::1]:3306"},
		{"u:p@tcp6([fe80::1]:3306)/db", "[fe80::1]:3306"},
		{"u:p@/db", "localhost:3306"},
		{"u:p@tcp/db", "localhost:3306"},
		{"tcp(h:1)/db", "h:1"},
		{"u:p?x@y/z@tcp(h)/db", "h:3306"},
		{"u:p@unix(/tmp/mysql.sock)/db", "localhost"},
		{"u:p@cloudsql(Project:Region:Inst)/db", "project:region:inst"},
		// SQLite and the rest
		{"file:app.db?cache=shared", "localhost"},
		{"file::memory:?cache=shared", "localhost"},
		{":memory:", "localhost"},
		{"app.db", "localhost"},
		{"/var/data/app.db", "localhost"},
		{"data@2024/app.db", "localhost"},
		{"", "localhost"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, hostKey(tt.dsn)); diff != "" {
			t.Errorf("hostKey(%q) mismatch (-want +got):\n%s", tt.dsn, diff)
		}
	}
}

// TestHostKeyDefaultPortExplicit checks that a host with and without its
// database's default port share a key.
func TestHostKeyDefaultPortExplicit(t *testing.T) {
	pairs := [][2]string{
		{"postgres://h/db", "postgres://h:5432/db"},
		{"host=h", "host=h port=5432"},
		{"u@tcp(h)/db", "u@tcp(h:3306)/db"},
		{"mysql://h/db", "mysql://h:3306/db"},
	}
	for _, p := range pairs {
		if a, b := hostKey(p[0]), hostKey(p[1]); a != b {
			t.Errorf("hostKey(%q) = %q, hostKey(%q) = %q", p[0], a, p[1], b)
		}
	}
}
