package sqlfp

import (
	"strconv"
	"strings"
	"testing"
)

func FuzzFingerprint(f *testing.F) {
	for _, q := range fingerprintCorpus {
		if len(q) <= 256 { // long seeds make the fuzzer's minimisation crawl
			f.Add(q)
		}
	}
	f.Fuzz(func(t *testing.T, q string) {
		fp := Fingerprint(q)
		if Fingerprint(q) != fp {
			t.Fatalf("Fingerprint(%q) is not deterministic", q)
		}
		if fp == 0 {
			t.Fatalf("Fingerprint(%q) = 0", q)
		}
		checkAgainstReference(t, q)
		Kind(q)
		n := Normalize(q)
		if len(n) > len(q) {
			t.Errorf("Normalize(%q) = %q is longer than its input", q, n)
		}
		if !strings.Contains(q, `"`) && Fingerprint(n) != fp {
			t.Errorf("Fingerprint(Normalize(%q)) != Fingerprint(q)\nnormalized: %q\ncanonical:  %q\nvs:         %q",
				q, n, canonical(n, false), canonical(q, false))
		}
	})
}

// normalizeTemplates are statements with a %s where a string literal's body
// goes (quoted per the form named first) and a %d where a number goes. None of
// them contains a digit or the word "secret" outside those holes.
var normalizeTemplates = []struct {
	quote string // ' or " or $ or E (E'...')
	text  string
}{
	{"'", "SELECT * FROM users WHERE name = '%s' AND age > %d"},
	{"'", "INSERT INTO t (a, b) VALUES ('%s', %d), (-%d, '%s')"},
	{"'", "UPDATE t SET a = '%s' WHERE id IN (%d, %d) -- done"},
	{"'", "select x from t where a like '%s' or b = -%d.%d"},
	{"E", "SELECT E'%s', %de%d FROM t"},
	{"\"", "SELECT * FROM t WHERE s = \"%s\" AND n = 0x%d"},
	{"$", "SELECT $body$%s$body$, %d"},
	{"'", "SELECT N'%s', X'%d', f(%d, '%s')"},
	{"'", "SELECT `dir\\` FROM t # don't\nWHERE a = '%s' AND b = %d"},
	{"'", "/* a /* b */ it's */ SELECT [Bob's], ARRAY[[%d, '%s']] FROM #t WHERE c BETWEEN -%d AND '%s'"},
}

func FuzzNormalize(f *testing.F) {
	f.Add(uint8(0), "hunter2", int64(12345))
	f.Add(uint8(1), "it's", int64(-1))
	f.Add(uint8(2), `back\slash\`, int64(0))
	f.Add(uint8(3), "'' OR 1=1 --", int64(999999))
	f.Add(uint8(4), "\\'", int64(7))
	f.Add(uint8(5), `a"b`, int64(42))
	f.Add(uint8(6), "x$y", int64(3))
	f.Add(uint8(7), "\x00\xff", int64(1<<62))
	f.Fuzz(func(t *testing.T, which uint8, body string, num int64) {
		tmpl := normalizeTemplates[int(which)%len(normalizeTemplates)]
		var lit string
		switch tmpl.quote {
		case "'", "E":
			lit = strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace("SECRET" + body)
		case "\"":
			lit = strings.NewReplacer(`\`, `\\`, `"`, `""`).Replace("SECRET" + body)
		case "$":
			if strings.Contains(body, "$body$") || strings.HasSuffix(body, "$body") {
				t.Skip("body would close the dollar quote")
			}
			lit = "SECRET" + body
		}
		if num < 0 {
			num = -(num + 1) // keep the sign in the template
		}
		digits := strconv.FormatInt(num, 10)
		q := strings.NewReplacer("%s", lit, "%d", digits).Replace(tmpl.text)
		got := Normalize(q)
		if strings.Contains(strings.ToLower(got), "secret") {
			t.Errorf("Normalize(%q) = %q: the string literal survived", q, got)
		}
		if strings.ContainsAny(got, "0123456789") {
			t.Errorf("Normalize(%q) = %q: a number survived", q, got)
		}
	})
}
