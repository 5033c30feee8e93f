package sword

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// encode builds the three zText files holding entries in one block.
func encode(entries []string) (bzs, bzv, bzz []byte) {
	var raw bytes.Buffer
	le := binary.LittleEndian
	for _, e := range entries {
		rec := make([]byte, 10)
		le.PutUint32(rec[0:], 0)
		le.PutUint32(rec[4:], uint32(raw.Len()))
		le.PutUint16(rec[8:], uint16(len(e)))
		bzv = append(bzv, rec...)
		raw.WriteString(e)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()
	bzs = make([]byte, 12)
	le.PutUint32(bzs[4:], uint32(z.Len()))
	le.PutUint32(bzs[8:], uint32(raw.Len()))
	return bzs, bzv, z.Bytes()
}

var fixture = []string{
	"",
	`<div type="book" osisID="Gen"/><title type="main">Genesis</title>`,
	`<chapter n="1" osisID="Gen.1" sID="Gen.1"/>`,
	`<w lemma="x">In</w> the beginning<note placement="foot">a note</note>, God created.`,
	`The earth was formless.`,
	`<chapter n="2" osisID="Gen.2" sID="Gen.2"/>`,
	`The heavens were finished.`,
}

func TestParseAndChapters(t *testing.T) {
	ents, err := Parse(encode(fixture))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != len(fixture) || ents[4] != fixture[4] {
		t.Fatalf("entries %q", ents)
	}
	ch := Chapters(ents)
	want := []Chapter{{"Gen.1", "In the beginning, God created. The earth was formless."}, {"Gen.2", "The heavens were finished."}}
	if len(ch) != 2 || ch[0] != want[0] || ch[1] != want[1] {
		t.Errorf("chapters %q", ch)
	}
}

func TestCorrupt(t *testing.T) {
	bzs, bzv, bzz := encode(fixture)
	bad := append([]byte(nil), bzv...)
	binary.LittleEndian.PutUint32(bad[10*3:], 7) // block 7 does not exist
	if _, err := Parse(bzs, bad, bzz); !errors.Is(err, ErrFormat) {
		t.Errorf("bad block number: %v", err)
	}
	if _, err := Parse(bzs, bzv, bzz[:5]); !errors.Is(err, ErrFormat) {
		t.Errorf("truncated data: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	bzs, bzv, bzz := encode(fixture)
	f.Add(bzs, bzv, bzz)
	f.Add(bzs, bzv[:20], bzz)
	f.Fuzz(func(t *testing.T, bzs, bzv, bzz []byte) {
		ents, err := Parse(bzs, bzv, bzz)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error does not wrap ErrFormat: %v", err)
			}
			return
		}
		Chapters(ents)
	})
}

func Example() {
	fmt.Println(StripOSIS(`<w lemma="strong:G2424">Jesus</w> wept<note placement="foot">Greek</note>.`))
	// Output: Jesus wept.
}
