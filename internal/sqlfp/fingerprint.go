package sqlfp

import "math/bits"

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
	//
	// Every call in the loop takes and returns h, i and st, so that nothing
	// but q is live across a call: the compiler then keeps the loop's state
	// in registers rather than spilling it on every iteration.
	q := query
	h := uint64(hashSeed)
	var st state
	i := 0
	for i < len(q) {
		c := q[i]
		switch fastClass[c] {
		case fWord:
		word:
			// Eight bytes at once (see swar.go).
			var w uint64
			switch {
			case i+8 <= len(q):
				w = load64(q, i)
			case len(q) >= 8:
				// The last bytes of q: shift the bytes before i out, zeros in.
				w = load64(q, len(q)-8) >> (8 * uint(i+8-len(q)) & 63)
			default:
				for j := len(q) - 1; j >= i; j-- {
					w = w<<8 | uint64(q[j])
				}
			}
			// Most words are letters only, so m first marks the bytes that
			// are not letters, and the word is taken to end at the first of
			// them, k bytes in. If that byte is a word byte after all (a
			// digit, '_', '$' or non-ASCII), m is recomputed to mark the
			// non-word bytes, which no branch below then questions again.
			//
			// Each k has its own branch, with the chunk word's mask and
			// length byte as constants and only the keywords of that length
			// to look for. The branches also step i over the word and the
			// usual single space after it: the next token's position then
			// depends on predicted branches rather than on the word scan.
			// The byte after the word is in w (0 past the end of q).
			letters := swarLetters(w)
			m := swarHigh &^ letters
			lw := w | (letters&^w&swarHigh)>>2 // lower-cased
			prev := st
			st = stOperand
			var cw uint64 // the word's chunk word
		scan:
			switch bits.TrailingZeros64(m) >> 3 {
			case 0: // '_', or a non-ASCII byte that does not look like a letter
				m = swarNonWord(w, letters)
				goto scan
			case 1:
				switch c := byte(w >> 8); {
				case c == ' ':
					i += 2
				case c == '\'' || c == '&':
					// Perhaps E'..' or U&'..'.
					h, i, st = slowToken(h, q, i, prev)
					continue
				case isWordByte(c):
					m = swarNonWord(w, letters)
					goto scan
				default:
					i++
				}
				cw = chunk(lw, 1)
			case 2:
				if c := byte(w >> 16); c == ' ' {
					i += 3
				} else if isWordByte(c) {
					m = swarNonWord(w, letters)
					goto scan
				} else {
					i += 2
				}
				cw = chunk(lw, 2)
				if cw == kwIS {
					st = stOperand | stIS
				} else if cw == kwOR {
					st = 0
				}
			case 3:
				if c := byte(w >> 24); c == ' ' {
					i += 4
				} else if isWordByte(c) {
					m = swarNonWord(w, letters)
					goto scan
				} else {
					i += 3
				}
				cw = chunk(lw, 3)
				if cw == kwNOT && prev&(stIS|stISNOT) == stIS {
					st = stOperand | stISNOT
				} else if cw == kwAND {
					st = 0
				}
			case 4:
				if c := byte(w >> 32); c == ' ' {
					i += 5
				} else if isWordByte(c) {
					m = swarNonWord(w, letters)
					goto scan
				} else {
					i += 4
				}
				cw = chunk(lw, 4)
				if cw == kwTRUE || cw == kwNULL && prev&(stIS|stISNOT) == 0 {
					cw = wordValue
				} else if cw == kwTHEN || cw == kwELSE || cw == kwWHEN {
					st = 0
				}
			case 5:
				if c := byte(w >> 40); c == ' ' {
					i += 6
				} else if isWordByte(c) {
					m = swarNonWord(w, letters)
					goto scan
				} else {
					i += 5
				}
				cw = chunk(lw, 5)
				if cw == kwFALSE {
					cw = wordValue
				} else if cw == kwWHERE || cw == kwLIMIT {
					st = 0
				}
			case 6:
				if c := byte(w >> 48); c == ' ' {
					i += 7
				} else if isWordByte(c) {
					m = swarNonWord(w, letters)
					goto scan
				} else {
					i += 6
				}
				cw = chunk(lw, 6)
				if cw == kwVALUES {
					st = stOperand | stVALUES
				} else if cw == kwSELECT || cw == kwHAVING {
					st = 0
				}
			case 7:
				if c := byte(w >> 56); c == ' ' {
					i += 8
				} else if isWordByte(c) {
					m = swarNonWord(w, letters)
					goto scan
				} else {
					i += 7
				}
				cw = chunk(lw, 7)
				if cw == kwBETWEEN {
					st = 0
				}
			default:
				// Eight word bytes (letters are word bytes): a long word, its
				// first chunk, then the rest.
				h = round(h, lw&(1<<56-1)|7<<chunkLenShift)
				h, cw, i = hashLongWord(h, q, i+7)
				if i < len(q) && q[i] == ' ' {
					i++
				}
			}
			h = round(h, cw)
			if i < len(q) {
				// Another word, or a qualified name's dot and the next
				// part: no need to go round the loop.
				switch c := q[i]; fastClass[c] {
				case fWord:
					goto word
				case fDot:
					if i+1 < len(q) && fastClass[q[i+1]] == fWord {
						h = round(h, '.'|oneByteToken)
						st = 0
						i++
						goto word
					}
				}
			}

		case fSpace:
			i++

		case fDigit:
			// Plain integers and decimals inline; anything else that
			// scanNumber reads (0x.., 1e5, 1_000) from the start there.
			j := i + 1
			for j < len(q) && q[j]-'0' < 10 {
				j++
			}
			if j < len(q) && q[j] == '.' {
				j++
				for j < len(q) && q[j]-'0' < 10 {
					j++
				}
			}
			if j < len(q) && numberTail[q[j]] {
				h, i = hashNumber(h, q, i)
			} else {
				h = round(h, wordValue)
				i = j
			}
			st = stOperand
			if i < len(q) && q[i] == ' ' {
				i++
			}

		case fPunct:
			h = round(h, uint64(c)|oneByteToken)
			st = 0
			i++
			if i < len(q) && q[i] == ' ' {
				i++
			}

		case fClose:
			h = round(h, uint64(c)|oneByteToken)
			st = stOperand
			i++
			if i < len(q) && q[i] == ' ' {
				i++
			}

		case fDot:
			if i+1 < len(q) && class[q[i+1]] == cDigit {
				h, i, st = slowToken(h, q, i, st) // .5
				continue
			}
			h = round(h, '.'|oneByteToken)
			st = 0
			i++

		case fQuote:
			h = round(h, wordValue)
			st = stOperand
			i = scanQuoted(q, i, '\'')
			if i < len(q) && q[i] == ' ' {
				i++
			}

		case fOpen:
			h, i, st = openToken(h, q, i, st)

		case fQuestion:
			h = round(h, wordValue)
			st = stOperand
			i++

		default:
			h, i, st = slowToken(h, q, i, st)
		}
	}
	if s := finish(h); s != 0 {
		return s
	}
	return 1
}

