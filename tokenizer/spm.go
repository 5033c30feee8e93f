package tokenizer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The normalizers and pre-tokenizers of SentencePiece models in Hugging
// Face's tokenizer.json.

// A normalizer rewrites text before it is split.
type normalizer interface {
	normalize(s string) string
}

// precompiled is SentencePiece's normalization table (the
// precompiled_charsmap of a model's normalizer_spec): a Darts-clone double
// array trie over UTF-8 byte strings whose values are offsets of
// NUL-terminated replacements in a blob. The layout is a little-endian
// uint32 trie size in bytes, the trie's 32-bit units, then the blob.
type precompiled struct {
	units []uint32
	blob  []byte
}

func parsePrecompiled(b []byte) (*precompiled, error) {
	if len(b) < 4 {
		return nil, errors.New("precompiled_charsmap is shorter than its header")
	}
	size := binary.LittleEndian.Uint32(b)
	if size%4 != 0 || uint64(size) > uint64(len(b)-4) {
		return nil, errors.New("precompiled_charsmap: bad trie size")
	}
	p := &precompiled{units: make([]uint32, size/4), blob: b[4+size:]}
	for i := range p.units {
		p.units[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	if len(p.units) == 0 {
		return nil, errors.New("precompiled_charsmap: empty trie")
	}
	return p, nil
}

// Fields of a Darts-clone unit.
func dartsOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }
func dartsLabel(u uint32) uint32  { return u & (1<<31 | 0xff) }
func dartsHasLeaf(u uint32) bool  { return u>>8&1 == 1 }
func dartsValue(u uint32) uint32  { return u & (1<<31 - 1) }

// longest returns the length of the longest key that s starts with and its
// replacement, or 0 if no key matches.
func (p *precompiled) longest(s string) (int, string) {
	n := uint32(len(p.units))
	pos := dartsOffset(p.units[0])
	matched, value := 0, uint32(0)
	for i := 0; i < len(s) && s[i] != 0; i++ {
		pos ^= uint32(s[i])
		if pos >= n {
			break
		}
		u := p.units[pos]
		if dartsLabel(u) != uint32(s[i]) {
			break
		}
		pos ^= dartsOffset(u)
		if dartsHasLeaf(u) {
			if pos >= n {
				break
			}
			matched, value = i+1, dartsValue(p.units[pos])
		}
	}
	if matched == 0 || int(value) >= len(p.blob) {
		return 0, ""
	}
	rest := p.blob[value:]
	if end := bytes.IndexByte(rest, 0); end >= 0 {
		rest = rest[:end]
	}
	return matched, string(rest)
}

// normalize replaces, from left to right, the longest key at each place by
// its replacement, as SentencePiece's normalizer does; where no key
// matches, a character stays as it is and an invalid UTF-8 byte becomes
// U+FFFD. (Hugging Face's tokenizers look keys up per grapheme cluster
// instead; the two agree on ordinary text.)
func (p *precompiled) normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if n, rep := p.longest(s[i:]); n > 0 {
			b.WriteString(rep)
			i += n
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// strip removes whitespace at the ends.
type strip struct{ left, right bool }

func (n strip) normalize(s string) string {
	if n.left {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
	}
	if n.right {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
	}
	return s
}

// replace replaces every match of a pattern, a literal string or a regular
// expression, by content.
type replace struct {
	re      *regexp.Regexp // nil for a literal
	literal string
	content string
}

func (n replace) normalize(s string) string {
	if n.re != nil {
		return n.re.ReplaceAllLiteralString(s, n.content)
	}
	if n.literal == "" {
		return s
	}
	return strings.ReplaceAll(s, n.literal, n.content)
}

// unicodeNorm is one of the Unicode normalization forms.
type unicodeNorm struct{ form norm.Form }

func (n unicodeNorm) normalize(s string) string { return n.form.String(s) }

// lowercase lower-cases text.
type lowercase struct{}

func (lowercase) normalize(s string) string { return lower(s) }

// prepend puts a string in front of non-empty text.
type prepend struct{ s string }

func (n prepend) normalize(s string) string {
	if s == "" {
		return s
	}
	return n.s + s
}

// A preTokenizer splits normalized text into the pieces the model
// segments: nothing (one piece), whitespace, Metaspace, or those in turn.
type preTokenizer struct {
	whitespace bool       // split at whitespace first (WhitespaceSplit)
	meta       *metaspace // nil: no Metaspace
}

// Metaspace's prepend schemes.
const (
	prependAlways = iota
	prependFirst
	prependNever
)

// metaspace is Hugging Face's Metaspace pre-tokenizer and decoder: spaces
// become the replacement "▁", one is put in front of each piece (always,
// only at the start of the text, or never) unless it starts with one, and
// with split the text is cut before each "▁".
type metaspace struct {
	replacement rune
	prepend     int
	split       bool
}

// split calls f with each piece of s; atStart says whether s begins the
// text.
func (p *preTokenizer) split(s string, atStart bool, f func(string)) {
	if !p.whitespace {
		p.metaspace(s, atStart, f)
		return
	}
	start := -1
	for i, r := range s {
		if unicode.IsSpace(r) {
			if start >= 0 {
				p.metaspace(s[start:i], atStart && start == 0, f)
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		p.metaspace(s[start:], atStart && start == 0, f)
	}
}

func (p *preTokenizer) metaspace(s string, atStart bool, f func(string)) {
	m := p.meta
	if m == nil {
		if s != "" {
			f(s)
		}
		return
	}
	if s == "" {
		return
	}
	rep := string(m.replacement)
	s = strings.ReplaceAll(s, " ", rep)
	if (m.prepend == prependAlways || m.prepend == prependFirst && atStart) && !strings.HasPrefix(s, rep) {
		s = rep + s
	}
	if !m.split {
		f(s)
		return
	}
	// Cut before each replacement, which starts the piece after it.
	start := 0
	for i, r := range s {
		if r == m.replacement && i > start {
			f(s[start:i])
			start = i
		}
	}
	f(s[start:])
}
