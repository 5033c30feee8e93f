// Package mo reads GNU gettext message catalogues (.mo files).
//
// A .mo file starts with a magic number (0x950412de, in either byte order),
// a revision, the number of strings N and the offsets of two tables of N
// (length, offset) pairs: the original strings (msgids) and their
// translations (msgstrs). A msgid may carry a context ("ctxt\x04id") and a
// plural form ("singular\x00plural"); a msgstr of a plural message holds the
// forms separated by NUL bytes. The entry with an empty msgid is the header.
package mo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
)

// A Message is one catalogue entry.
type Message struct {
	Context string   // msgctxt, or ""
	ID      string   // msgid (singular)
	Plural  string   // msgid_plural, or ""
	Str     []string // msgstr; one element per plural form
}

// A Catalog is a parsed .mo file.
type Catalog struct {
	Header   string    // the translation of the empty msgid
	Messages []Message // in file order (sorted by msgid), header excluded
}

// ErrFormat is wrapped by every parse error.
var ErrFormat = errors.New("not a valid .mo file")

const magic = 0x950412de

// Parse parses the bytes of a .mo file.
func Parse(b []byte) (*Catalog, error) {
	if len(b) < 20 {
		return nil, fmt.Errorf("%w: %d bytes is too short for a header", ErrFormat, len(b))
	}
	var bo binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint32(b) == magic:
		bo = binary.LittleEndian
	case binary.BigEndian.Uint32(b) == magic:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: bad magic %#x", ErrFormat, binary.LittleEndian.Uint32(b))
	}
	if rev := bo.Uint32(b[4:]); rev>>16 > 1 {
		return nil, fmt.Errorf("%w: unsupported major revision %d", ErrFormat, rev>>16)
	}
	n := uint64(bo.Uint32(b[8:]))
	origOff := uint64(bo.Uint32(b[12:]))
	transOff := uint64(bo.Uint32(b[16:]))
	size := uint64(len(b))
	if origOff+8*n > size || transOff+8*n > size {
		return nil, fmt.Errorf("%w: string tables (%d entries) run past the end of the file", ErrFormat, n)
	}
	str := func(table, i uint64) (string, error) {
		p := table + 8*i
		l, off := uint64(bo.Uint32(b[p:])), uint64(bo.Uint32(b[p+4:]))
		if off+l > size {
			return "", fmt.Errorf("%w: string %d (offset %d, length %d) runs past the end of the file", ErrFormat, i, off, l)
		}
		return string(b[off : off+l]), nil
	}
	c := &Catalog{Messages: make([]Message, 0, n)}
	for i := uint64(0); i < n; i++ {
		id, err := str(origOff, i)
		if err != nil {
			return nil, err
		}
		tr, err := str(transOff, i)
		if err != nil {
			return nil, err
		}
		if id == "" {
			c.Header = tr
			continue
		}
		var m Message
		if ctx, rest, ok := strings.Cut(id, "\x04"); ok {
			m.Context, id = ctx, rest
		}
		m.ID, m.Plural, _ = strings.Cut(id, "\x00")
		m.Str = strings.Split(tr, "\x00")
		c.Messages = append(c.Messages, m)
	}
	return c, nil
}

// ReadFile parses the .mo file at path; errors name the file.
func ReadFile(path string) (*Catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Encode writes a little-endian .mo file holding msgs (and the header when
// non-empty), sorted by msgid as gettext expects, without a hash table. It
// is used to make test fixtures.
func Encode(header string, msgs []Message) []byte {
	type pair struct{ id, str string }
	pairs := []pair{}
	if header != "" {
		pairs = append(pairs, pair{"", header})
	}
	for _, m := range msgs {
		id := m.ID
		if m.Plural != "" {
			id += "\x00" + m.Plural
		}
		if m.Context != "" {
			id = m.Context + "\x04" + id
		}
		pairs = append(pairs, pair{id, strings.Join(m.Str, "\x00")})
	}
	for i := 1; i < len(pairs); i++ { // insertion sort: fixtures are small
		for j := i; j > 0 && pairs[j].id < pairs[j-1].id; j-- {
			pairs[j], pairs[j-1] = pairs[j-1], pairs[j]
		}
	}
	n := uint32(len(pairs))
	origOff := uint32(28)
	transOff := origOff + 8*n
	strOff := transOff + 8*n
	out := make([]byte, strOff)
	le := binary.LittleEndian
	le.PutUint32(out[0:], magic)
	le.PutUint32(out[8:], n)
	le.PutUint32(out[12:], origOff)
	le.PutUint32(out[16:], transOff)
	le.PutUint32(out[24:], strOff) // hash table offset; size 0
	add := func(table uint32, i int, s string) {
		le.PutUint32(out[table+8*uint32(i):], uint32(len(s)))
		le.PutUint32(out[table+8*uint32(i)+4:], uint32(len(out)))
		out = append(out, s...)
		out = append(out, 0)
	}
	for i, p := range pairs {
		add(origOff, i, p.id)
	}
	for i, p := range pairs {
		add(transOff, i, p.str)
	}
	return out
}
