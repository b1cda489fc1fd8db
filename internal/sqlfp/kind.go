package sqlfp

import "github.com/sqltel/sqltel/telemetry"

// Kind classifies query by its leading keyword, skipping whitespace,
// comments and opening parentheses, ignoring case:
//
//   - SELECT, VALUES and TABLE are KindSelect;
//   - WITH takes the kind of the statement after its common table
//     expressions (WITH ... INSERT is KindInsert), or KindOther if there is
//     none;
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
	for {
		t := l.next()
		switch t.kind {
		case tokWord:
			return wordKind(&l, query[t.start:t.end])
		case tokPunct:
			if query[t.start] != '(' {
				return telemetry.KindOther
			}
		default:
			return telemetry.KindOther
		}
	}
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
func withKind(l *lexer) telemetry.Kind {
	depth := 0
	for {
		t := l.next()
		switch t.kind {
		case tokEOF:
			return telemetry.KindOther
		case tokPunct:
			switch l.q[t.start] {
			case '(':
				depth++
			case ')':
				if depth > 0 {
					depth--
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