// state is the lexer's and the normalizer's state between two tokens, packed
// into one byte for Fingerprint's loop.
type state uint8

const (
	stOperand state = 1 << iota // lexer.operand
	stIS                        // lexer.afterIS == 1: after IS
	stISNOT                     // lexer.afterIS == 2: after IS NOT
	stVALUES                    // normalizer.afterVALUES
)

// hashNumber mixes the numeric literal at q[i] into h and returns the index
// after it.
//
//go:noinline
func hashNumber(h uint64, q string, i int) (uint64, int) {
	return round(h, wordValue), scanNumber(q, i)
}

// openToken mixes the token that starts with the '(' at q[i] into h: the
// '(' itself, or a list of values.
//
//go:noinline
func openToken(h uint64, q string, i int, st state) (uint64, int, state) {
	if st&stVALUES != 0 {
		return slowToken(h, q, i, st) // the normalizer collapses runs of rows
	}
	switch j := simpleList(q, i+1); j {
	case listMaybe:
		return slowToken(h, q, i, st)
	case listNo:
		return round(h, '('|oneByteToken), i + 1, 0
	default:
		return round(h, wordList), j, stOperand
	}
}

// slowToken mixes the token at q[i] into h as the normalizer reads it, and
// returns the index after it and the state after it. The token may be
// preceded by whitespace and comments, and at the end of q it is tokEOF.
//
//go:noinline
func slowToken(h uint64, q string, i int, st state) (uint64, int, state) {
	n := normalizer{
		lx: lexer{
			q:       q,
			pos:     i,
			operand: st&stOperand != 0,
			afterIS: uint8(st&(stIS|stISNOT)) >> 1,
		},
		afterVALUES: st&stVALUES != 0,
	}
	t := n.next()
	st = state(n.lx.afterIS) << 1
	if n.lx.operand {
		st |= stOperand
	}
	if n.afterVALUES {
		st |= stVALUES
	}
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
	return h, n.lx.pos, st
}

