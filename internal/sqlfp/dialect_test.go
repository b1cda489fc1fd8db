package sqlfp

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sqltel/sqltel/telemetry"
)

// checkNoLeak fails if Normalize(q) holds any of secrets, and checks that
// Fingerprint agrees with the reference and that Fingerprint(Normalize(q))
// == Fingerprint(q).
func checkNoLeak(t *testing.T, q string, secrets ...string) {
	t.Helper()
	got := Normalize(q)
	for _, s := range secrets {
		if strings.Contains(got, s) {
			t.Errorf("Normalize(%q) = %q: %q survived", q, got, s)
		}
	}
	checkAgainstReference(t, q)
	if !strings.Contains(q, `"`) && Fingerprint(got) != Fingerprint(q) {
		t.Errorf("Fingerprint(Normalize(%q)) != Fingerprint(q)\nnormalized: %q\ncanonical:  %q\nvs:         %q",
			q, got, canonical(got, false), canonical(q, false))
	}
}

// checkCanonical compares q's canonical tokens (Fingerprint's view) with
// want, joined by spaces.
func checkCanonical(t *testing.T, q, want string) {
	t.Helper()
	if diff := cmp.Diff(want, strings.Join(canonical(q, false), " ")); diff != "" {
		t.Errorf("canonical(%q) mismatch (-want +got):\n%s", q, diff)
	}
	checkAgainstReference(t, q)
}

// MySQL knows no escape in a `backtick` identifier but a doubled backtick,
// and an unterminated one (a typo, still recorded) must not carry the rest
// of the statement out verbatim.
func TestNormalizeBacktick(t *testing.T) {
	for _, q := range []string{
		"SELECT `name FROM users WHERE password = 'hunter2' AND pin = 4242",
		"SELECT `dir\\` FROM t WHERE password = 'hunter2' AND pin = 4242",
		"SELECT `a``b\\` FROM t WHERE password = 'hunter2' AND pin = 4242",
	} {
		checkNoLeak(t, q, "hunter2", "4242")
	}
	checkCanonical(t, "SELECT `dir\\`, `a``b` FROM t WHERE x = 'y'", "select `dir\\` , `a``b` from t where x = ?")
	checkCanonical(t, "SELECT `name FROM t", "select ?")
}

// MySQL's '#' comment runs to the end of the line; an apostrophe in it read
// as SQL opened a string that shifted every quote after it.
func TestNormalizeHashComment(t *testing.T) {
	for _, q := range []string{
		"SELECT * FROM users # don't log this\nWHERE email = 'alice@example.com'",
		"SELECT * FROM users #don't log this\nWHERE email = 'alice@example.com'",
		"SELECT * FROM users ## don't\nWHERE email = 'alice@example.com'",
		"SELECT * FROM users #-- don't\nWHERE email = 'alice@example.com'",
		"SELECT * FROM users #été, don't\nWHERE email = 'alice@example.com'",
		"SELECT * FROM users #it`s\nWHERE email = 'alice@example.com'",
		"SELECT * FROM users WHERE email = 'alice@example.com' #'",
	} {
		checkNoLeak(t, q, "alice", "example")
	}
	checkNoLeak(t, "SELECT 1 # see `notes\nFROM t WHERE pw = 'hunter2'", "hunter2")
	for _, q := range []string{
		"SELECT a FROM t #TODO don't forget the index\nWHERE b = 'secret1' AND c = 'x'",
		"SELECT a FROM t #note: it's slow\nWHERE b = 'secret1'",
		"UPDATE t SET a = 1 #fixme Bob's rows\nWHERE name = 'secret1' AND k = 'v'",
	} {
		checkNoLeak(t, q, "secret1")
	}
	// What '#' begins in PostgreSQL and SQL Server keeps its shape.
	for _, tt := range []struct{ query, want string }{
		{"SELECT a #> '{x}', a #>> '{y}', a #- '{z}', a #-1 FROM t", "select a # > ? , a # > > ? , a # - ? , a # - ? from t"},
		{"SELECT * INTO #tmp FROM ##Global_1 JOIN #t2 ON true", "select * into #tmp from ##global_1 join #t2 on ?"},
		{"SELECT a FROM #null, #true", "select a from #null , #true"},
		// A temporary table's name stands only where a table can; elsewhere
		// '#' and a word is a comment ("#TODO don't").
		{"SELECT #null, #true FROM t", "select"},
		{"DROP TABLE IF EXISTS #t; INSERT #t VALUES (1); DELETE #t", "drop table if exists #t ; insert #t values (?) ; delete #t"},
		{"SELECT #e'x'\nFROM t", "select from t"},
		{"SELECT a # b\nFROM t", "select a from t"},
		{"SELECT 1 #", "select ?"},
	} {
		checkCanonical(t, tt.query, tt.want)
	}
}

