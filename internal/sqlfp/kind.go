package sqlfp

import "github.com/sqltel/sqltel/telemetry"

// Kind classifies query by its leading keyword, skipping whitespace,
// comments and opening parentheses, ignoring case:
//
//   - SELECT, VALUES and TABLE are KindSelect;
//   - WITH takes the kind of the statement after its common table
//     expressions (WITH ... INSERT is KindInsert), parenthesised or not, or
//     KindOther if there is none;
//   - INSERT and REPLACE are KindInsert; UPDATE is KindUpdate; DELETE is
//     KindDelete;
//   - CREATE, ALTER, DROP, TRUNCATE, RENAME and COMMENT are KindDDL;
//   - BEGIN and START TRANSACTION are KindBegin;
//   - everything else, including SHOW, EXPLAIN, DESCRIBE, SET, MERGE and the
//     empty string, is KindOther. SHOW and EXPLAIN are utility statements:
//     counting them as reads would mix them into query latencies, and
//     EXPLAIN ANALYZE may even write.
//
// Kind does not allocate and reads no further than the first keyword,
// except after WITH.
func Kind(query string) telemetry.Kind {
	l := lexer{q: query}
	if w, ok := firstWord(&l); ok {
		return wordKind(&l, w)
	}
	return telemetry.KindOther
}

// wordKind returns the kind of a statement that starts with word; l is
// positioned just after it.
func wordKind(l *lexer, word string) telemetry.Kind {
	switch {
	case foldEq(word, "select"), foldEq(word, "values"), foldEq(word, "table"):
		return telemetry.KindSelect
	case foldEq(word, "insert"), foldEq(word, "replace"):
		return telemetry.KindInsert
	case foldEq(word, "update"):
		return telemetry.KindUpdate
	case foldEq(word, "delete"):
		return telemetry.KindDelete
	case foldEq(word, "create"), foldEq(word, "alter"), foldEq(word, "drop"),
		foldEq(word, "truncate"), foldEq(word, "rename"), foldEq(word, "comment"):
		return telemetry.KindDDL
	case foldEq(word, "begin"):
		return telemetry.KindBegin
	case foldEq(word, "start"):
		if t := l.next(); t.kind == tokWord && foldEq(l.q[t.start:t.end], "transaction") {
			return telemetry.KindBegin
		}
	case foldEq(word, "with"):
		return withKind(l)
	}
	return telemetry.KindOther
}

// withKind finds the statement that follows a WITH clause: the first word at
// parenthesis depth zero that starts a statement. The CTE names and their
// AS [NOT] MATERIALIZED / RECURSIVE decorations never match one of those.
// The statement may also be parenthesised (WITH a AS (...) (SELECT ...)
// UNION (SELECT ...)): a '(' right after a ')' that closed to depth zero
// opens it, since a CTE's body follows AS or MATERIALIZED and the next CTE
// a ','; a column list's ')' is followed by AS, never by '('. Depth and
// closed are zero then, as at the start, which a nested WITH relies on.
func withKind(l *lexer) telemetry.Kind {
	depth := 0
	closed := false // the previous token was a ')' back to depth zero
	for {
		t := l.next()
		wasClosed := closed
		closed = false
		switch t.kind {
		case tokEOF:
			return telemetry.KindOther
		case tokPunct:
			switch l.q[t.start] {
			case '(':
				if wasClosed && depth == 0 {
					// The statement itself, in parentheses. A WITH in there
					// starts over in this loop rather than by recursion, so
					// that no input can grow the stack.
					w, ok := firstWord(l)
					if !ok {
						return telemetry.KindOther
					}
					if foldEq(w, "with") {
						continue
					}
					return wordKind(l, w)
				}
				depth++
			case ')':
				if depth > 0 {
					depth--
					closed = depth == 0
				}
			}
		case tokWord:
			if depth > 0 {
				continue
			}
			w := l.q[t.start:t.end]
			switch {
			case foldEq(w, "select"), foldEq(w, "values"), foldEq(w, "table"):
				return telemetry.KindSelect
			case foldEq(w, "insert"), foldEq(w, "replace"):
				return telemetry.KindInsert
			case foldEq(w, "update"):
				return telemetry.KindUpdate
			case foldEq(w, "delete"):
				return telemetry.KindDelete
			case foldEq(w, "merge"):
				return telemetry.KindOther
			}
		}
	}
}

// firstWord skips opening parentheses and returns the word after them, or
// false if something else comes first.
func firstWord(l *lexer) (string, bool) {
	for {
		t := l.next()
		switch t.kind {
		case tokWord:
			return l.q[t.start:t.end], true
		case tokPunct:
			if l.q[t.start] != '(' {
				return "", false
			}
		default:
			return "", false
		}
	}
}
