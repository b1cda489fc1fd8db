package sqlfp

import (
	"math/bits"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// canonical returns the canonical tokens of q as the normalizer produces
// them, rendered as the package documentation describes. It is the slow,
// obviously correct path that Fingerprint's inline lexing must agree with.
func canonical(q string, dquoteValue bool) []string {
	n := newNormalizer(q, dquoteValue)
	var toks []string
	for {
		t := n.next()
		switch t.kind {
		case tokEOF:
			return toks
		case tokWord:
			toks = append(toks, asciiLower(q[t.start:t.end]))
		case tokValue:
			toks = append(toks, "?")
		case tokDQuoted:
			if dquoteValue {
				toks = append(toks, "?")
			} else {
				toks = append(toks, q[t.start:t.end])
			}
		case tokList:
			toks = append(toks, "(?)")
		default:
			toks = append(toks, q[t.start:t.end])
		}
	}
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// refHash is the hash documented in hash.go, written for clarity.
func refHash(tokens []string) uint64 {
	h := uint64(0x27d4eb2f165667c5)
	for _, tok := range tokens {
		for len(tok) > 0 {
			n := min(len(tok), 7)
			var w uint64
			for i := n - 1; i >= 0; i-- {
				w = w<<8 | uint64(tok[i])
			}
			w |= uint64(n) << 56
			if n == len(tok) {
				w |= 0x80 << 56
			}
			h = bits.RotateLeft64(h^(w*0xc2b2ae3d27d4eb4f), 31) * 0x9e3779b185ebca87
			tok = tok[n:]
		}
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	if h == 0 {
		h = 1
	}
	return h
}

// checkAgainstReference fails if Fingerprint's inline lexing disagrees with
// the normalizer's token stream and the reference hash.
func checkAgainstReference(t *testing.T, q string) {
	t.Helper()
	if got, want := Fingerprint(q), refHash(canonical(q, false)); got != want {
		t.Errorf("Fingerprint(%q) = %#x, reference %#x over %q", q, got, want, canonical(q, false))
	}
}

// fingerprintCorpus holds statements that exercise every lexer path; the
// tests and the fuzz seeds share it.
var fingerprintCorpus = []string{
	"", " ", "SELECT 1", stmt50, stmt200, stmt2000,
	"select * from users where id = $1",
	"SELECT * FROM Users WHERE ID = ?",
	"select * from users where id = :id and name = @name or x = @@session.sql_mode",
	"SELECT 'it''s', 'a\\'b', E'\\n', N'x', X'ff', B'01', U&'\\0041', u&\"x\"",
	"SELECT $$body$$, $tag$ a $$ b $tag$, $1, $ab",
	"SELECT 1, -1, +1, - 1, 1.5, .5, 1e10, 1.5E-3, 0x1F, 0b101, 0o17, 1_000",
	"SELECT a-1, a - -1, (-1), f(-1.5), x[1:2], a::int, b := 1",
	"SELECT TRUE, FALSE, NULL WHERE a IS NULL AND b IS NOT NULL AND c IS TRUE",
	"SELECT * FROM t WHERE id IN (1, 2, 3) AND x IN (?,?) AND y IN ($1) AND z IN ('a', \"b\")",
	"SELECT * FROM t WHERE (a, b) IN ((1, 2), (3, 4))",
	"INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z') RETURNING id",
	"INSERT INTO t VALUES (1), (a), (2)",
	"INSERT INTO t VALUES(1)",
	"SELECT \"Weird\"\"Name\", `back``tick` FROM \"T\"",
	"SELECT 1 -- trailing comment",
	"SELECT /* unterminated",
	"SELECT 'unterminated",
	"SELECT \"unterminated",
	"SELECT `unterminated",
	"SELECT $q$unterminated",
	"SELECT e'", "SELECT u&", "SELECT x", "e", "-", "--", "/*", "$", ":", "@", "'", "\"", "(", "(1", "(1,", "(?",
	"SELECT\x00\x01\xff\xfe FROM \xc3\x28",
	"SÉLECT naïve FROM café",
	"select abcdefgh, abcdefghijklmnop, ABCDEFGHIJKLMNOPQRSTUVWXYZ from t",
	"a.b.c, t.*, 1.x, x.1, 1..2",
	"SELECT * FROM t WHERE a @> '{1}' AND b ? 'k' AND c #> '{a}' AND d ~ 'x'",
	"SELECT ((((1))))",
	"SELECT\n\t1\r\n,\f2\v",
	"SELECT `a\\`, `b``c`, `d FROM t # it's\nWHERE x = 1 #\n#-- y\n",
	"/* a /* b */ it's */ SELECT 1 /*/ x */, /* /* unterminated */",
	"SELECT [a's b], [c], a[1], a [2], ARRAY[[1, 'x'], [y]], [d's, e], [f FROM #t, ##g JOIN #h'",
	"SELECT a #> '{x}', a #>> '{y}', b #-1, c #- '{z}', #true, d # e\nFROM t",
	"SELECT -1, CASE WHEN -1 THEN -2 ELSE -3 END WHERE a BETWEEN -1 AND +2 OR -.5 HAVING -1 LIMIT -1",
	"WITH a AS (SELECT 1) (SELECT 2)", "WITH a AS (SELECT 1) (WITH b AS (SELECT 2) (DELETE FROM t))",
	"#", "##", "#-", "[", "[]", "`", "``", "/*/", "/* /* */",
}

func TestFingerprintMatchesReference(t *testing.T) {
	for _, q := range fingerprintCorpus {
		checkAgainstReference(t, q)
	}
}

// TestFingerprintGolden pins the algorithm: these values must never change,
// because fingerprints recorded by old versions are compared with new ones.
func TestFingerprintGolden(t *testing.T) {
	tests := []struct {
		query string
		want  uint64
	}{
		{"", 0x9353dfc8a195f3e2},
		{"SELECT 1", 0x7cc2fa41dc8dc318},
		{"SELECT -1", 0x7cc2fa41dc8dc318}, // a sign after a keyword is the literal's
		{"select * from users where id = $1", 0x07f720cfd18cab15},
		{"INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')", 0xf45d361a8891160d},
	}
	for _, tt := range tests {
		if got := Fingerprint(tt.query); got != tt.want {
			t.Errorf("Fingerprint(%q) = %#x, want %#x", tt.query, got, tt.want)
		}
	}
}

func TestFingerprintSame(t *testing.T) {
	groups := [][]string{
		{ // literals, whitespace, case, comments, placeholder style
			"SELECT * FROM users WHERE id = 1",
			"select * from users where id = 42",
			"SELECT  *\n\tFROM users   WHERE id=-7",
			"/* app=api */ SELECT * FROM users WHERE id = $1 -- route /users",
			"SELECT * FROM users WHERE id = ?",
			"SELECT * FROM users WHERE id = :id",
			"SELECT * FROM users WHERE id = @p1",
			"SELECT * FROM USERS WHERE ID = 0x2A",
			"SELECT * FROM users WHERE id = '42'",
			"SELECT * FROM users WHERE id = E'4\\'2'",
			"SELECT * FROM users WHERE id = $$42$$",
			"SELECT * FROM users WHERE id = 4.2e1",
			"SELECT * FROM users WHERE id = TRUE",
			"SELECT * FROM users WHERE id = NULL",
			"SELECT*FROM users WHERE id=/**/1",
		},
		{ // IN lists of any length and kind of value
			"SELECT a FROM t WHERE b IN (1, 2, 3)",
			"SELECT a FROM t WHERE b IN (?,?)",
			"SELECT a FROM t WHERE b IN ($1)",
			"SELECT a FROM t WHERE b IN ( 'x' , 'y' )",
			"SELECT a FROM t WHERE b IN (-1, 2.5, NULL, :x)",
			"select a from t where b in (1 /* one */, 2)",
		},
		{ // multi-row inserts of any row count
			"INSERT INTO t (a, b) VALUES (1, 2)",
			"INSERT INTO t (a, b) VALUES (1, 2), (3, 4), (5, 6)",
			"INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)",
			"insert into t (a, b) values (?, ?),(?, ?)",
		},
		{ // IS NULL is structure; the same with extra spacing and comments
			"SELECT a FROM t WHERE b IS NULL",
			"select a from t where b is /* x */ null",
		},
	}
	for _, g := range groups {
		want := Fingerprint(g[0])
		for _, q := range g[1:] {
			if got := Fingerprint(q); got != want {
				t.Errorf("Fingerprint(%q) = %#x, want %#x as for %q\ncanonical: %q\nvs:        %q",
					q, got, want, g[0], canonical(q, false), canonical(g[0], false))
			}
			checkAgainstReference(t, q)
		}
	}
}

func TestFingerprintDifferent(t *testing.T) {
	queries := []string{
		"SELECT * FROM users WHERE id = 1",
		"SELECT * FROM orders WHERE id = 1",
		"SELECT * FROM users WHERE uid = 1",
		"SELECT id FROM users WHERE id = 1",
		"SELECT * FROM users WHERE id > 1",
		"SELECT * FROM users WHERE id IS NULL",
		"SELECT * FROM users WHERE id IS NOT NULL",
		"SELECT * FROM \"Users\" WHERE id = 1",
		"SELECT * FROM \"users\" WHERE id = 1",
		"SELECT * FROM `users` WHERE id = 1",
		"SELECT * FROM users WHERE id = 1 AND a = 2",
		"SELECT * FROM users WHERE id IN (1, a)",
		"SELECT * FROM users WHERE id IN (SELECT 1)",
		"SELECT * FROM users WHERE id = (1)",
		"DELETE FROM users WHERE id = 1",
		"SELECT * FROM users WHERE id = 1 LIMIT 1",
		"SELECT * FROM users WHERE id = a.b",
		"SELECT * FROM users WHERE id = ab",
		"SELECT * FROM users_archive WHERE id = 1",
		"SELECT * FROM usersarchive WHERE id = 1",
		"SELECT * FROM users archive WHERE id = 1",
		"SELECT a, b FROM t",
		"SELECT ab FROM t",
		"SELECT a.b FROM t",
		"SELECT abcdefg FROM t",
		"SELECT abcdefgh FROM t",
		"SELECT abcdefg h FROM t",
		"SELECT ",
		"",
	}
	seen := map[uint64]string{}
	for _, q := range queries {
		fp := Fingerprint(q)
		if prev, ok := seen[fp]; ok {
			t.Errorf("Fingerprint(%q) == Fingerprint(%q) = %#x", q, prev, fp)
		}
		seen[fp] = q
	}
}

func TestFingerprintDoesNotAllocate(t *testing.T) {
	for _, q := range fingerprintCorpus {
		if n := testing.AllocsPerRun(10, func() { Fingerprint(q) }); n != 0 {
			t.Errorf("Fingerprint(%q) allocates %v times", q, n)
		}
	}
}

func TestCanonicalForm(t *testing.T) {
	tests := []struct {
		query string
		want  string
	}{
		{"SELECT a-1, a - -1, (-1), f(-1.5)", "select a - ? , a - ? , (?) , f (?)"},
		{"x::int, :name, @p1, @@global.x, $1, ?", "x :: int , ? , ? , @@global.x , ? , ?"},
		{"a IS NULL, a IS NOT NULL, a = NULL, a IS TRUE", "a is null , a is not null , a = ? , a is ?"},
		{"VALUES (1,2), (3,4), (a), (5)", "values (?) , ( a ) , (?)"},
		{"IN (1, (2))", "in ( ? , (?) )"},
		{"f()", "f ( )"},
		{"E'x' e 'y' u&'z' U&\"w\"", "? e ? ? U&\"w\""},
		{"1abc 0xfg 1e 1e+ 1e+5", "? abc ? g ? e ? e + ?"},
	}
	for _, tt := range tests {
		got := strings.Join(canonical(tt.query, false), " ")
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("canonical(%q) mismatch (-want +got):\n%s", tt.query, diff)
		}
		checkAgainstReference(t, tt.query)
	}
}