func TestKindHashComment(t *testing.T) {
	for _, q := range []string{
		"# nightly report\nSELECT count(*) FROM orders",
		"#\nSELECT 1",
	} {
		if got := Kind(q); got != telemetry.KindSelect {
			t.Errorf("Kind(%q) = %v, want SELECT", q, got)
		}
	}
}

// PostgreSQL block comments nest; ending one at the first "*/" read the
// rest of it as SQL.
func TestNormalizeNestedComment(t *testing.T) {
	q := "/* outer /* inner */ it's */ SELECT * FROM t WHERE p = 'hunter2'"
	checkNoLeak(t, q, "hunter2")
	if got := Kind(q); got != telemetry.KindSelect {
		t.Errorf("Kind(%q) = %v, want SELECT", q, got)
	}
	checkCanonical(t, "SELECT /* a /* b /* c */ */ */ x /*/ d */ FROM t", "select x from t")
	checkCanonical(t, "SELECT x /* a /* b */ FROM t", "select x")
}

// SQL Server and SQLite [bracketed] identifiers may hold an apostrophe,
// which read as a string's start shifted every quote after it.
func TestNormalizeBracketIdentifier(t *testing.T) {
	for _, q := range []string{
		"SELECT [Customer's Name] FROM t WHERE ssn = 'hunter2'",
		"SELECT TOP 10 [Customer's Name] FROM [dbo].[t] WHERE ssn = 'hunter2'",
		"SELECT a AS [Customer's Name] FROM t WHERE ssn = 'hunter2'",
		"SELECT [Bob's, Inc] FROM t WHERE ssn = 'hunter2'",
		"SELECT [Customer's Name FROM t WHERE ssn = 'hunter2'",
		// PostgreSQL's nested arrays are not identifiers: their values go.
		"SELECT ARRAY[[4242, 'hunter2'], ['hunter2', 4242]]",
		"SELECT ARRAY[ [4242], [a || 'hunter2'] ], ARRAY [[true]], ARRAY[[date '4242-01-01']]",
		"SELECT ARRAY[[E'hunter2\\'s']], ARRAY[[x1 + 4242]], ARRAY[[$1, 4242]]",
		"SELECT ARRAY[[4242, 'hunter2]']], ARRAY[['hunter2]']], ARRAY[[E'hunter2]']], ARRAY[[a || 'x]hunter2']]",
		"SELECT ARRAY[[a, 4242]] FROM t WHERE x = [[4242",
		// Right after a keyword, '[' opens a name, not a subscript.
		"SELECT * FROM[Bob's table] WHERE a = 'hunter2'",
		"SELECT x AS[Customer's name], 'hunter2' FROM t",
	} {
		checkNoLeak(t, q, "hunter2", "4242", "true")
	}
	// A comment inside brackets: one value, so that the normalized text
	// (the comment dropped) fingerprints as the original.
	for _, q := range []string{
		"SELECT a FROM t WHERE [a /* 1 */ b] = 1",
		"SELECT [a -- 2\n b] FROM t",
		"SELECT [x /* `y` */] FROM t",
		"SELECT [x # y] FROM t",
	} {
		if n := Normalize(q); Fingerprint(n) != Fingerprint(q) {
			t.Errorf("Fingerprint(Normalize(%q)) != Fingerprint(q); normalized %q", q, n)
		}
	}
	for _, tt := range []struct{ query, want string }{
		{"SELECT [Customer's Name], [a-b] FROM [dbo].[T 1]", "select [Customer's Name] , [a-b] from [dbo] . [ t ? ]"},
		{"SELECT a[1], a [1], ARRAY[[1, 2], [3]], x::int[]", "select a [ ? ] , a [ ? ] , array [ [ ? , ? ] , [ ? ] ] , x :: int [ ]"},
		{"SELECT ARRAY[[a]], ARRAY[[b], [c]]", "select array [ [a] ] , array [ [b] , [c] ]"},
	} {
		checkCanonical(t, tt.query, tt.want)
	}
}

