package sqlfp

import "strings"

// Normalize returns query in canonical form for display: comments removed,
// each run of whitespace (or comment) between two tokens replaced by one
// space, words lower-cased, and every literal and placeholder replaced by
// '?', with lists of them collapsed to "(?)" (see the package
// documentation). Unlike Fingerprint it also replaces "double-quoted" text
// by '?': MySQL reads it as a string unless ANSI_QUOTES is set, and the
// privacy of the values matters more than PostgreSQL identifiers that happen
// to be quoted. `Backtick` and [bracketed] identifiers are kept.
//
// The result holds no literal of the input, and for a query without
// double quotes Fingerprint(Normalize(q)) == Fingerprint(q).
//
// One limitation is inherent in reading SQL without knowing the dialect:
// backslash is taken as an escape inside quotes (as in MySQL), so a
// PostgreSQL string ending in a backslash ('C:\') is read as running on to
// the next quote, and the text in between is treated as part of the literal
// while the text after that next quote is treated as SQL.
func Normalize(query string) string {
	n := newNormalizer(query, true)
	var b strings.Builder
	b.Grow(len(query)) // the canonical text is never longer than the input
	for {
		t := n.next()
		if t.kind == tokEOF {
			break
		}
		if t.space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		switch t.kind {
		case tokWord:
			for _, c := range []byte(query[t.start:t.end]) {
				b.WriteByte(lower[c])
			}
		case tokValue, tokDQuoted:
			b.WriteByte('?')
		case tokList:
			b.WriteString("(?)")
		default: // tokQuoted, tokPunct
			b.WriteString(query[t.start:t.end])
		}
	}
	return b.String()
}
