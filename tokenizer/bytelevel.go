package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// byteRune maps each byte to the printable rune that stands for it in a
// byte-level vocabulary (GPT-2's bytes_to_unicode), and runeByte inverts it.
// byteOrder lists the bytes in GPT-2's order: the printable ones first, then
// the rest; GPT-2's token ids 0..255 follow this order.
var (
	byteRune  [256]rune
	runeByte  = make(map[rune]byte, 256)
	byteOrder [256]byte
)

func init() {
	n, k := 0, 0
	for b := 0; b < 256; b++ {
		if printableByte(byte(b)) {
			byteRune[b] = rune(b)
			byteOrder[k] = byte(b)
			k++
		}
	}
	for b := 0; b < 256; b++ {
		if !printableByte(byte(b)) {
			byteRune[b] = rune(256 + n)
			byteOrder[k] = byte(b)
			n++
			k++
		}
	}
	for b, r := range byteRune {
		runeByte[r] = byte(b)
	}
}

func printableByte(b byte) bool {
	return '!' <= b && b <= '~' || 0xA1 <= b && b <= 0xAC || 0xAE <= b
}

// byteLevelString returns the byte-level form of raw bytes, as stored in a
// byte-level BPE vocabulary ("Ġhello" for " hello").
func byteLevelString(raw string) string {
	buf := make([]rune, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		buf = append(buf, byteRune[raw[i]])
	}
	return string(buf)
}

// byteLevelBytes inverts byteLevelString. If tok holds a rune that is not a
// byte-level rune, ok is false.
func byteLevelBytes(tok string) (raw []byte, ok bool) {
	raw = make([]byte, 0, len(tok))
	for _, r := range tok {
		b, found := runeByte[r]
		if !found {
			return nil, false
		}
		raw = append(raw, b)
	}
	return raw, true
}

// Character classes of GPT-2's pre-tokenization pattern.
const (
	classOther  = iota // [^\s\p{L}\p{N}]
	classLetter        // \p{L}
	classNumber        // \p{N}
	classSpace         // \s
)

var asciiClass [utf8.RuneSelf]uint8

func init() {
	for r := rune(0); r < utf8.RuneSelf; r++ {
		asciiClass[r] = slowClass(r)
	}
}

func slowClass(r rune) uint8 {
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r):
		return classSpace
	}
	return classOther
}

// classAt returns the class of the rune at s[i] and its width. A byte that
// does not start valid UTF-8 counts as one rune of class other.
func classAt(s string, i int) (class uint8, width int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && w == 1 {
		return classOther, 1
	}
	return slowClass(r), w
}

// scanClass returns the end of the run of runes of class c starting at s[i].
func scanClass(s string, i int, c uint8) int {
	for i < len(s) {
		ci, w := classAt(s, i)
		if ci != c {
			break
		}
		i += w
	}
	return i
}

// gpt2PieceEnd returns the end of the pre-token that starts at s[i], i <
// len(s). Successive calls split s exactly as GPT-2's pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// does, the lookahead included. Bytes that are not valid UTF-8 are treated
// as runes of class [^\s\p{L}\p{N}].
func gpt2PieceEnd(s string, i int) int {
	// 's|'t|'re|'ve|'m|'ll|'d
	if s[i] == '\'' && i+1 < len(s) {
		switch s[i+1] {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r', 'v':
			if i+2 < len(s) && s[i+2] == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < len(s) && s[i+2] == 'l' {
				return i + 3
			}
		}
	}
	// ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+': an optional ASCII space
	// then a run of one class.
	j := i
	if s[i] == ' ' && i+1 < len(s) {
		j = i + 1
	}
	if c, w := classAt(s, j); c != classSpace {
		return scanClass(s, j+w, c)
	}
	// s[i] is whitespace, and so is s[j].
	end := scanClass(s, i, classSpace)
	if end == len(s) {
		return end // \s+(?!\S) at the end of the text
	}
	// \s+(?!\S): give back the last whitespace rune so that the run is
	// followed by whitespace; if the run is a single rune, \s+ takes it.
	_, w := utf8.DecodeLastRuneInString(s[i:end])
	if end-w > i {
		return end - w
	}
	return end
}

// appendLossy appends b to dst as UTF-8, replacing each maximal ill-formed
// subsequence with U+FFFD, as Python's errors="replace" and Rust's
// String::from_utf8_lossy do.
func appendLossy(dst []byte, b []byte) []byte {
	for len(b) > 0 {
		r, w := utf8.DecodeRune(b)
		if r != utf8.RuneError || w != 1 {
			dst = append(dst, b[:w]...)
			b = b[w:]
			continue
		}
		dst = append(dst, "\uFFFD"...)
		b = b[maximalSubpart(b):]
	}
	return dst
}

// maximalSubpart returns the length of the maximal prefix of b that could
// start a well-formed UTF-8 sequence but does not complete one (at least 1).
func maximalSubpart(b []byte) int {
	c := b[0]
	var n int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case 0xC2 <= c && c <= 0xDF:
		n = 2
	case c == 0xE0:
		n, lo = 3, 0xA0
	case 0xE1 <= c && c <= 0xEC, c == 0xEE, c == 0xEF:
		n = 3
	case c == 0xED:
		n, hi = 3, 0x9F
	case c == 0xF0:
		n, lo = 4, 0x90
	case 0xF1 <= c && c <= 0xF3:
		n = 4
	case c == 0xF4:
		n, hi = 4, 0x8F
	default:
		return 1
	}
	k := 1
	for k < n && k < len(b) {
		if b[k] < lo || b[k] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
		k++
	}
	return k
}