// The statement after a WITH clause may be parenthesised.
func TestKindWithParenthesisedBody(t *testing.T) {
	for _, tt := range []struct {
		query string
		want  telemetry.Kind
	}{
		{"WITH a AS (SELECT 1 AS x) (SELECT x FROM a ORDER BY x LIMIT 1) UNION ALL (SELECT 2)", telemetry.KindSelect},
		{"WITH a AS (SELECT 1) (SELECT * FROM a)", telemetry.KindSelect},
		{"WITH a(x) AS (SELECT 1), b AS MATERIALIZED (SELECT 2) ((SELECT * FROM a))", telemetry.KindSelect},
		{"WITH a AS (SELECT 1) (WITH b AS (SELECT 2) (DELETE FROM t))", telemetry.KindDelete},
		{"WITH a AS (SELECT 1) (1)", telemetry.KindOther},
		{"WITH a AS (SELECT 1) (", telemetry.KindOther},
	} {
		if got := Kind(tt.query); got != tt.want {
			t.Errorf("Kind(%q) = %v, want %v", tt.query, got, tt.want)
		}
	}
}

// After a keyword that must be followed by an expression, '-' is a sign, so
// a statement's fingerprint does not depend on the signs of its literals.
func TestFingerprintUnarySignAfterKeyword(t *testing.T) {
	for _, p := range [][2]string{
		{"SELECT * FROM geo WHERE lat BETWEEN -33.9 AND -33.8 AND lng BETWEEN 151.1 AND 151.3",
			"SELECT * FROM geo WHERE lat BETWEEN 40.7 AND 40.8 AND lng BETWEEN -74.1 AND -73.9"},
		{"SELECT CASE WHEN a > 0 THEN 1 ELSE -1 END FROM t", "SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END FROM t"},
		{"SELECT CASE x WHEN -1 THEN -2 END FROM t", "SELECT CASE x WHEN 1 THEN 2 END FROM t"},
		{"SELECT -1", "SELECT 1"},
		{"SELECT * FROM t WHERE -1 < a OR -2 > b LIMIT -1", "SELECT * FROM t WHERE 1 < a OR 2 > b LIMIT 1"},
		{"SELECT a FROM t GROUP BY a HAVING -1 < count(*)", "SELECT a FROM t GROUP BY a HAVING 1 < count(*)"},
	} {
		if Fingerprint(p[0]) != Fingerprint(p[1]) {
			t.Errorf("different fingerprints for statements differing only in literals:\n%q -> %q\n%q -> %q",
				p[0], Normalize(p[0]), p[1], Normalize(p[1]))
		}
		checkNoLeak(t, p[0])
		checkNoLeak(t, p[1])
	}
	// A name is still an operand.
	checkCanonical(t, "SELECT a -1, t.x - 1, selected -1", "select a - ? , t . x - ? , selected - ?")
}

// Each '[' scans at most to the next '[' or ']', so no input makes the
// lexer quadratic: a megabyte of brackets takes milliseconds, where one scan
// to the end per bracket would take hours.
func TestBracketScanLinear(t *testing.T) {
	for _, unit := range []string{"[", "[a's ", "[a, 'x' ", "[1]]", "`[", "x [a's, b'"} {
		q := strings.Repeat(unit, 1<<20/len(unit))
		start := time.Now()
		Fingerprint(q)
		Normalize(q)
		Kind(q)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%d bytes of %q took %v", len(q), unit, d)
		}
	}
}
