// Package hershey reads Hershey vector fonts in the .jhf format and
// rasterizes their strokes.
//
// Each glyph of a .jhf file starts on a new line with a 5-column glyph
// number and a 3-column vertex count, followed by that many coordinate pairs
// written as two characters each, value = character − 'R'. The first pair
// holds the glyph's left and right margins; the pair " R" lifts the pen.
// Long glyphs continue on the next lines. In the fonts of
// hershey-fonts-data the n-th glyph (from 0) is ASCII character 32+n.
// Coordinates grow rightwards and downwards.
package hershey

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// A Point is a stroke vertex in font units.
type Point struct{ X, Y float64 }

// A Glyph is a set of strokes (polylines).
type Glyph struct {
	Number      int // the number in the file's first column
	Left, Right int // horizontal extent
	Strokes     [][]Point
}

// A Font is a parsed .jhf file.
type Font struct {
	Glyphs []Glyph // in file order
}

// ErrFormat is wrapped by every parse error.
var ErrFormat = errors.New("malformed Hershey .jhf data")

// Parse reads a .jhf font.
func Parse(r io.Reader) (*Font, error) {
	br := bufio.NewReader(r)
	f := &Font{}
	line := 0
	readLine := func() (string, bool, error) {
		s, err := br.ReadString('\n')
		if err == io.EOF && s == "" {
			return "", false, nil
		}
		if err != nil && err != io.EOF {
			return "", false, err
		}
		line++
		return strings.TrimRight(s, "\r\n"), true, nil
	}
	for {
		s, ok, err := readLine()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		if len(s) < 8 {
			return nil, fmt.Errorf("%w: line %d: glyph header %q is shorter than 8 columns", ErrFormat, line, s)
		}
		num, err1 := strconv.Atoi(strings.TrimSpace(s[:5]))
		nv, err2 := strconv.Atoi(strings.TrimSpace(s[5:8]))
		if err1 != nil || err2 != nil || nv < 1 || nv > 4096 {
			return nil, fmt.Errorf("%w: line %d: bad glyph header %q", ErrFormat, line, s[:8])
		}
		d := []byte(s[8:])
		for len(d) < 2*nv {
			more, ok, err := readLine()
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("%w: glyph %d: file ends after %d of %d vertices", ErrFormat, num, len(d)/2, nv)
			}
			d = append(d, more...)
		}
		g := Glyph{Number: num, Left: int(d[0]) - 'R', Right: int(d[1]) - 'R'}
		var cur []Point
		for i := 1; i < nv; i++ {
			x, y := d[2*i], d[2*i+1]
			if x == ' ' && y == 'R' {
				if len(cur) > 0 {
					g.Strokes = append(g.Strokes, cur)
				}
				cur = nil
				continue
			}
			cur = append(cur, Point{float64(int(x) - 'R'), float64(int(y) - 'R')})
		}
		if len(cur) > 0 {
			g.Strokes = append(g.Strokes, cur)
		}
		f.Glyphs = append(f.Glyphs, g)
	}
	return f, nil
}

// ReadFile parses the .jhf file at path.
func ReadFile(path string) (*Font, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Rune returns the glyph of ASCII character r (glyph index r−32), and
// whether the font has a non-empty glyph there.
func (f *Font) Rune(r rune) (Glyph, bool) {
	i := int(r) - 32
	if i < 0 || i >= len(f.Glyphs) || len(f.Glyphs[i].Strokes) == 0 {
		return Glyph{}, false
	}
	return f.Glyphs[i], true
}

// Bounds returns the bounding box of the glyph's vertices.
func (g Glyph) Bounds() (minX, minY, maxX, maxY float64) {
	minX, minY = math.Inf(1), math.Inf(1)
	maxX, maxY = math.Inf(-1), math.Inf(-1)
	for _, s := range g.Strokes {
		for _, p := range s {
			minX, maxX = math.Min(minX, p.X), math.Max(maxX, p.X)
			minY, maxY = math.Min(minY, p.Y), math.Max(maxY, p.Y)
		}
	}
	return
}

// Rasterize draws strokes of the given width (in pixels) into a w×h
// coverage image (row-major, values in [0, 1]) with anti-aliased edges.
// Points are in pixel coordinates.
func Rasterize(strokes [][]Point, width float64, w, h int) []float32 {
	img := make([]float32, w*h)
	r := width / 2
	for _, s := range strokes {
		if len(s) == 1 {
			s = []Point{s[0], s[0]}
		}
		for i := 0; i+1 < len(s); i++ {
			a, b := s[i], s[i+1]
			x0 := int(math.Floor(math.Min(a.X, b.X) - r - 1))
			x1 := int(math.Ceil(math.Max(a.X, b.X) + r + 1))
			y0 := int(math.Floor(math.Min(a.Y, b.Y) - r - 1))
			y1 := int(math.Ceil(math.Max(a.Y, b.Y) + r + 1))
			for y := max(y0, 0); y <= min(y1, h-1); y++ {
				for x := max(x0, 0); x <= min(x1, w-1); x++ {
					d := segDist(float64(x)+0.5, float64(y)+0.5, a, b)
					c := float32(math.Min(math.Max(r+0.5-d, 0), 1))
					if c > img[y*w+x] {
						img[y*w+x] = c
					}
				}
			}
		}
	}
	return img
}

func segDist(px, py float64, a, b Point) float64 {
	dx, dy := b.X-a.X, b.Y-a.Y
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = math.Min(math.Max(((px-a.X)*dx+(py-a.Y)*dy)/l2, 0), 1)
	}
	ex, ey := a.X+t*dx-px, a.Y+t*dy-py
	return math.Sqrt(ex*ex + ey*ey)
}
