package sqlfp

import "math/bits"

// The hash behind Fingerprint. It is part of Fingerprint's contract: changing
// anything here changes every fingerprint ever recorded, so the algorithm is
// spelled out here and pinned by golden values in the tests.
//
// The input is the sequence of canonical tokens (see the package
// documentation). Each token is cut into chunks of 7 bytes, the last one
// possibly shorter (a token has at least one byte, so at least one chunk).
// A chunk becomes a 64-bit word: its bytes little-endian in the low 56 bits,
// and in the top byte the chunk's length, plus 0x80 on a token's last chunk;
// the words therefore spell the token sequence unambiguously. Starting from
// h = hashSeed, each word w is mixed in with the round of xxHash64,
//
//	h = rotl64(h ^ (w * hashPrime2), 31) * hashPrime1
//
// and the result goes through the MurmurHash3 64-bit finaliser:
//
//	h ^= h >> 33; h *= 0xff51afd7ed558ccd
//	h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53; h ^= h >> 33
//
// One multiply per token, rather than FNV-1a's one per byte, and no
// branches on how much input is buffered, is what keeps Fingerprint within
// its budget of a few hundred nanoseconds for a typical statement.
const (
	hashSeed   = 0x27d4eb2f165667c5 // xxHash64 PRIME64_5
	hashPrime1 = 0x9e3779b185ebca87 // xxHash64 PRIME64_1
	hashPrime2 = 0xc2b2ae3d27d4eb4f // xxHash64 PRIME64_2
)

// Chunk words of the tokens that Fingerprint hashes most often.
const (
	chunkLast     = 0x80 << 56
	chunkLenShift = 56
	oneByteToken  = (1 | 0x80) << 56 // | the byte
	wordValue     = '?' | oneByteToken
	wordList      = '(' | '?'<<8 | ')'<<16 | (3|0x80)<<56
)

// round mixes one chunk word into h.
func round(h, w uint64) uint64 {
	return bits.RotateLeft64(h^(w*hashPrime2), 31) * hashPrime1
}

// finish is the MurmurHash3 finaliser.
func finish(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// hashToken mixes the token q[i:end] (non-empty) into h, ASCII lower-cased if
// fold is set.
func hashToken(h uint64, q string, i, end int, fold bool) uint64 {
	for {
		k := end - i
		last := uint64(chunkLast)
		if k > 7 {
			k, last = 7, 0
		}
		var w uint64
		if i+8 <= len(q) {
			w = load64(q, i) & (1<<(8*uint(k)) - 1)
		} else {
			for j := k - 1; j >= 0; j-- {
				w = w<<8 | uint64(q[i+j])
			}
		}
		if fold {
			w = lower8(w)
		}
		h = round(h, w|uint64(k)<<chunkLenShift|last)
		i += k
		if last != 0 {
			return h
		}
	}
}

// load64 returns the 8 bytes of s at i as a little-endian word; i+8 must not
// exceed len(s). The compiler turns this into one load.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// lower8 lower-cases the ASCII letters among the 8 bytes of w and leaves every
// other byte alone, as the lower table does for one byte.
func lower8(w uint64) uint64 {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	// For a byte x below 0x80, x + 0x80 - lo has its high bit set when
	// x >= lo, and x + 0x7f - hi when x > hi; no addition carries across
	// bytes.
	b := w &^ high
	return w | (b+ones*(0x80-'A'))&^(b+ones*(0x7f-'Z'))&^w&high>>2
}
