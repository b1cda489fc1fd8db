package sqlfp

import (
	"strings"
	"testing"
)

// TestSWAR checks the word-wide classification against the byte tables for
// every byte value in every position, among neighbours that could carry or
// borrow into it.
func TestSWAR(t *testing.T) {
	for _, fill := range []byte{0x00, ' ', 'a', 'Z', '_', '9', 0x7f, 0x80, 0xe1, 0xff} {
		for pos := range 8 {
			for v := range 256 {
				var b [8]byte
				for j := range b {
					b[j] = fill
				}
				b[pos] = byte(v)
				w := load64(string(b[:]), 0)
				letters, nonWord := swarWord(w)
				if got := swarNonWord(w, swarLetters(w)); got != nonWord {
					t.Fatalf("swarNonWord(%#x) = %#x, swarWord says %#x", w, got, nonWord)
				}
				lw := w | letters>>2
				for j := range 8 {
					c := b[j]
					if got, want := nonWord>>(8*j+7)&1 == 1, !isWordByte(c); got != want {
						t.Fatalf("%q: byte %d (%#x): non-word %v, want %v", b, j, c, got, want)
					}
					isLetter := 'a' <= c|0x20 && c|0x20 <= 'z'
					if got := letters>>(8*j+7)&1 == 1; got != isLetter {
						t.Fatalf("%q: byte %d (%#x): letter %v, want %v", b, j, c, got, isLetter)
					}
					if got := byte(lw >> (8 * j)); got != lower[c] {
						t.Fatalf("%q: byte %d (%#x) lower-cased to %#x, want %#x", b, j, c, got, lower[c])
					}
					// The cheap test in Fingerprint's word path: a byte that
					// is not letter-like is either not a word byte or sends
					// the word path to swarNonWord.
					if letterLike := swarLetters(w)>>(8*j+7)&1 == 1; letterLike && !isWordByte(c) {
						t.Fatalf("%q: byte %d (%#x) looks like a letter but is not a word byte", b, j, c)
					}
				}
			}
		}
	}
}

func TestLoadTail(t *testing.T) {
	q := "0123456789abcdef"
	for n := 0; n <= len(q); n++ {
		for i := max(0, n-7); i < n; i++ { // where load64 would run past the end
			want := uint64(0)
			for j := n - 1; j >= i; j-- {
				want = want<<8 | uint64(q[j])
			}
			if got := loadTail(q[:n], i); got != want {
				t.Errorf("loadTail(%q, %d) = %#x, want %#x", q[:n], i, got, want)
			}
		}
	}
}

// TestFingerprintWordsMatchReference drives the word path through every
// word length up to three chunks, every byte after the word, mixed case,
// non-ASCII, and every distance from the end of the query.
func TestFingerprintWordsMatchReference(t *testing.T) {
	const letters = "SeLeCtFrOmWhErEaNdVaLuEs"
	var words []string
	for n := 1; n <= 22; n++ {
		words = append(words, letters[:n], strings.ToLower(letters[:n]))
		for _, mid := range []string{"_", "9", "$", "\xc3\xa9", "\xff"} {
			if n > 1 {
				words = append(words, letters[:n/2]+mid+letters[n/2:n])
			}
		}
	}
	words = append(words, "is", "IS", "not", "true", "TRUE", "null", "NuLl", "false", "values", "VALUES",
		"e", "E", "u", "U", "x", "n", "b", "_", "_x", "\xc5", "\xc5x")
	for _, w := range words {
		for c := range 256 {
			for _, tail := range []string{"", " ", "  x", " 1", "x y z w v", "'s'", "&'s'"} {
				q := w + string([]byte{byte(c)}) + tail
				checkAgainstReference(t, q)
				checkAgainstReference(t, "a IS "+q)
				checkAgainstReference(t, "t."+q)
				if t.Failed() {
					return
				}
			}
		}
	}
}
