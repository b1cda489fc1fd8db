package sqlfp

import "math/bits"

// Eight bytes at a time: Fingerprint's word path loads the next 8 bytes of
// the query as one little-endian word and classifies, lower-cases and cuts
// them with word-wide ("SWAR") operations instead of a table look-up per
// byte.
//
// For a byte x below 0x80 and 0 < lo <= hi < 0x80, x + (0x80 - lo) has its
// high bit set exactly when x >= lo, and (0x80 + hi) - x exactly when
// x <= hi; neither result leaves [0, 0xff], so no carry or borrow crosses
// into the next byte. In particular 0x80 - (x ^ c) has its high bit set
// exactly when x == c.

const (
	swarOnes = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// swarLetters returns a word with the high bit set in each byte of w whose
// low 7 bits are an ASCII letter of either case (so letters&^w are the ASCII
// letters); its other bits are not specified.
func swarLetters(w uint64) uint64 {
	l := w&^swarHigh | swarOnes*0x20 // a letter of either case is now in [a-z]
	return (l + swarOnes*(0x80-'a')) & (swarOnes*(0x80+'z') - l)
}

// swarNonWord returns the high bits of the bytes of w for which isWordByte
// is false, given letters = swarLetters(w).
func swarNonWord(w, letters uint64) uint64 {
	b := w &^ swarHigh
	digits := (b + swarOnes*(0x80-'0')) & (swarOnes*(0x80+'9') - b)
	under := swarHigh - (b ^ swarOnes*'_')
	dollar := swarHigh - (b ^ swarOnes*'$')
	return ^(w | letters | digits | under | dollar) & swarHigh
}

// swarWord classifies the 8 bytes of w. In letters it sets the high bit of
// each ASCII letter (either case), and in nonWord that of each byte for
// which isWordByte is false. w | letters>>2 is w lower-cased as by the
// lower table (0x80 >> 2 is the case bit 0x20).
func swarWord(w uint64) (letters, nonWord uint64) {
	l := swarLetters(w)
	return l &^ w & swarHigh, swarNonWord(w, l)
}

// chunk returns the chunk word (see hash.go) of a token's last chunk, the k
// bytes (1 to 7) at the bottom of w.
func chunk(w uint64, k uint) uint64 {
	return w&(1<<(8*k)-1) | uint64(k|0x80)<<chunkLenShift
}

// loadTail returns the bytes of q from i (below len(q)) to its end as a
// little-endian word, zero above: the last up to 8 bytes, for which load64
// would run past the end. A zero byte is not a word byte, so a word scan of
// the result stops at the end of the query.
//
//go:noinline
func loadTail(q string, i int) uint64 {
	if len(q) >= 8 && i < len(q) {
		return load64(q, len(q)-8) >> (8 * uint(i+8-len(q)) & 63)
	}
	var w uint64
	for j := len(q) - 1; j >= i && j >= 0; j-- {
		w = w<<8 | uint64(q[j])
	}
	return w
}

// hashLongWord mixes into h the chunks of a word (keyword or unquoted
// identifier), lower-cased, from q[i], which continues it, up to its last
// chunk, and returns that chunk's word and the index after the word. It is
// hashToken(h, q, i, end, true) fused with the scan for end, but for the
// last round.
func hashLongWord(h uint64, q string, i int) (uint64, uint64, int) {
	for {
		var w uint64
		if i+8 <= len(q) {
			w = load64(q, i)
		} else {
			w = loadTail(q, i)
		}
		letters, m := swarWord(w)
		w |= letters >> 2
		if m != 0 {
			// The last chunk: up to the first non-word byte, which is not
			// the first byte.
			k := bits.TrailingZeros64(m) >> 3
			return h, w&((m^(m-1))>>8) | uint64(k|0x80)<<chunkLenShift, i + k
		}
		// The eighth byte continues the word: a full chunk of 7, not the last.
		h = round(h, w&(1<<56-1)|7<<chunkLenShift)
		i += 7
	}
}
