// Package dictd reads dictionaries in the dictd server's format: a .index
// file of "headword TAB offset TAB length" lines, with offset and length
// written in dictd's base64 digits (A-Z a-z 0-9 + /, most significant
// first), and a .dict file (or its gzip/dictzip-compressed .dict.dz) holding
// the entries' text at those byte ranges.
package dictd

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// An IndexEntry locates one headword's text in the .dict file.
type IndexEntry struct {
	Headword       string
	Offset, Length int64
}

// ErrFormat is wrapped by index parse errors.
var ErrFormat = errors.New("malformed dictd index")

// DecodeNumber decodes a dictd base64 number.
func DecodeNumber(s string) (int64, error) {
	if s == "" || len(s) > 10 {
		return 0, fmt.Errorf("%w: bad number %q", ErrFormat, s)
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d int64
		switch {
		case c >= 'A' && c <= 'Z':
			d = int64(c - 'A')
		case c >= 'a' && c <= 'z':
			d = int64(c-'a') + 26
		case c >= '0' && c <= '9':
			d = int64(c-'0') + 52
		case c == '+':
			d = 62
		case c == '/':
			d = 63
		default:
			return 0, fmt.Errorf("%w: bad digit %q in %q", ErrFormat, c, s)
		}
		v = v<<6 | d
	}
	return v, nil
}

// EncodeNumber writes v in dictd base64 digits.
func EncodeNumber(v int64) string {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	if v <= 0 {
		return "A"
	}
	var b []byte
	for ; v > 0; v >>= 6 {
		b = append([]byte{digits[v&63]}, b...)
	}
	return string(b)
}

// ParseIndex parses a .index file.
func ParseIndex(r io.Reader) ([]IndexEntry, error) {
	var out []IndexEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	ln := 0
	for sc.Scan() {
		ln++
		line := sc.Text()
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			return nil, fmt.Errorf("%w: line %d: want 3 tab-separated fields, got %d", ErrFormat, ln, len(f))
		}
		off, err := DecodeNumber(f[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", ln, err)
		}
		n, err := DecodeNumber(f[2])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", ln, err)
		}
		out = append(out, IndexEntry{Headword: f[0], Offset: off, Length: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return out, nil
}

// A Dict is an opened dictionary.
type Dict struct {
	Index []IndexEntry
	text  []byte
}

// Open reads name.index and name.dict.dz (or name.dict), for example
// Open("/usr/share/dictd/foldoc").
func Open(name string) (*Dict, error) {
	f, err := os.Open(name + ".index")
	if err != nil {
		return nil, err
	}
	idx, err := ParseIndex(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s.index: %w", name, err)
	}
	var text []byte
	if b, err := os.ReadFile(name + ".dict.dz"); err == nil {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s.dict.dz: %w", name, err)
		}
		if text, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("%s.dict.dz: %w", name, err)
		}
	} else if text, err = os.ReadFile(name + ".dict"); err != nil {
		return nil, err
	}
	return New(idx, text)
}

// New checks that every index entry lies inside text.
func New(idx []IndexEntry, text []byte) (*Dict, error) {
	for _, e := range idx {
		if e.Offset < 0 || e.Length < 0 || e.Offset+e.Length > int64(len(text)) {
			return nil, fmt.Errorf("%w: entry %q (offset %d, length %d) lies outside the %d-byte text", ErrFormat, e.Headword, e.Offset, e.Length, len(text))
		}
	}
	return &Dict{Index: idx, text: text}, nil
}

// Text returns the text of an index entry.
func (d *Dict) Text(e IndexEntry) string { return string(d.text[e.Offset : e.Offset+e.Length]) }

// Entries returns the distinct entry texts in file order, skipping the
// dictionary's own metadata entries (headwords starting with "00database"
// or "00-database").
func (d *Dict) Entries() []string {
	idx := append([]IndexEntry(nil), d.Index...)
	sort.SliceStable(idx, func(i, j int) bool { return idx[i].Offset < idx[j].Offset })
	var out []string
	last := int64(-1)
	for _, e := range idx {
		if e.Offset == last || strings.HasPrefix(e.Headword, "00database") || strings.HasPrefix(e.Headword, "00-database") {
			continue
		}
		last = e.Offset
		t := d.Text(e)
		if strings.HasPrefix(t, "00-database") || strings.HasPrefix(t, "00database") {
			continue
		}
		out = append(out, t)
	}
	return out
}
