package driver

import (
	"net/url"
	"strings"
	"testing"
)

// queryBases are DSNs in the query forms, split where sqltel's parameters
// go: prefix, then "?" and query when query is not empty.
var queryBases = []struct{ prefix, query string }{
	{"postgres://u:p@h:5432/db", "sslmode=disable"},
	{"postgres://u:p?x&y=z@h/db", ""},
	{"postgresql://h1,h2:5433/db", "a=1&&b=%20c"},
	{"mysql://u:p@h/db", ""},
	{"u:p@tcp(h:3306)/db", "parseTime=true&loc=Local"},
	{"u:p?a@b&c=d/e@unix(/tmp/mysql.sock)/db", "tls=skip-verify"},
	{"u:p@/db", ""},
	{"file:app.db", "cache=shared&mode=rwc"},
	{"file::memory:", ""},
	{"/var/data/app.db", "_pragma=busy_timeout(5000)"},
}

// keywordValueBases are libpq keyword/value DSNs.
var keywordValueBases = []string{
	"host=h port=5432 user=u",
	"  host=h\tpassword='a b\\'c'\n  dbname=d  ",
	"host = h",
}

func FuzzStripDSN(f *testing.F) {
	for i := range len(queryBases) + len(keywordValueBases) {
		f.Add("postgres://h/db?telemetry=on", uint8(i), uint8(i*7), "tok")
	}
	f.Add("host=h telemetry='x", uint8(0), uint8(0), "a b'c\\")
	f.Add("u:p@tcp(h)/db?telemetry_endpoint=http://x/y", uint8(3), uint8(255), "%zz&=?")
	f.Add("telemetry_token= password=secret", uint8(11), uint8(1), "/@:")
	f.Fuzz(func(t *testing.T, dsn string, which, where uint8, token string) {
		// Any input: no panic, and the host key never fails.
		if inner, _, err := parseDSN(dsn); err == nil {
			hostKey(inner)
		}
		hostKey(dsn)

		// Constructed input: removing what was inserted gives the base back
		// byte for byte, and the inserted values are read back.
		// A token goes into a header: visible ASCII only (see paramSpecs).
		validToken := token != "" && !strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r >= 0x7f })
		var base, withParams string
		if n := int(which) % (len(queryBases) + len(keywordValueBases)); n < len(queryBases) {
			b := queryBases[n]
			base = b.prefix
			var segs []string
			if b.query != "" {
				base += "?" + b.query
				segs = strings.Split(b.query, "&")
			}
			esc := strings.ReplaceAll(url.QueryEscape(token), "+", "%20")
			params := []string{"telemetry=on", "telemetry_token=" + esc, "telemetry_sql=normalized"}[:1+int(where)%3]
			for i, p := range params {
				at := (int(where)/3 + i*5) % (len(segs) + 1)
				segs = append(segs[:at], append([]string{p}, segs[at:]...)...)
			}
			withParams = b.prefix + "?" + strings.Join(segs, "&")
		} else {
			base = keywordValueBases[n-len(queryBases)]
			toks := scanKeywordValue(base)
			quoted := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(token) + "'"
			params := []string{"telemetry=on", "telemetry_token=" + quoted, "telemetry_sql=normalized"}[:1+int(where)%3]
			ins := make([][]string, len(toks)+1) // ins[k]: pairs inserted after the k-th pair
			for i, p := range params {
				at := (int(where)/3 + i*5) % (len(toks) + 1)
				ins[at] = append(ins[at], p)
			}
			var b strings.Builder
			b.WriteString(base[:toks[0].start])
			for _, p := range ins[0] {
				b.WriteString(p + " ")
			}
			for k, tok := range toks {
				b.WriteString(base[tok.start:tok.end])
				for _, p := range ins[k+1] {
					b.WriteString(" " + p)
				}
				next := len(base)
				if k+1 < len(toks) {
					next = toks[k+1].start
				}
				b.WriteString(base[tok.end:next])
			}
			withParams = b.String()
		}
		inner, p, err := parseDSN(withParams)
		hasToken := strings.Contains(withParams, "telemetry_token=")
		if hasToken && !validToken {
			if err == nil {
				t.Fatalf("parseDSN(%q) accepted token %q", withParams, token)
			}
			return
		}
		if err != nil {
			t.Fatalf("parseDSN(%q): %v", withParams, err)
		}
		if inner != base {
			t.Fatalf("parseDSN(%q) = %q, want the base %q", withParams, inner, base)
		}
		if hasToken && p.token != token {
			t.Fatalf("parseDSN(%q) token = %q, want %q", withParams, p.token, token)
		}
		if p.mode != "on" {
			t.Fatalf("parseDSN(%q) mode = %q, want on", withParams, p.mode)
		}
		if hostKey(inner) != hostKey(base) {
			t.Fatalf("hostKey changed")
		}
	})
}