// Lower-case keywords as chunk words (see hash.go), for the inline word path.
// The lexer's word method reads the same ones.
const (
	kwIS     = 'i' | 's'<<8 | (2|0x80)<<chunkLenShift
	kwNOT    = 'n' | 'o'<<8 | 't'<<16 | (3|0x80)<<chunkLenShift
	kwTRUE   = 't' | 'r'<<8 | 'u'<<16 | 'e'<<24 | (4|0x80)<<chunkLenShift
	kwNULL   = 'n' | 'u'<<8 | 'l'<<16 | 'l'<<24 | (4|0x80)<<chunkLenShift
	kwFALSE  = 'f' | 'a'<<8 | 'l'<<16 | 's'<<24 | 'e'<<32 | (5|0x80)<<chunkLenShift
	kwVALUES = 'v' | 'a'<<8 | 'l'<<16 | 'u'<<24 | 'e'<<32 | 's'<<40 | (6|0x80)<<chunkLenShift

	// Words after which '-' and '+' are signs.
	kwOR      = 'o' | 'r'<<8 | (2|0x80)<<chunkLenShift
	kwAND     = 'a' | 'n'<<8 | 'd'<<16 | (3|0x80)<<chunkLenShift
	kwTHEN    = 't' | 'h'<<8 | 'e'<<16 | 'n'<<24 | (4|0x80)<<chunkLenShift
	kwELSE    = 'e' | 'l'<<8 | 's'<<16 | 'e'<<24 | (4|0x80)<<chunkLenShift
	kwWHEN    = 'w' | 'h'<<8 | 'e'<<16 | 'n'<<24 | (4|0x80)<<chunkLenShift
	kwWHERE   = 'w' | 'h'<<8 | 'e'<<16 | 'r'<<24 | 'e'<<32 | (5|0x80)<<chunkLenShift
	kwLIMIT   = 'l' | 'i'<<8 | 'm'<<16 | 'i'<<24 | 't'<<32 | (5|0x80)<<chunkLenShift
	kwSELECT  = 's' | 'e'<<8 | 'l'<<16 | 'e'<<24 | 'c'<<32 | 't'<<40 | (6|0x80)<<chunkLenShift
	kwHAVING  = 'h' | 'a'<<8 | 'v'<<16 | 'i'<<24 | 'n'<<32 | 'g'<<40 | (6|0x80)<<chunkLenShift
	kwBETWEEN = 'b' | 'e'<<8 | 't'<<16 | 'w'<<24 | 'e'<<32 | 'e'<<40 | 'n'<<48 | (7|0x80)<<chunkLenShift
)

// Byte classes of Fingerprint's inline path. fOther bytes go to the
// normalizer: they may start a comment, a quoted token, a signed number, a
// placeholder, a dollar quote, "::", a temporary table's name, or a list.
const (
	fOther uint8 = iota
	fSpace
	fWord
	fDigit
	fPunct    // always a one-byte punctuation token
	fClose    // ')' or ']': a one-byte punctuation token that ends an operand
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
	// Not '#' (perhaps a comment) nor '[' (perhaps an identifier): the
	// lexer decides.
	for _, c := range ",;=<>*{}|^%!~&\\" {
		t[c] = fPunct
	}
	t[')'] = fClose
	t[']'] = fClose
	t['?'] = fQuestion
	t['.'] = fDot
	t['\''] = fQuote
	t['('] = fOpen
	return t
}()

// numberTail holds the bytes that, right after a run of digits, may continue
// a number in ways that only scanNumber reads: 0x.., 0b.., 0o.., exponents,
// '_' separators.
var numberTail = func() (t [256]bool) {
	for _, c := range "_eExXbBoO" {
		t[c] = true
	}
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
		case c-'0' < 10:
			// Plain integers inline; scanNumber for anything more.
			j := i + 1
			for j < len(q) && q[j]-'0' < 10 {
				j++
			}
			if j < len(q) && (q[j] == '.' || numberTail[q[j]]) {
				j = scanNumber(q, i)
			}
			i = j
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
