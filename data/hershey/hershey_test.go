package hershey

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// A tiny font: space, then "!" drawn as a vertical bar and a dot, split
// over a continuation line.
const fixture = "12345  1JZ\n12345  6MWRFRT\n RRYQZ\n"

func TestParse(t *testing.T) {
	f, err := Parse(strings.NewReader(fixture))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Glyphs) != 2 {
		t.Fatalf("%d glyphs", len(f.Glyphs))
	}
	if _, ok := f.Rune(' '); ok {
		t.Error("space has strokes")
	}
	g, ok := f.Rune('!')
	if !ok || g.Left != -5 || g.Right != 5 || len(g.Strokes) != 2 {
		t.Fatalf("glyph %+v", g)
	}
	if g.Strokes[0][0] != (Point{0, -12}) || g.Strokes[1][0] != (Point{0, 7}) {
		t.Errorf("strokes %v", g.Strokes)
	}
}

func TestErrors(t *testing.T) {
	for _, s := range []string{"123\n", "12345 xxJZ\n", "12345  9JZRF\n"} {
		if _, err := Parse(strings.NewReader(s)); !errors.Is(err, ErrFormat) {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
}

func TestRasterize(t *testing.T) {
	img := Rasterize([][]Point{{{2, 5}, {8, 5}}}, 2, 10, 10)
	if img[5*10+5] != 1 || img[0] != 0 {
		t.Errorf("centre %v corner %v", img[55], img[0])
	}
}

func FuzzParse(f *testing.F) {
	f.Add(fixture)
	f.Add("12345  3E_IR[R\n")
	f.Add("    1  2 R R\n")
	f.Fuzz(func(t *testing.T, s string) {
		font, err := Parse(strings.NewReader(s))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error does not wrap ErrFormat: %v", err)
			}
			return
		}
		for _, g := range font.Glyphs {
			g.Bounds()
		}
	})
}

func Example() {
	f, err := Parse(strings.NewReader("12345  1JZ\n12345  3E_IR[R\n")) // space and "!" as a dash
	if err != nil {
		panic(err)
	}
	g, _ := f.Rune('!')
	fmt.Println(g.Strokes)
	// Output: [[{-9 0} {9 0}]]
}
