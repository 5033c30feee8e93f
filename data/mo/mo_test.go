package mo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func fixture() []Message {
	return []Message{
		{ID: "cannot open %s", Str: []string{"kann %s nicht öffnen"}},
		{ID: "%d file", Plural: "%d files", Str: []string{"%d Datei", "%d Dateien"}},
		{Context: "menu", ID: "Open", Str: []string{"Öffnen"}},
	}
}

func TestRoundTrip(t *testing.T) {
	b := Encode("Content-Type: text/plain; charset=UTF-8\n", fixture())
	c, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Header == "" {
		t.Error("header lost")
	}
	want := map[string]Message{}
	for _, m := range fixture() {
		want[m.ID] = m
	}
	if len(c.Messages) != 3 {
		t.Fatalf("got %d messages, want 3", len(c.Messages))
	}
	for _, m := range c.Messages {
		if !reflect.DeepEqual(m, want[m.ID]) {
			t.Errorf("got %+v, want %+v", m, want[m.ID])
		}
	}
}

func TestBigEndian(t *testing.T) {
	le := Encode("", fixture()[:1])
	// Swap every header and table word to big endian.
	be := append([]byte(nil), le...)
	n := binary.LittleEndian.Uint32(le[8:])
	words := 7 + 4*int(n)
	for i := 0; i < words; i++ {
		binary.BigEndian.PutUint32(be[4*i:], binary.LittleEndian.Uint32(le[4*i:]))
	}
	c, err := Parse(be)
	if err != nil {
		t.Fatal(err)
	}
	if c.Messages[0].Str[0] != "kann %s nicht öffnen" {
		t.Errorf("got %q", c.Messages[0].Str[0])
	}
}

func TestCorrupt(t *testing.T) {
	b := Encode("", fixture())
	for _, bad := range [][]byte{nil, b[:10], append([]byte{1, 2, 3, 4}, b[4:]...), b[:40]} {
		if _, err := Parse(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("Parse(%d bytes): err = %v, want ErrFormat", len(bad), err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Encode("h", fixture()))
	f.Add(Encode("", nil))
	f.Add([]byte{0xde, 0x12, 0x04, 0x95, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0, 28, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error does not wrap ErrFormat: %v", err)
			}
			return
		}
		for _, m := range c.Messages {
			if len(m.Str) == 0 {
				t.Fatalf("message without translation slot %+v", m)
			}
		}
	})
}

func Example() {
	b := Encode("", []Message{{ID: "file not found", Str: []string{"Datei nicht gefunden"}}})
	c, err := Parse(b)
	if err != nil {
		panic(err)
	}
	for _, m := range c.Messages {
		fmt.Printf("%s -> %s\n", m.ID, m.Str[0])
	}
	// Output: file not found -> Datei nicht gefunden
}
