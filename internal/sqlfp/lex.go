package sqlfp

import "strings"

// tokKind is the class of a token. The classes are exactly the distinctions
// the canonical form needs: how a token is rendered and whether it can stand
// in a collapsible list.
type tokKind uint8

const (
	tokEOF     tokKind = iota
	tokWord            // keyword or unquoted identifier; rendered lower-case
	tokQuoted          // `backtick` identifier; rendered verbatim
	tokDQuoted         // "double-quoted"; identifier or literal, see normalizer
	tokValue           // literal or placeholder; rendered "?"
	tokPunct           // one byte of punctuation, or "::"; rendered verbatim
	tokList            // collapsed list of values; rendered "(?)"
)

// token is a span of the query. It holds offsets rather than a substring so
// that copying one around costs nothing and nothing escapes.
type token struct {
	start, end int
	kind       tokKind
	space      bool // whitespace or a comment came before it
}

// Byte classes for the lexer's hot loop.
const (
	cOther uint8 = iota
	cSpace
	cIdent // may start a word: letter, '_' or any non-ASCII byte
	cDigit
)

var class = func() (t [256]uint8) {
	for _, c := range " \t\n\r\f\v" {
		t[c] = cSpace
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = cIdent
		t[c-'a'+'A'] = cIdent
	}
	t['_'] = cIdent
	for c := 0x80; c < 0x100; c++ {
		t[c] = cIdent // part of a UTF-8 (or invalid) sequence: treat as a name
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = cDigit
	}
	return t
}()

// lower maps ASCII upper-case letters to lower case and every other byte to
// itself: case folding is ASCII-only so that it is cheap and never depends on
// the validity of the UTF-8.
var lower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = byte(c - 'A' + 'a')
	}
	return t
}()

// isWordByte reports whether c can continue a word. '$' is allowed after the
// first byte as PostgreSQL and MySQL allow it in identifiers.
func isWordByte(c byte) bool { return wordByte[c] }

var wordByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = class[c] == cIdent || class[c] == cDigit || c == '$'
	}
	return t
}()

// lexer splits a query into tokens. It is a small value: the normalizer
// copies it to look ahead and assigns the copy back to rewind.
type lexer struct {
	q   string
	pos int
	// operand is true when the previous token can end an operand, so a
	// following '-' or '+' is a binary operator rather than a number's sign.
	operand bool
	// afterIS is 1 after the word IS and 2 after IS NOT, where NULL is kept
	// as a keyword rather than read as a literal.
	afterIS uint8
}

// next returns the next token, or a tokEOF token at the end of the query.
func (l *lexer) next() token {
	q := l.q
	i := l.pos
	space := false
	for i < len(q) {
		c := q[i]
		if class[c] == cSpace {
			i++
			space = true
			continue
		}
		if c == '-' && i+1 < len(q) && q[i+1] == '-' {
			j := strings.IndexByte(q[i+2:], '\n')
			if j < 0 {
				i = len(q)
			} else {
				i += 2 + j + 1
			}
			space = true
			continue
		}
		if c == '/' && i+1 < len(q) && q[i+1] == '*' {
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				i = len(q)
			} else {
				i += 2 + j + 2
			}
			space = true
			continue
		}
		break
	}
	if i >= len(q) {
		l.pos = len(q)
		return token{start: len(q), end: len(q), kind: tokEOF, space: space}
	}

	t := token{start: i, space: space}
	afterIS := l.afterIS
	l.afterIS = 0
	c := q[i]
	switch class[c] {
	case cIdent:
		t.end, t.kind = l.word(i, afterIS)
	case cDigit:
		t.end, t.kind = scanNumber(q, i), tokValue
	default:
		t.end, t.kind = l.other(i)
	}
	l.pos = t.end
	switch t.kind {
	case tokPunct:
		l.operand = q[t.start] == ')' || q[t.start] == ']'
	default:
		l.operand = true
	}
	return t
}

// word lexes a token that starts with a word byte: a keyword or identifier,
// or a prefixed string such as E'..', X'..' or U&'..'.
func (l *lexer) word(i int, afterIS uint8) (int, tokKind) {
	q := l.q
	j := i + 1
	for j < len(q) && isWordByte(q[j]) {
		j++
	}
	if j-i == 1 && j < len(q) {
		switch lower[q[i]] {
		case 'e', 'x', 'b', 'n':
			if q[j] == '\'' {
				return scanQuoted(q, j, '\''), tokValue
			}
		case 'u':
			if q[j] == '&' && j+1 < len(q) {
				switch q[j+1] {
				case '\'':
					return scanQuoted(q, j+1, '\''), tokValue
				case '"':
					return scanQuoted(q, j+1, '"'), tokDQuoted
				}
			}
		}
	}
	w := q[i:j]
	switch len(w) {
	case 2:
		if foldEq(w, "is") {
			l.afterIS = 1
		}
	case 3:
		if afterIS == 1 && foldEq(w, "not") {
			l.afterIS = 2
		}
	case 4:
		if foldEq(w, "true") {
			return j, tokValue
		}
		if foldEq(w, "null") && afterIS == 0 {
			return j, tokValue
		}
	case 5:
		if foldEq(w, "false") {
			return j, tokValue
		}
	}
	return j, tokWord
}

