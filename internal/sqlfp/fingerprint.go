package sqlfp

// Fingerprint returns a 64-bit hash that identifies the shape of query:
// queries that differ only in literal values, placeholder style, comments,
// whitespace or the case of keywords and unquoted identifiers have the same
// fingerprint, and queries that name different tables or columns have
// different ones.
//
// The hash is taken over the query's canonical token sequence (see the
// package documentation) with the algorithm documented in hash.go. Both are
// fixed so that fingerprints are comparable across processes, machines and
// sqltel versions. Fingerprint never returns 0, which means "no statement"
// in an event; the empty query has a fingerprint like any other.
//
// Fingerprint does not allocate and is safe for concurrent use.
func Fingerprint(query string) uint64 {
	// This is the normalizer's token stream, hashed as it goes. Words,
	// whitespace, plain punctuation, numbers and '?' are the bulk of every
	// statement, so they are lexed inline with the lexer's state in locals;
	// any other byte hands over to the normalizer for one token. The tests
	// check that both paths agree.
	q := query
	h := uint64(hashSeed)
	var (
		operand     bool
		afterIS     uint8
		afterVALUES bool
	)
	i := 0
	for i < len(q) {
		c := q[i]
		switch fastClass[c] {
		case fSpace:
			i++
			continue

		case fWord:
			k := 1
			for k < 8 && i+k < len(q) && wordByte[q[i+k]] {
				k++
			}
			if k == 1 && i+1 < len(q) && (q[i+1] == '\'' || q[i+1] == '&') {
				break // a possible E'..' or U&'..' literal
			}
			if k == 8 {
				j := i + 8
				for j < len(q) && wordByte[q[j]] {
					j++
				}
				h = hashToken(h, q, i, j, true)
				operand, afterIS, afterVALUES = true, 0, false
				i = j
				continue
			}
			var w uint64
			if i+8 <= len(q) {
				w = load64(q, i)
			} else {
				for j := k - 1; j >= 0; j-- {
					w = w<<8 | uint64(q[i+j])
				}
			}
			w = lower8(w) & (1<<(8*uint(k)) - 1)
			is := afterIS
			operand, afterIS, afterVALUES = true, 0, false
			w |= uint64(k|0x80) << chunkLenShift
			switch w {
			case kwIS:
				afterIS = 1
			case kwNOT:
				if is == 1 {
					afterIS = 2
				}
			case kwVALUES:
				afterVALUES = true
			case kwTRUE, kwFALSE:
				w = wordValue
			case kwNULL:
				if is == 0 {
					w = wordValue
				}
			}
			h = round(h, w)
			i += k
			if i < len(q) && q[i] == ' ' {
				i++ // the usual single space: skip it without a trip round the loop
			}
			continue

		case fDigit:
			h = round(h, wordValue)
			operand, afterIS, afterVALUES = true, 0, false
			i = scanNumber(q, i)
			continue

		case fPunct:
			h = round(h, uint64(c)|oneByteToken)
			operand, afterIS, afterVALUES = c == ')' || c == ']', 0, false
			i++
			if i < len(q) && q[i] == ' ' {
				i++
			}
			continue

		case fDot:
			if i+1 < len(q) && class[q[i+1]] == cDigit {
				break // .5
			}
			h = round(h, '.'|oneByteToken)
			operand, afterIS, afterVALUES = false, 0, false
			i++
			continue

		case fQuote:
			h = round(h, wordValue)
			operand, afterIS, afterVALUES = true, 0, false
			i = scanQuoted(q, i, '\'')
			continue

		case fOpen:
			if afterVALUES {
				break // the normalizer collapses runs of rows
			}
			j := simpleList(q, i+1)
			if j == listMaybe {
				break
			}
			if j == listNo {
				h = round(h, '('|oneByteToken)
				operand, afterIS = false, 0
				i++
				continue
			}
			h = round(h, wordList)
			operand, afterIS = true, 0
			i = j
			continue

		case fQuestion:
			h = round(h, wordValue)
			operand, afterIS, afterVALUES = true, 0, false
			i++
			continue
		}

		// Anything else: one token from the normalizer.
		n := normalizer{
			lx:          lexer{q: q, pos: i, operand: operand, afterIS: afterIS},
			afterVALUES: afterVALUES,
		}
		t := n.next()
		i, operand, afterIS, afterVALUES = n.lx.pos, n.lx.operand, n.lx.afterIS, n.afterVALUES
		switch t.kind {
		case tokEOF:
		case tokWord:
			h = hashToken(h, q, t.start, t.end, true)
		case tokValue:
			h = round(h, wordValue)
		case tokList:
			h = round(h, wordList)
		default: // tokQuoted, tokDQuoted, tokPunct: verbatim
			h = hashToken(h, q, t.start, t.end, false)
		}
	}
	if s := finish(h); s != 0 {
		return s
	}
	return 1
}

