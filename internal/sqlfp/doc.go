// Package sqlfp classifies and fingerprints SQL statements without parsing
// them.
//
// A wrapped connection calls [Kind] and [Fingerprint] on every statement, so
// both run in a single pass over the text and never allocate. [Normalize] is
// for the opt-in telemetry_sql=normalized mode and returns the text that
// Fingerprint hashes, with every literal replaced by '?'.
//
// All three work on one dialect-agnostic token stream (see lex.go) that is
// good enough for PostgreSQL, MySQL, SQLite and SQL Server: it knows
// comments, quoted strings and identifiers, numbers and the common
// placeholder styles, and it treats everything else as words and single-byte
// punctuation. None of the functions ever panics, whatever the input
// (invalid UTF-8, unterminated strings and comments).
//
// # Canonical form
//
// The canonical form of a statement is its token sequence, each token
// rendered as below and separated from the next by exactly one space:
//
//   - comments (-- to end of line, /* to */, nested as in PostgreSQL, and
//     MySQL's # to end of line) and whitespace are dropped; '#' is not a
//     comment where it begins a PostgreSQL operator (#>, #>>, #-) or a SQL
//     Server temporary table (#t, ##t, one word);
//   - words (keywords and unquoted identifiers) are ASCII lower-cased;
//   - `backtick` identifiers (where only a doubled backtick escapes) and
//     [bracketed] identifiers are kept byte for byte; an unterminated
//     backtick makes the rest of the statement one literal. A '[' directly
//     after an operand (a[1], ARRAY[1]) is punctuation, and so is one whose
//     text up to ']' does not look like a name (nested arrays), unless its
//     quotes do not pair up, when that text is one literal;
//   - "double-quoted" text is kept byte for byte by Fingerprint (it is an
//     identifier in standard SQL) but replaced by '?' in Normalize (MySQL
//     reads it as a string by default, so it may hold a value);
//   - literals become '?': strings ('..' with doubled-quote and backslash escapes,
//     E'..', N'..', B'..', X'..', U&'..', $tag$..$tag$), numbers (integers,
//     decimals, exponents, 0x/0b/0o forms, with a unary sign when the sign
//     cannot be a binary operator: after punctuation other than ')', ']'
//     and '#', or after SELECT, WHERE, HAVING, AND, OR, BETWEEN, WHEN,
//     THEN, ELSE or LIMIT), TRUE, FALSE, and NULL except directly after IS
//     or IS NOT (IS NULL is structure, not a value);
//   - placeholders ($1, ?, :name, :1, @p1) become '?';
//   - a parenthesised list holding only literals and placeholders becomes
//     "(?)", and after VALUES a comma-separated run of such lists becomes a
//     single "(?)", so IN (1, 2, 3), IN ($1, $2) and multi-row inserts of any
//     row count share a fingerprint;
//   - every other byte is a punctuation token of its own, except "::".
package sqlfp
