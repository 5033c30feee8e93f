package dictd

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func fixture() (string, []byte) {
	text := "00-database-info\nA test dictionary.\nbyte\n  Eight bits.\nbit\n  A binary digit.\n"
	i1 := strings.Index(text, "byte")
	i2 := strings.Index(text, "bit\n")
	index := fmt.Sprintf("00-database-info\tA\t%s\nbit\t%s\t%s\nbyte\t%s\t%s\n",
		EncodeNumber(int64(i1)), EncodeNumber(int64(i2)), EncodeNumber(int64(len(text)-i2)),
		EncodeNumber(int64(i1)), EncodeNumber(int64(i2-i1)))
	return index, []byte(text)
}

func TestNumbers(t *testing.T) {
	for _, v := range []int64{0, 1, 63, 64, 4095, 123456789} {
		got, err := DecodeNumber(EncodeNumber(v))
		if err != nil || got != v {
			t.Errorf("round trip %d: %d, %v", v, got, err)
		}
	}
	if v, _ := DecodeNumber("BA"); v != 64 {
		t.Errorf("BA = %d, want 64", v)
	}
	if _, err := DecodeNumber("*"); !errors.Is(err, ErrFormat) {
		t.Error("bad digit accepted")
	}
}

func TestEntries(t *testing.T) {
	index, text := fixture()
	idx, err := ParseIndex(strings.NewReader(index))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(idx, text)
	if err != nil {
		t.Fatal(err)
	}
	got := d.Entries()
	if len(got) != 2 || got[0] != "byte\n  Eight bits.\n" || got[1] != "bit\n  A binary digit.\n" {
		t.Errorf("entries %q", got)
	}
	if _, err := New([]IndexEntry{{"x", 5, 1000}}, text); !errors.Is(err, ErrFormat) {
		t.Error("out-of-range entry accepted")
	}
}

func FuzzParseIndex(f *testing.F) {
	index, text := fixture()
	f.Add(index)
	f.Add("a\tB\t\n")
	f.Add("x\t////////////\tA\n")
	f.Fuzz(func(t *testing.T, s string) {
		idx, err := ParseIndex(strings.NewReader(s))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error does not wrap ErrFormat: %v", err)
			}
			return
		}
		if d, err := New(idx, text); err == nil {
			d.Entries()
		}
	})
}

func Example() {
	index := "bit\tA\tX\n" // offset 0, length 23
	idx, err := ParseIndex(strings.NewReader(index))
	if err != nil {
		panic(err)
	}
	d, err := New(idx, []byte("bit\n  A binary digit.\n\n"))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", d.Text(idx[0]))
	// Output: "bit\n  A binary digit.\n\n"
}