// Lower-case keywords as chunk words (see hash.go), for the inline word path.
const (
	kwIS     = 'i' | 's'<<8 | (2|0x80)<<chunkLenShift
	kwNOT    = 'n' | 'o'<<8 | 't'<<16 | (3|0x80)<<chunkLenShift
	kwTRUE   = 't' | 'r'<<8 | 'u'<<16 | 'e'<<24 | (4|0x80)<<chunkLenShift
	kwNULL   = 'n' | 'u'<<8 | 'l'<<16 | 'l'<<24 | (4|0x80)<<chunkLenShift
	kwFALSE  = 'f' | 'a'<<8 | 'l'<<16 | 's'<<24 | 'e'<<32 | (5|0x80)<<chunkLenShift
	kwVALUES = 'v' | 'a'<<8 | 'l'<<16 | 'u'<<24 | 'e'<<32 | 's'<<40 | (6|0x80)<<chunkLenShift
)

// Byte classes of Fingerprint's inline path. fOther bytes go to the
// normalizer: they may start a comment, a quoted token, a signed number, a
// placeholder, a dollar quote, "::", or a list.
const (
	fOther uint8 = iota
	fSpace
	fWord
	fDigit
	fPunct    // always a one-byte punctuation token
	fQuestion // '?'
	fDot      // '.': punctuation unless a digit follows
	fQuote    // '\'': a string literal
	fOpen     // '(': perhaps a list of values
)

var fastClass = func() (t [256]uint8) {
	for c := range 256 {
		switch class[c] {
		case cSpace:
			t[c] = fSpace
		case cIdent:
			t[c] = fWord
		case cDigit:
			t[c] = fDigit
		}
	}
	for _, c := range ",;=<>*)[]{}|^%!~#&\\" {
		t[c] = fPunct
	}
	t['?'] = fQuestion
	t['.'] = fDot
	t['\''] = fQuote
	t['('] = fOpen
	return t
}()

// Verdicts of simpleList other than the index after a list.
const (
	listNo    = -1 // what follows the '(' cannot start a list of values
	listMaybe = 0  // ask the normalizer
)

// simpleList is Fingerprint's quick look at a '(' whose contents start at
// q[i]. If they are unsigned numbers, '?' and $n placeholders separated by
// commas and spaces up to a ')', it returns the index after the ')'. If the
// first token is a word other than TRUE, FALSE, NULL or a string prefix, or
// one of ( ) *, it returns listNo. Otherwise it returns listMaybe and the
// normalizer decides. It only has to agree with normalizer.list when it
// does not say maybe.
func simpleList(q string, i int) int {
	for first := true; ; first = false {
		for i < len(q) && q[i] == ' ' {
			i++
		}
		if i >= len(q) {
			return listMaybe
		}
		switch c := q[i]; {
		case class[c] == cDigit:
			i = scanNumber(q, i)
		case c == '?':
			i++
		case c == '$' && i+1 < len(q) && class[q[i+1]] == cDigit:
			i = scanDigits(q, i+1)
		case first && (c == '(' || c == ')' || c == '*'):
			return listNo
		case first && class[c] == cIdent:
			j := i + 1
			for j < len(q) && wordByte[q[j]] {
				j++
			}
			w := q[i:j]
			if len(w) == 1 || foldEq(w, "true") || foldEq(w, "false") || foldEq(w, "null") {
				return listMaybe
			}
			return listNo
		default:
			return listMaybe
		}
		for i < len(q) && q[i] == ' ' {
			i++
		}
		if i >= len(q) {
			return listMaybe
		}
		switch q[i] {
		case ',':
			i++
		case ')':
			return i + 1
		default:
			return listMaybe
		}
	}
}
