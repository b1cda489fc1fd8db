package sqlfp

import "strings"

// tokKind is the class of a token. The classes are exactly the distinctions
// the canonical form needs: how a token is rendered and whether it can stand
// in a collapsible list.
type tokKind uint8

const (
	tokEOF     tokKind = iota
	tokWord            // keyword or unquoted identifier; rendered lower-case
	tokQuoted          // `backtick` or [bracketed] identifier; rendered verbatim
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
			i = skipBlockComment(q, i+2)
			space = true
			continue
		}
		if c == '#' && hashComment(q, i) {
			j := strings.IndexByte(q[i+1:], '\n')
			if j < 0 {
				i = len(q)
			} else {
				i += 1 + j + 1
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
		l.operand = true
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
	case tokWord:
		// Set by word.
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
	// After the reserved words that must be followed by an expression, a
	// '-' or '+' is a sign: SELECT -1 and SELECT 1 share a fingerprint. The
	// list is kept small, to words that cannot end an operand in any
	// dialect, and Fingerprint's inline word path checks the same words.
	w := q[i:j]
	switch len(w) {
	case 2:
		if foldEq(w, "is") {
			l.afterIS = 1
		} else if foldEq(w, "or") {
			l.operand = false
		}
	case 3:
		if afterIS == 1 && foldEq(w, "not") {
			l.afterIS = 2
		} else if foldEq(w, "and") {
			l.operand = false
		}
	case 4:
		if foldEq(w, "true") {
			return j, tokValue
		}
		if foldEq(w, "null") && afterIS == 0 {
			return j, tokValue
		}
		if foldEq(w, "then") || foldEq(w, "else") || foldEq(w, "when") {
			l.operand = false
		}
	case 5:
		if foldEq(w, "false") {
			return j, tokValue
		}
		if foldEq(w, "where") || foldEq(w, "limit") {
			l.operand = false
		}
	case 6:
		if foldEq(w, "select") || foldEq(w, "having") {
			l.operand = false
		}
	case 7:
		if foldEq(w, "between") {
			l.operand = false
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
		// An unterminated backtick is a typo, and what follows it holds the
		// statement's literals: it must not be rendered verbatim.
		if end, ok := scanBacktick(q, i); ok {
			return end, tokQuoted
		}
		return len(q), tokValue
	case '[':
		return l.bracket(i)
	case '#':
		// Not a comment (see hashComment): a SQL Server temporary table
		// (#t, ##t) or a PostgreSQL operator (#>, #>>, #-). The name is one
		// word so that what follows it is read as it would be after any
		// name: were '#' a token of its own, a value such as TRUE after it
		// would be rendered "#?", which reads as a comment.
		j := i + 1
		if d == '#' {
			j++
		}
		if tempName(q, j) {
			for j++; j < len(q) && isWordByte(q[j]); j++ {
			}
			l.operand = true // a name: a '-' after it is an operator
			return j, tokWord
		}
	case '.':
		if class[d] == cDigit {
			return scanNumber(q, i), tokValue
		}
	case '-', '+':
		// After the operator '#' (PostgreSQL's #-), '-' is part of it: read
		// as a sign, "#-1" would be rendered "#?", which reads as a comment.
		if !l.operand && !(i > 0 && q[i-1] == '#') && (class[d] == cDigit || d == '.' && i+2 < len(q) && class[q[i+2]] == cDigit) {
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

// scanBacktick returns the end of the `backtick` identifier that opens at
// q[i] and whether it is terminated. MySQL knows no escape inside backticks
// but a doubled backtick, so a backslash is an ordinary byte: `dir\` is a
// whole identifier.
func scanBacktick(q string, i int) (int, bool) {
	for j := i + 1; j < len(q); j++ {
		if q[j] == '`' {
			if j+1 < len(q) && q[j+1] == '`' {
				j++
				continue
			}
			return j + 1, true
		}
	}
	return len(q), false
}

// skipBlockComment returns the end of the block comment whose body starts at
// q[i]. Comments nest as in PostgreSQL; MySQL ends one at the first "*/",
// and there counting drops more text than the server would, which is the
// safe side. An unterminated comment runs to the end of the query.
func skipBlockComment(q string, i int) int {
	depth := 1
	for i+1 < len(q) {
		switch {
		case q[i] == '*' && q[i+1] == '/':
			i += 2
			if depth--; depth == 0 {
				return i
			}
		case q[i] == '/' && q[i+1] == '*':
			i += 2
			depth++
		default:
			i++
		}
	}
	return len(q)
}

// hashComment reports whether the '#' at q[i] opens a MySQL comment to the
// end of the line. An apostrophe in a comment read as SQL would open a
// string and shift every quote after it, exposing the statement's literals,
// so '#' is a comment unless it begins a PostgreSQL operator (#>, #>>, #-)
// or a SQL Server temporary table (#t, ##t). PostgreSQL's '#' (XOR) before
// a space is taken as a comment too: losing the rest of its line from the
// fingerprint is the price of never leaking a MySQL comment's quote.
func hashComment(q string, i int) bool {
	if i+1 >= len(q) {
		return true
	}
	switch d := q[i+1]; {
	case d == '>':
		return false
	case d == '-':
		// "#--" is '#' and a "--" comment in PostgreSQL too.
		return i+2 < len(q) && q[i+2] == '-'
	case d == '#':
		return !(tableSlot(q, i) && tempName(q, i+2))
	default:
		return !(tableSlot(q, i) && tempName(q, i+1))
	}
}

// tableSlot reports whether a table name can stand at q[i]: after FROM,
// JOIN, INTO, UPDATE, TABLE, EXISTS, INSERT, DELETE, MERGE, USING or a
// comma. Only there is "#t" taken for a temporary table: elsewhere
// "#TODO don't" is a MySQL comment whose apostrophe must not open a string.
func tableSlot(q string, i int) bool {
	w, last := prevWord(q, i)
	return last == ',' || oneOf(w, "from", "join", "into", "update", "table", "exists", "insert", "delete", "merge", "using")
}

// prevWord returns the word that ends right before q[i], whitespace between
// skipped ("" if a non-word byte ends there), and the byte it ends on.
func prevWord(q string, i int) (word string, last byte) {
	j := i
	for j > 0 && class[q[j-1]] == cSpace {
		j--
	}
	if j == 0 {
		return "", 0
	}
	k := j
	for k > 0 && isWordByte(q[k-1]) {
		k--
	}
	return q[k:j], q[j-1]
}

// oneOf reports whether w is one of words, in any case.
func oneOf(w string, words ...string) bool {
	for _, x := range words {
		if foldEq(w, x) {
			return true
		}
	}
	return false
}

// tempName reports whether a temporary table's name starts at q[j]. A name
// right before a quote is rather a MySQL comment such as "#don't", whose
// apostrophe must not open a string.
func tempName(q string, j int) bool {
	if j >= len(q) || !isTempStart(q[j]) {
		return false
	}
	for j++; j < len(q) && isWordByte(q[j]); j++ {
	}
	return j >= len(q) || q[j] != '\'' && q[j] != '`' && q[j] != '"'
}

// isTempStart reports whether c can start a SQL Server temporary table's
// name after '#'. Only ASCII: a comment such as "#été" must stay a comment.
func isTempStart(c byte) bool {
	return c == '_' || 'a' <= lower[c] && lower[c] <= 'z'
}

// bracket lexes the '[' at q[i]. Directly after an operand (a[1], int[],
// ARRAY[1]) it is a subscript or an array and stays punctuation. Otherwise
// it may open a SQL Server or SQLite [bracketed] identifier, which may hold
// an apostrophe: read as punctuation, that apostrophe would open a string
// and shift every quote after it. But PostgreSQL's nested arrays
// (ARRAY[[1, 'a]'], [2, 'b']]) put '[' after '[' and ',' too, and their
// contents must neither be rendered verbatim nor be cut at a ']' inside a
// string. So the text up to the next ']' is an identifier only if it looks
// like a name (bracketName); otherwise it is one value if it holds an odd
// number of quotes that all sit inside words (an apostrophe: a name that
// does not look like one), and punctuation if not (normal lexing reads its
// strings). An unterminated '[' that follows no operand and is followed by
// an apostrophe is a typo, and the rest of the statement one value. A
// doubled "]]" inside an identifier is not understood: nested arrays end in
// "]]" far more often.
// nameSlot reports whether the '[' at q[i] follows a keyword after which a
// name, not a subscript, stands.
func nameSlot(q string, i int) bool {
	w, _ := prevWord(q, i)
	return oneOf(w, "from", "join", "into", "update", "table", "as", "select", "where", "on", "by", "set",
		"and", "or", "not", "exists", "insert", "delete", "merge", "using", "when", "then", "else", "having")
}

func (l *lexer) bracket(i int) (int, tokKind) {
	q := l.q
	// Whitespace or a comment ends in a space byte or '/', and no operand
	// does; Fingerprint may start the lexer on the '[' itself, so the
	// token's space flag cannot tell.
	// A keyword is no operand to subscript: FROM[Bob's table] is a name.
	if l.operand && i > 0 && class[q[i-1]] != cSpace && q[i-1] != '/' && !nameSlot(q, i) {
		return i + 1, tokPunct
	}
	// Stopping at the next '[' too keeps the lexer linear: no two scans
	// cover the same bytes.
	j := i + 1
	for j < len(q) && q[j] != ']' && q[j] != '[' {
		j++
	}
	if j == len(q) {
		// Unterminated: a typo if it holds an apostrophe, whose string
		// would run into the statement's literals. This runs at most once
		// per query, as no '[' follows.
		for k := i + 1; k < len(q); k++ {
			if q[k] == '\'' && inWordQuote(q, k) {
				return len(q), tokValue
			}
		}
		return i + 1, tokPunct
	}
	if q[j] == '[' {
		return i + 1, tokPunct
	}
	s := q[i+1 : j]
	// A comment inside would be dropped by Normalize, and what is left
	// could read otherwise than the original: the whole is one value, in
	// the original and in its normalized form alike. Not where a quote is
	// inside: the ']' may be a string's ('SECRET#]'), and normal lexing
	// must read that string. (A backtick's, at worst, leaves a backtick
	// unterminated, which is a value to the end.)
	if (strings.Contains(s, "/*") || strings.Contains(s, "--") || strings.IndexByte(s, '#') >= 0) && !strings.ContainsAny(s, "'\"") {
		return j + 1, tokValue
	}
	if bracketName(s) {
		return j + 1, tokQuoted
	}
	n := 0
	for k := 0; k < len(s); k++ {
		if s[k] == '\'' {
			if !inWordQuote(s, k) {
				return i + 1, tokPunct
			}
			n++
		}
	}
	if n%2 != 0 {
		return j + 1, tokValue
	}
	return i + 1, tokPunct
}

// bracketName reports whether s, the text between '[' and ']', looks like a
// name rather than an array's elements: no literal of any kind (no digit or
// '$' that starts a word, no TRUE, FALSE or NULL, no string, no backslash),
// and none of the punctuation that separates or groups elements. An
// apostrophe inside a word (Customer's, O'Brien) is allowed once.
func bracketName(s string) bool {
	if s == "" {
		return false
	}
	quotes := 0
	for j := 0; j < len(s); j++ {
		c := s[j]
		wordBefore := j > 0 && isWordByte(s[j-1])
		switch {
		case class[c] == cIdent:
			if wordBefore {
				continue
			}
			k := j + 1
			for k < len(s) && isWordByte(s[k]) {
				k++
			}
			if w := s[j:k]; foldEq(w, "true") || foldEq(w, "false") || foldEq(w, "null") {
				return false
			}
			j = k - 1
		case class[c] == cDigit, c == '$':
			if !wordBefore {
				return false
			}
		case c == '\'':
			if quotes++; quotes > 1 || !inWordQuote(s, j) {
				return false
			}
		default:
			switch c {
			case ',', '(', ')', '"', '`', '\\', ';', '?', ':', '{', '}':
				return false
			}
		}
	}
	return true
}

// inWordQuote reports whether the quote at s[j] is an apostrophe inside a
// word rather than the start of a string: a word byte comes before it, and
// that byte is not a string prefix of its own (E'..', X'..', B'..', N'..').
func inWordQuote(s string, j int) bool {
	if j == 0 || !isWordByte(s[j-1]) {
		return false
	}
	if j >= 2 && isWordByte(s[j-2]) {
		return true
	}
	switch lower[s[j-1]] {
	case 'e', 'x', 'b', 'n':
		return false
	}
	return true
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