// other lexes a token that starts with neither a word byte nor a digit.
func (l *lexer) other(i int) (int, tokKind) {
	q := l.q
	c := q[i]
	var d byte // the byte after c, or 0
	if i+1 < len(q) {
		d = q[i+1]
	}
	switch c {
	case '\'':
		return scanQuoted(q, i, '\''), tokValue
	case '"':
		return scanQuoted(q, i, '"'), tokDQuoted
	case '`':
		return scanQuoted(q, i, '`'), tokQuoted
	case '.':
		if class[d] == cDigit {
			return scanNumber(q, i), tokValue
		}
	case '-', '+':
		if !l.operand && (class[d] == cDigit || d == '.' && i+2 < len(q) && class[q[i+2]] == cDigit) {
			return scanNumber(q, i+1), tokValue
		}
	case '?':
		return i + 1, tokValue
	case '$':
		if class[d] == cDigit {
			return scanDigits(q, i+1), tokValue
		}
		if d == '$' || class[d] == cIdent {
			if end, ok := scanDollar(q, i); ok {
				return end, tokValue
			}
		}
	case ':':
		if d == ':' {
			return i + 2, tokPunct
		}
		if class[d] == cIdent || class[d] == cDigit {
			j := i + 2
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			return j, tokValue
		}
	case '@':
		if d == '@' {
			// @@system_variable is a name, not a parameter.
			j := i + 2
			for j < len(q) && (isWordByte(q[j]) || q[j] == '.') {
				j++
			}
			return j, tokWord
		}
		if class[d] == cIdent {
			j := i + 2
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			return j, tokValue
		}
	}
	return i + 1, tokPunct
}

// scanQuoted returns the end of the quoted text that opens at q[i]. A doubled
// quote and a backslash escape the next byte; treating backslashes as
// escapes everywhere follows MySQL and PostgreSQL E'..' strings, and errs on
// the side of swallowing more text into the literal. An unterminated quote
// runs to the end of the query.
func scanQuoted(q string, i int, quote byte) int {
	for j := i + 1; j < len(q); j++ {
		switch q[j] {
		case '\\':
			j++
		case quote:
			if j+1 < len(q) && q[j+1] == quote {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(q)
}

// scanDollar scans a PostgreSQL dollar-quoted string $tag$...$tag$ opening at
// q[i]. It reports false when q[i:] is not an opening tag; an unterminated
// body runs to the end of the query.
func scanDollar(q string, i int) (int, bool) {
	j := i + 1
	for j < len(q) && q[j] != '$' {
		if class[q[j]] != cIdent && class[q[j]] != cDigit {
			return 0, false
		}
		j++
	}
	if j >= len(q) {
		return 0, false
	}
	tag := q[i : j+1]
	k := strings.Index(q[j+1:], tag)
	if k < 0 {
		return len(q), true
	}
	return j + 1 + k + len(tag), true
}

// scanNumber returns the end of the numeric literal starting at q[i], which
// is a digit or a '.' followed by one.
func scanNumber(q string, i int) int {
	if q[i] == '0' && i+1 < len(q) {
		var digit func(byte) bool
		switch lower[q[i+1]] {
		case 'x':
			digit = isHexDigit
		case 'b':
			digit = isBinDigit
		case 'o':
			digit = isOctDigit
		}
		if digit != nil {
			j := i + 2
			for j < len(q) && (digit(q[j]) || q[j] == '_') {
				j++
			}
			return j
		}
	}
	j := scanDigits(q, i)
	if j < len(q) && q[j] == '.' {
		j = scanDigits(q, j+1)
	}
	if j < len(q) && lower[q[j]] == 'e' {
		k := j + 1
		if k < len(q) && (q[k] == '+' || q[k] == '-') {
			k++
		}
		if k < len(q) && class[q[k]] == cDigit {
			j = scanDigits(q, k)
		}
	}
	return j
}

// scanDigits returns the end of the run of digits and '_' separators at q[i:].
func scanDigits(q string, i int) int {
	for i < len(q) && (class[q[i]] == cDigit || q[i] == '_') {
		i++
	}
	return i
}

func isHexDigit(c byte) bool { return class[c] == cDigit || 'a' <= lower[c] && lower[c] <= 'f' }
func isBinDigit(c byte) bool { return c == '0' || c == '1' }
func isOctDigit(c byte) bool { return '0' <= c && c <= '7' }

// foldEq reports whether s equals the lower-case ASCII word w, ignoring ASCII
// case. It exists because strings.EqualFold also folds Unicode, which is both
// slower and wrong here (the Kelvin sign must not match 'k').
func foldEq(s, w string) bool {
	if len(s) != len(w) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower[s[i]] != w[i] {
			return false
		}
	}
	return true
}
