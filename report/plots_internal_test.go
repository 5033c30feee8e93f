package report

import (
	"image/color"
	"math"
	"slices"
	"testing"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/tramlab/tram/grid"
)

// The frontier's points come in run order (the base row, its checkpoints,
// the frontier rows); its line joins them in order of in-domain value.
func TestFrontierLine(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	pts := []grid.Point{{In: 93, Out: 84}, {In: 88, Out: 85}, {In: 91, Out: 84.5}, {In: 90, Out: 83},
		{In: nan, Out: 80}, {In: 91, Out: 82}, {In: 89, Out: inf}, {In: 92.5, Out: 86}}
	got := frontierLine(pts)
	want := plotter.XYs{{X: 88, Y: 85}, {X: 90, Y: 83}, {X: 91, Y: 82}, {X: 91, Y: 84.5}, {X: 92.5, Y: 86}, {X: 93, Y: 84}}
	if !slices.Equal(got, want) {
		t.Errorf("frontierLine = %v, want %v", got, want)
	}
	if len(pts) != 8 || pts[0].In != 93 {
		t.Error("frontierLine changed its argument")
	}
	if got := frontierLine([]grid.Point{{In: nan, Out: 1}}); len(got) != 0 {
		t.Errorf("frontierLine of a NaN point = %v", got)
	}
}

// Every row's marker differs from every other's, TRAM rows' are triangles.
func TestMarkers(t *testing.T) {
	type key struct {
		c color.Color
		m mark
	}
	seen := map[key]int{}
	for j := range 48 {
		for _, method := range []string{"sam", "tram-x"} {
			g := marker(j, method, vg.Points(3))
			m := g.Shape.(mark)
			k := key{g.Color, m}
			if i, ok := seen[k]; ok {
				t.Fatalf("rows %d and %d (%s) share a marker", i, j, method)
			}
			seen[k] = j
			if tri := m == markUp || m == markDown || m == markUpOpen; tri != grid.IsTRAM(method) {
				t.Errorf("row %d (%s): mark %d", j, method, m)
			}
		}
	}
}

// A legend of many rows is split into columns that fit the figure's height.
func TestLayoutLegend(t *testing.T) {
	items := make([]legendItem, 25)
	for i := range items {
		items[i] = legendItem{name: "row-" + string(rune('a'+i)), thumb: glyphThumb(marker(i, "sam", vg.Points(3)))}
	}
	h := 2.3 * vg.Inch
	lg := layoutLegend(items, vg.Points(8), h)
	if len(lg.cols) < 2 {
		t.Fatalf("%d columns for 25 rows in %v", len(lg.cols), h)
	}
	sty := lg.cols[0].TextStyle
	entry := sty.Rectangle("row-a").Max.Y
	area := draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: 100, Y: h}}}
	var n int
	var width vg.Length
	for i, c := range lg.cols {
		r := c.Rectangle(area)
		if used := r.Max.Y - r.Min.Y + sty.FontExtents().Descent; used > h-legendTop-legendBottom {
			t.Errorf("column %d is %v tall, the figure %v", i, used, h)
		}
		n += int(math.Round(float64((r.Max.Y - r.Min.Y) / entry)))
		width += lg.widths[i]
	}
	if n != len(items) {
		t.Errorf("%d entries in the columns, want %d", n, len(items))
	}
	if width+legendGap != lg.width {
		t.Errorf("width %v, columns %v", lg.width, width+legendGap)
	}
	if one := layoutLegend(items, vg.Points(8), 10*vg.Inch); len(one.cols) != 1 {
		t.Errorf("%d columns in 10 inches", len(one.cols))
	}
	if none := layoutLegend(nil, vg.Points(8), h); none.width != 0 || len(none.cols) != 0 {
		t.Errorf("empty legend: %+v", none)
	}
}
