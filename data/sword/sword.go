// Package sword reads Bible texts stored with SWORD's zText driver and
// turns their OSIS markup into plain text.
//
// A zText testament ("ot" or "nt") is three files: NAME.bzz holds
// zlib-compressed blocks; NAME.bzs indexes the blocks with 12-byte records
// (offset, compressed size, uncompressed size; uint32 little endian); and
// NAME.bzv indexes the entries (module and book headers, chapter headers and
// verses, in versification order) with 10-byte records (block number and
// offset as uint32, size as uint16) into the uncompressed blocks.
package sword

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ErrFormat is wrapped by every parse error.
var ErrFormat = errors.New("malformed SWORD zText data")

// ReadTestament reads the raw entries of testament ("ot" or "nt") in dir.
func ReadTestament(dir, testament string) ([]string, error) {
	read := func(ext string) ([]byte, error) {
		return os.ReadFile(filepath.Join(dir, testament+"."+ext))
	}
	bzs, err := read("bzs")
	if err != nil {
		return nil, err
	}
	bzv, err := read("bzv")
	if err != nil {
		return nil, err
	}
	bzz, err := read("bzz")
	if err != nil {
		return nil, err
	}
	ents, err := Parse(bzs, bzv, bzz)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, testament), err)
	}
	return ents, nil
}

// maxBlock bounds one decompressed block, against corrupt sizes.
const maxBlock = 64 << 20

// Parse decodes the entries given the contents of the .bzs, .bzv and .bzz
// files.
func Parse(bzs, bzv, bzz []byte) ([]string, error) {
	if len(bzs)%12 != 0 {
		return nil, fmt.Errorf("%w: block index size %d is not a multiple of 12", ErrFormat, len(bzs))
	}
	if len(bzv)%10 != 0 {
		return nil, fmt.Errorf("%w: verse index size %d is not a multiple of 10", ErrFormat, len(bzv))
	}
	le := binary.LittleEndian
	nblocks := len(bzs) / 12
	blocks := make([][]byte, nblocks)
	block := func(i int) ([]byte, error) {
		if blocks[i] != nil {
			return blocks[i], nil
		}
		off, size, usize := uint64(le.Uint32(bzs[12*i:])), uint64(le.Uint32(bzs[12*i+4:])), uint64(le.Uint32(bzs[12*i+8:]))
		if off+size > uint64(len(bzz)) {
			return nil, fmt.Errorf("%w: block %d (offset %d, size %d) runs past the end of the data", ErrFormat, i, off, size)
		}
		if usize > maxBlock {
			return nil, fmt.Errorf("%w: block %d claims %d bytes uncompressed", ErrFormat, i, usize)
		}
		zr, err := zlib.NewReader(bytes.NewReader(bzz[off : off+size]))
		if err != nil {
			return nil, fmt.Errorf("%w: block %d: %v", ErrFormat, i, err)
		}
		b, err := io.ReadAll(io.LimitReader(zr, maxBlock+1))
		if err != nil {
			return nil, fmt.Errorf("%w: block %d: %v", ErrFormat, i, err)
		}
		if len(b) == 0 {
			b = []byte{}
		}
		blocks[i] = b
		return b, nil
	}
	n := len(bzv) / 10
	out := make([]string, n)
	for i := 0; i < n; i++ {
		bi, off, size := int(le.Uint32(bzv[10*i:])), uint64(le.Uint32(bzv[10*i+4:])), uint64(le.Uint16(bzv[10*i+8:]))
		if size == 0 {
			continue
		}
		if bi < 0 || bi >= nblocks {
			return nil, fmt.Errorf("%w: entry %d names block %d of %d", ErrFormat, i, bi, nblocks)
		}
		b, err := block(bi)
		if err != nil {
			return nil, err
		}
		if off+size > uint64(len(b)) {
			return nil, fmt.Errorf("%w: entry %d (offset %d, size %d) runs past its %d-byte block", ErrFormat, i, off, size, len(b))
		}
		out[i] = string(b[off : off+size])
	}
	return out, nil
}

var (
	noteRE    = regexp.MustCompile(`(?s)<note\b[^>]*>.*?</note>`)
	titleRE   = regexp.MustCompile(`(?s)<title\b[^>]*>.*?</title>`)
	tagRE     = regexp.MustCompile(`<[^>]*>`)
	chapterRE = regexp.MustCompile(`<chapter\b[^>]*\bosisID="([^"]+)"[^>]*\bsID=[^>]*>`)
)

// StripOSIS removes OSIS markup, footnotes and headings, leaving the text.
func StripOSIS(s string) string {
	s = noteRE.ReplaceAllString(s, "")
	s = titleRE.ReplaceAllString(s, "")
	s = tagRE.ReplaceAllString(s, " ")
	s = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'").Replace(s)
	s = strings.Join(strings.Fields(s), " ")
	// Tags replaced by blanks leave gaps before punctuation: "Christ ,".
	return strings.NewReplacer(" ,", ",", " .", ".", " ;", ";", " :", ":", " ?", "?", " !", "!", " ’", "’", " ”", "”", "“ ", "“", "‘ ", "‘").Replace(s)
}

// A Chapter is the plain text of one chapter.
type Chapter struct {
	ID   string // OSIS id, e.g. "Matt.2"
	Text string
}

// Chapters groups raw entries into chapters, using the <chapter osisID=…
// sID=…/> milestones of the markup.
func Chapters(entries []string) []Chapter {
	var out []Chapter
	var cur Chapter
	var b strings.Builder
	flush := func() {
		if t := strings.TrimSpace(b.String()); t != "" && cur.ID != "" {
			cur.Text = t
			out = append(out, cur)
		}
		b.Reset()
	}
	for _, e := range entries {
		if m := chapterRE.FindStringSubmatchIndex(e); m != nil {
			// Text before the milestone closes the previous chapter.
			if t := StripOSIS(e[:m[0]]); t != "" {
				b.WriteString(" " + t)
			}
			flush()
			cur = Chapter{ID: e[m[2]:m[3]]}
			e = e[m[1]:]
		}
		if t := StripOSIS(e); t != "" {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(t)
		}
	}
	flush()
	return out
}
