package sqlfp

// normalizer turns the lexer's tokens into the canonical token stream: it
// collapses lists of values into one tokList token. It looks ahead by
// copying the lexer and rewinds by assigning the copy back, so it needs no
// buffer; a failed look-ahead re-lexes at most the values and commas it
// passed, which keeps the whole pass linear.
type normalizer struct {
	lx lexer
	// dquoteValue makes "double-quoted" text a literal (Normalize) rather
	// than an identifier (Fingerprint).
	dquoteValue bool
	// afterVALUES is true when the previous token was the word VALUES, where
	// a run of lists (multi-row insert) collapses to one.
	afterVALUES bool
}

func newNormalizer(q string, dquoteValue bool) normalizer {
	return normalizer{lx: lexer{q: q}, dquoteValue: dquoteValue}
}

// next returns the next canonical token.
func (n *normalizer) next() token {
	t := n.lx.next()
	rows := n.afterVALUES
	n.afterVALUES = t.kind == tokWord && foldEq(n.lx.q[t.start:t.end], "values")
	if t.kind != tokPunct || n.lx.q[t.start] != '(' {
		return t
	}
	end, ok := n.list()
	if !ok {
		return t
	}
	for rows {
		save := n.lx
		if c := n.lx.next(); c.kind != tokPunct || n.lx.q[c.start] != ',' {
			n.lx = save
			break
		}
		if p := n.lx.next(); p.kind != tokPunct || n.lx.q[p.start] != '(' {
			n.lx = save
			break
		}
		e, ok := n.list()
		if !ok {
			n.lx = save
			break
		}
		end = e
	}
	return token{start: t.start, end: end, kind: tokList, space: t.space}
}

// list is called just after a '('. If the tokens up to the matching ')' are
// one or more values separated by commas, it consumes them and returns the
// end of the ')'. Otherwise it leaves the lexer where it was and reports
// false.
func (n *normalizer) list() (int, bool) {
	save := n.lx
	for {
		v := n.lx.next()
		if v.kind != tokValue && !(v.kind == tokDQuoted && n.dquoteValue) {
			break
		}
		p := n.lx.next()
		if p.kind != tokPunct {
			break
		}
		switch n.lx.q[p.start] {
		case ',':
			continue
		case ')':
			return p.end, true
		}
		break
	}
	n.lx = save
	return 0, false
}
