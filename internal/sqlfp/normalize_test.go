package sqlfp

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		query string
		want  string
	}{
		{"", ""},
		{"  -- nothing\n /* here */ ", ""},
		{"SELECT 1", "select ?"},
		{"  SELECT\n\t*   FROM Users  WHERE id=$1  ", "select * from users where id=?"},
		{"SELECT a/*x*/FROM t", "select a from t"},
		{"select 'it''s', E'a\\'b', $tag$x$tag$, X'ff', N'n', 0x1F, 1.5e3, -2", "select ?, ?, ?, ?, ?, ?, ?, ?"},
		{"WHERE a = -2 AND b = TRUE AND c IS NULL AND d IS NOT NULL AND e = NULL", "where a = ? and b = ? and c is null and d is not null and e = ?"},
		{"WHERE id IN (1, 2, 3) AND x IN ( ?, ? ) AND y IN ('a','b')", "where id in (?) and x in (?) and y in (?)"},
		{"INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')", "insert into t (a, b) values (?)"},
		{`SELECT "col" FROM "Tab" WHERE s = "mysql string"`, "select ? from ? where s = ?"},
		{"SELECT `Col` FROM `Tab`", "select `Col` from `Tab`"},
		{"x::int, :name, @p1, @@GLOBAL.x, ?", "x::int, ?, ?, @@global.x, ?"},
		{"SELECT 'unterminated", "select ?"},
		{"SELECT /* unterminated", "select"},
	}
	for _, tt := range tests {
		got := Normalize(tt.query)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Normalize(%q) mismatch (-want +got):\n%s", tt.query, diff)
		}
	}
}

// TestNormalizeKeepsFingerprint checks Fingerprint(Normalize(q)) ==
// Fingerprint(q) for every corpus statement without double quotes (which
// Normalize turns into '?' while Fingerprint keeps them as names).
func TestNormalizeKeepsFingerprint(t *testing.T) {
	for _, q := range fingerprintCorpus {
		if strings.Contains(q, `"`) {
			continue
		}
		n := Normalize(q)
		if Fingerprint(n) != Fingerprint(q) {
			t.Errorf("Fingerprint(Normalize(%q)) != Fingerprint(q)\nnormalized: %q\ncanonical:  %q\nvs:         %q",
				q, n, canonical(n, false), canonical(q, false))
		}
	}
}

func TestNormalizeHidesLiterals(t *testing.T) {
	for _, q := range []string{
		"SELECT * FROM t WHERE a = 'SECRET' AND b = E'SECRET\\'' AND c = $x$SECRET$x$",
		"SELECT * FROM t WHERE a = \"SECRET\" AND b = N'SECRET' AND c = U&'SECRET'",
		"INSERT INTO t VALUES ('SECRET', 1), ('x', 'SECRET')",
		"SELECT * FROM t WHERE a IN ('x', 'SECRET', \"SECRET\")",
		"SELECT 'SECRET", `SELECT "SECRET`,
	} {
		if got := Normalize(q); strings.Contains(got, "SECRET") || strings.Contains(got, "secret") {
			t.Errorf("Normalize(%q) = %q, which holds a literal", q, got)
		}
	}
	for _, q := range []string{
		"SELECT 12345, -12345, 123.45, 1e45, 0x12345, X'12345', B'101', .12345",
		"UPDATE t SET a = 12345 WHERE b IN (12345, 67890) LIMIT 5",
	} {
		if got := Normalize(q); strings.ContainsAny(got, "0123456789") {
			t.Errorf("Normalize(%q) = %q, which holds a number", q, got)
		}
	}
}
