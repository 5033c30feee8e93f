package report

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/tramlab/tram/family"
	"github.com/tramlab/tram/grid"
)

// maxPoints caps the points of a drawn curve (longer ones are averaged in
// consecutive buckets), which keeps the SVG files small.
const maxPoints = 200

// palette colours the main rows, by their position in the table.
var palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
	{188, 189, 34, 255}, {23, 190, 207, 255}, {0, 0, 128, 255}, {128, 0, 0, 255},
	{0, 128, 128, 255}, {255, 187, 120, 255}, {152, 223, 138, 255}, {197, 176, 213, 255},
}

func colorOf(i int) color.Color { return palette[i%len(palette)] }

// lineStyle draws TRAM rows solid and thicker, the others dashed.
func lineStyle(i int, method string) draw.LineStyle {
	st := draw.LineStyle{Color: colorOf(i), Width: vg.Points(1)}
	if grid.IsTRAM(method) {
		st.Width = vg.Points(1.8)
	} else {
		st.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	}
	if i >= len(palette) {
		st.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
	}
	return st
}

// legendItem is one entry of a legend drawn beside a plot.
type legendItem struct {
	name  string
	thumb plot.Thumbnailer
}

// render draws on a fresh SVG canvas; a panic of the plotting library
// becomes an error.
func render(w, h vg.Length, f func(dc draw.Canvas)) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	c := vgsvg.New(w, h)
	dc := draw.New(c)
	dc.FillPolygon(color.White, []vg.Point{{X: 0, Y: 0}, {X: w, Y: 0}, {X: w, Y: h}, {X: 0, Y: h}})
	f(dc)
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// withLegend draws p with its legend in columns on the right.
func withLegend(p *plot.Plot, items []legendItem, w, h vg.Length) ([]byte, error) {
	lg := layoutLegend(items, vg.Points(9), h)
	return render(w+lg.width, h, func(dc draw.Canvas) {
		p.Draw(draw.Crop(dc, 0, -lg.width, 0, 0))
		lg.draw(dc, w)
	})
}

// Where a legend goes: its gap to the plot, its margins at the top and the
// bottom, the gap between two of its columns.
const (
	legendGap    = vg.Length(6)
	legendTop    = vg.Length(8)
	legendBottom = vg.Length(4)
	legendColGap = vg.Length(10)
)

// legend is a legend laid out in columns, each no taller than the figure.
type legend struct {
	cols   []plot.Legend
	widths []vg.Length
	width  vg.Length // all columns and the gap before them
}

// layoutLegend puts the items, in order, in as few columns of about equal
// length as a figure h tall holds, with text of the given size.
func layoutLegend(items []legendItem, size, h vg.Length) legend {
	if len(items) == 0 {
		return legend{}
	}
	sty := plot.NewLegend().TextStyle
	sty.Font.Size = size
	var entry vg.Length
	for _, it := range items {
		entry = max(entry, sty.Rectangle(it.name).Max.Y)
	}
	per := len(items)
	if entry > 0 {
		per = max(1, int((h-legendTop-legendBottom-sty.FontExtents().Descent)/entry))
	}
	ncols := (len(items) + per - 1) / per
	per = (len(items) + ncols - 1) / ncols
	lg := legend{width: legendGap}
	em := sty.Rectangle(" ").Max.X
	for lo := 0; lo < len(items); lo += per {
		l := plot.NewLegend()
		l.TextStyle = sty
		l.Top, l.Left = true, true
		var tw vg.Length
		for _, it := range items[lo:min(lo+per, len(items))] {
			l.Add(it.name, it.thumb)
			tw = max(tw, sty.Rectangle(it.name).Max.X)
		}
		// A tenth more room for the text: a viewer without the font
		// draws it in a wider one.
		w := l.ThumbnailWidth + em + 1.1*tw + legendColGap
		lg.cols, lg.widths = append(lg.cols, l), append(lg.widths, w)
		lg.width += w
	}
	return lg
}

// draw draws the legend on dc, right of x.
func (lg legend) draw(dc draw.Canvas, x vg.Length) {
	x += legendGap
	for i := range lg.cols {
		lg.cols[i].Draw(draw.Crop(dc, x, 0, 0, -legendTop))
		x += lg.widths[i]
	}
}

// mark is the shape of a row's marker: filled circles, squares and
// diamonds for the prior methods, triangles for TRAM rows.
type mark int

const (
	markCircle mark = iota
	markSquare
	markDiamond
	markUp
	markDown
	markUpOpen
)

var (
	priorMarks = []mark{markCircle, markSquare, markDiamond}
	tramMarks  = []mark{markUp, markDown, markUpOpen}
)

// DrawGlyph draws the mark at pt, within the style's radius (which the
// plot pads its axes by); filled marks get a thin white outline, which
// keeps markers on top of each other apart.
func (m mark) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius
	var p vg.Path
	poly := func(pts ...vg.Point) {
		p.Move(pts[0])
		for _, q := range pts[1:] {
			p.Line(q)
		}
	}
	switch m {
	case markCircle:
		p.Move(vg.Point{X: pt.X + 0.8*r, Y: pt.Y})
		p.Arc(pt, 0.8*r, 0, 2*math.Pi)
	case markSquare:
		a := 0.71 * r
		poly(vg.Point{X: pt.X - a, Y: pt.Y - a}, vg.Point{X: pt.X + a, Y: pt.Y - a},
			vg.Point{X: pt.X + a, Y: pt.Y + a}, vg.Point{X: pt.X - a, Y: pt.Y + a})
	case markDiamond:
		poly(vg.Point{X: pt.X, Y: pt.Y + r}, vg.Point{X: pt.X - r, Y: pt.Y},
			vg.Point{X: pt.X, Y: pt.Y - r}, vg.Point{X: pt.X + r, Y: pt.Y})
	default:
		s := vg.Length(1)
		if m == markDown {
			s = -1
		}
		poly(vg.Point{X: pt.X, Y: pt.Y + s*r}, vg.Point{X: pt.X - 0.866*r, Y: pt.Y - s*r/2},
			vg.Point{X: pt.X + 0.866*r, Y: pt.Y - s*r/2})
	}
	p.Close()
	if m == markUpOpen {
		c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(1.2)})
		c.Stroke(p)
		return
	}
	c.Fill(p)
	c.SetLineStyle(draw.LineStyle{Color: color.White, Width: vg.Points(0.5)})
	c.Stroke(p)
}

// marker is the marker of the main row at position j of its table: the
// row's colour (as in the other plots) and a shape that, with it, tells the
// row apart from the others up to 48 rows of each kind.
func marker(j int, method string, radius vg.Length) draw.GlyphStyle {
	marks := priorMarks
	if grid.IsTRAM(method) {
		marks = tramMarks
	}
	return draw.GlyphStyle{Color: colorOf(j), Radius: radius, Shape: marks[j%len(marks)]}
}

// glyphThumb shows a marker in a legend.
type glyphThumb draw.GlyphStyle

func (g glyphThumb) Thumbnail(c *draw.Canvas) { c.DrawGlyph(draw.GlyphStyle(g), c.Center()) }

// lineThumb shows a line style in a legend.
type lineThumb draw.LineStyle

func (l lineThumb) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(draw.LineStyle(l), c.Min.X, y, c.Max.X, y)
}

// finite reports whether every v is neither NaN nor infinite.
func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

func small(p *plot.Plot, size vg.Length) {
	p.Title.TextStyle.Font.Size = size + 1
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = size
		a.Tick.Label.Font.Size = size - 1
	}
}

// ticks labels a log axis by powers of ten when it spans a decade, by
// plain ticks otherwise.
type ticks struct{}

func (ticks) Ticks(lo, hi float64) []plot.Tick {
	if hi/lo >= 10 {
		return plot.LogTicks{Prec: -1}.Ticks(lo, hi)
	}
	return plot.DefaultTicks{}.Ticks(lo, hi)
}

// downsample averages xy in consecutive buckets down to n points.
func downsample(xy plotter.XYs, n int) plotter.XYs {
	if len(xy) <= n {
		return xy
	}
	out := make(plotter.XYs, n)
	for i := range out {
		lo, hi := i*len(xy)/n, (i+1)*len(xy)/n
		for _, p := range xy[lo:hi] {
			out[i].X += p.X
			out[i].Y += p.Y
		}
		out[i].X /= float64(hi - lo)
		out[i].Y /= float64(hi - lo)
	}
	return out
}

// series is one row's curve.
type series struct {
	row, method string
	index       int // colour
	xy          plotter.XYs
}

// curvePlot draws one quantity's curves, one line per row.
func curvePlot(name, title, ylabel string, ss []series, logY bool) (*figure, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = ylabel
	small(p, vg.Points(10))
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = ticks{}
	}
	var items []legendItem
	for _, s := range ss {
		xy := s.xy
		if logY {
			xy = slices.DeleteFunc(slices.Clone(xy), func(p plotter.XY) bool { return !(p.Y > 0) })
		}
		if len(xy) == 0 {
			continue
		}
		xy = downsample(xy, maxPoints)
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.LineStyle = lineStyle(s.index, s.method)
		p.Add(l)
		items = append(items, legendItem{s.row, l})
	}
	if len(items) == 0 {
		return nil, nil
	}
	svg, err := withLegend(p, items, 6*vg.Inch, 3.6*vg.Inch)
	if err != nil {
		return nil, err
	}
	return &figure{name: name, alt: title, svg: svg}, nil
}

// bars is a set of bars with 95% error bars, drawn from the bottom of the
// y axis.
type bars struct {
	xs, ys, cis []float64
	width       float64
	color       color.Color
}

func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	line := draw.LineStyle{Color: color.Black, Width: vg.Points(0.6)}
	for i, x := range b.xs {
		if math.IsNaN(b.ys[i]) {
			continue
		}
		x0, x1 := tx(x-b.width/2), tx(x+b.width/2)
		y0, y1 := ty(p.Y.Min), ty(b.ys[i])
		c.FillPolygon(b.color, []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
		if ci := b.cis[i]; ci > 0 {
			xm, cap := tx(x), (x1-x0)/3
			lo, hi := ty(b.ys[i]-ci), ty(b.ys[i]+ci)
			c.StrokeLine2(line, xm, lo, xm, hi)
			c.StrokeLine2(line, xm-cap, lo, xm+cap, lo)
			c.StrokeLine2(line, xm-cap, hi, xm+cap, hi)
		}
	}
}

func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax, ymin, ymax = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for i, x := range b.xs {
		if math.IsNaN(b.ys[i]) {
			continue
		}
		xmin, xmax = min(xmin, x-b.width/2), max(xmax, x+b.width/2)
		ymin, ymax = min(ymin, b.ys[i]-b.cis[i]), max(ymax, b.ys[i]+b.cis[i])
	}
	return
}

func (b *bars) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	c.FillPolygon(b.color, []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}})
}

// barPlot draws every main row's metric on every domain and the OOD
// average, with 95% intervals.
func barPlot(name string, s *grid.Summary, t grid.Table) (*figure, error) {
	rows := mainRows(t)
	if len(rows) == 0 {
		return nil, nil
	}
	groups := slices.Clone(t.Domains)
	labels := slices.Clone(t.Domains)
	for i, d := range labels {
		if slices.Contains(t.Saturated, d) {
			labels[i] += " (sat.)"
		}
	}
	labels[0] += " (in)"
	groups, labels = append(groups, "ood"), append(labels, "OOD avg")
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s per domain, trained on %s (mean ± 95%% CI)", s.Metric, trainLabel(t))
	p.Y.Label.Text = s.Metric
	small(p, vg.Points(10))
	k := len(rows)
	w := 0.8 / float64(k)
	var items []legendItem
	ylo, yhi := math.Inf(1), math.Inf(-1)
	for j, r := range rows {
		b := &bars{width: w, color: colorOf(j)}
		for gi, g := range groups {
			e := r.OOD
			if g != "ood" {
				e = r.Domains[g]
			}
			y := e.Mean
			if e.N == 0 {
				y = math.NaN()
			}
			b.xs = append(b.xs, float64(gi)+(float64(j)-float64(k-1)/2)*w)
			b.ys, b.cis = append(b.ys, y), append(b.cis, e.CI95)
		}
		if _, _, lo, hi := b.DataRange(); lo <= hi {
			ylo, yhi = min(ylo, lo), max(yhi, hi)
			p.Add(b)
			items = append(items, legendItem{r.Row, b})
		}
	}
	if len(items) == 0 {
		return nil, nil
	}
	pad := 0.08 * (yhi - ylo)
	if pad == 0 {
		pad = 1
	}
	p.Y.Min, p.Y.Max = ylo-pad, yhi+pad
	if s.HigherIsBetter && p.Y.Min < 0 {
		p.Y.Min = 0
	}
	p.X.Min, p.X.Max = -0.5, float64(len(groups))-0.5
	p.NominalX(labels...)
	width := max(6*vg.Inch, vg.Length(len(groups)*k)*vg.Points(7)+vg.Inch)
	svg, err := withLegend(p, items, width, 3.6*vg.Inch)
	if err != nil {
		return nil, err
	}
	return &figure{name: name, alt: p.Title.Text, svg: svg,
		caption: "Bars start at the bottom of the y axis, not at 0; whiskers are 95% intervals over seeds."}, nil
}

// frontierLine is one curve of the frontier plot: its points ordered by
// in-domain value (x), ties by out-of-domain value, those with a
// non-finite value left out. The polyline is thus monotone in x, whatever
// the order of the runs the points come from.
func frontierLine(pts []grid.Point) plotter.XYs {
	xy := make(plotter.XYs, 0, len(pts))
	for _, pt := range pts {
		if finite(pt.In, pt.Out) {
			xy = append(xy, plotter.XY{X: pt.In, Y: pt.Out})
		}
	}
	slices.SortFunc(xy, func(a, b plotter.XY) int { return cmp.Or(cmp.Compare(a.X, b.X), cmp.Compare(a.Y, b.Y)) })
	return xy
}

// frontierPlot draws per seed the base optimizer's frontier (its row, the
// frontier rows and its checkpoints, joined in order of in-domain value)
// and every main row's mean point, told apart by its marker in the legend.
func frontierPlot(name string, in *input, t grid.Table) (*figure, error) {
	s, g := in.sum, in.g
	inDom := t.Domains[0]
	point := func(ms []family.DomainResult) (grid.Point, bool) {
		m, ok := grid.Lookup(ms, inDom)
		if !ok {
			return grid.Point{}, false
		}
		x, ok := grid.Value(g.Metric, m)
		if !ok || len(t.OOD) == 0 {
			return grid.Point{}, false
		}
		var sum float64
		for _, d := range t.OOD {
			m, ok := grid.Lookup(ms, d)
			if !ok {
				return grid.Point{}, false
			}
			v, ok := grid.Value(g.Metric, m)
			if !ok {
				return grid.Point{}, false
			}
			sum += v
		}
		return grid.Point{In: x, Out: sum / float64(len(t.OOD))}, true
	}
	seeds := map[int][]grid.Point{}
	for _, r := range in.recs {
		if r.Regime != t.Regime || r.Domain != t.TrainDomain || r.Row != s.Base && r.Kind != grid.Frontier {
			continue
		}
		if pt, ok := point(r.Metrics); ok {
			seeds[r.Seed] = append(seeds[r.Seed], pt)
		}
		if r.Row == s.Base {
			for _, c := range r.Checkpoints {
				if pt, ok := point(c.Metrics); ok {
					seeds[r.Seed] = append(seeds[r.Seed], pt)
				}
			}
			for _, w := range r.WiseFT {
				if pt, ok := point(w.Metrics); ok {
					seeds[r.Seed] = append(seeds[r.Seed], pt)
				}
			}
		}
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("frontier, trained on %s", trainLabel(t))
	p.X.Label.Text = fmt.Sprintf("in-domain %s (%s)", s.Metric, inDom)
	p.Y.Label.Text = "OOD avg " + s.Metric
	small(p, vg.Points(10))
	var items []legendItem
	grey := draw.LineStyle{Color: color.Gray{Y: 150}, Width: vg.Points(0.8)}
	keys := make([]int, 0, len(seeds))
	for k := range seeds {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	drawn := false
	for _, k := range keys {
		xy := frontierLine(seeds[k])
		if len(xy) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, err
		}
		l.LineStyle = grey
		sc.GlyphStyle = draw.GlyphStyle{Color: color.Gray{Y: 150}, Radius: vg.Points(1.5), Shape: draw.CircleGlyph{}}
		p.Add(l, sc)
		if !drawn {
			items = append(items, legendItem{"frontier (one line per seed)", l})
			drawn = true
		}
	}
	for j, r := range mainRows(t) {
		if r.In.N == 0 || r.OOD.N == 0 || !finite(r.In.Mean, r.OOD.Mean) {
			continue
		}
		sc, err := plotter.NewScatter(plotter.XYs{{X: r.In.Mean, Y: r.OOD.Mean}})
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle = marker(j, r.Method, vg.Points(4.4))
		p.Add(sc)
		items = append(items, legendItem{r.Row, glyphThumb(sc.GlyphStyle)})
	}
	if len(items) == 0 {
		return nil, nil
	}
	svg, err := withLegend(p, items, 6*vg.Inch, 4.2*vg.Inch)
	if err != nil {
		return nil, err
	}
	where := "up and to the right"
	if !s.HigherIsBetter {
		where = "down and to the left"
	}
	return &figure{name: name, alt: p.Title.Text, svg: svg, caption: fmt.Sprintf(
		"Better is %s. Grey: per seed, the base row %s, its lower-learning-rate rows, its checkpoints and its WiSE-FT points (when the study has them), joined in order of in-domain value; the rows' means are marked as in the legend, triangles for TRAM rows.", where, s.Base)}, nil
}

// scatterPlot is Figure 2: per out-of-domain domain, the main rows' mean
// (in-domain, domain) points (no naive combinations), each row's marker as
// in the legend, with the regression lines over the prior methods (dotted)
// and all of them (dashed).
func scatterPlot(name string, s *grid.Summary, t grid.Table) (*figure, error) {
	doms := append(slices.Clone(t.Domains[1:]), "ood")
	var plots []*plot.Plot
	fits := []struct {
		name  string
		style draw.LineStyle
	}{
		{"fit over prior methods", draw.LineStyle{Color: color.Black, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(1), vg.Points(2)}}},
		{"fit over all rows", draw.LineStyle{Color: color.Gray{Y: 110}, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(2)}}},
	}
	rows := mainRows(t)
	shown := make([]bool, len(rows))
	for _, dom := range doms {
		co, ok := t.Correlations[dom]
		if !ok {
			continue
		}
		p := plot.New()
		title := dom
		if dom == "ood" {
			title = "OOD avg"
		}
		p.Title.Text = fmt.Sprintf("%s: ρ prior %s, all %s", title, num(co.Prior.Rho, 2), num(co.All.Rho, 2))
		p.X.Label.Text = t.Domains[0]
		p.Y.Label.Text = title
		small(p, vg.Points(8))
		var marks []*plotter.Scatter
		xlo, xhi := math.Inf(1), math.Inf(-1)
		for j, r := range rows {
			if grid.IsCombination(r.Method) || r.In.N == 0 {
				continue
			}
			y := r.OOD.Mean
			if dom != "ood" {
				y = r.Domains[dom].Mean
			}
			if !finite(r.In.Mean, y) || r.Domains[dom].N == 0 && dom != "ood" {
				continue
			}
			sc, err := plotter.NewScatter(plotter.XYs{{X: r.In.Mean, Y: y}})
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle = marker(j, r.Method, vg.Points(3.5))
			marks = append(marks, sc)
			shown[j] = true
			xlo, xhi = min(xlo, r.In.Mean), max(xhi, r.In.Mean)
		}
		if len(marks) == 0 {
			continue
		}
		for i, l := range []grid.Line{co.Prior, co.All} {
			if !finite(l.Slope, l.Intercept) || xhi <= xlo {
				continue
			}
			ln, err := plotter.NewLine(plotter.XYs{{X: xlo, Y: l.Intercept + l.Slope*xlo}, {X: xhi, Y: l.Intercept + l.Slope*xhi}})
			if err != nil {
				return nil, err
			}
			ln.LineStyle = fits[i].style
			p.Add(ln)
		}
		for _, sc := range marks {
			p.Add(sc)
		}
		plots = append(plots, p)
	}
	if len(plots) == 0 {
		return nil, nil
	}
	var items []legendItem
	for j, r := range rows {
		if shown[j] {
			items = append(items, legendItem{r.Row, glyphThumb(marker(j, r.Method, vg.Points(3.5)))})
		}
	}
	for _, f := range fits {
		items = append(items, legendItem{f.name, lineThumb(f.style)})
	}
	cols := min(4, len(plots))
	nrows := (len(plots) + cols - 1) / cols
	grid2 := make([][]*plot.Plot, nrows)
	for i := range grid2 {
		grid2[i] = make([]*plot.Plot, cols)
		for j := range cols {
			if k := i*cols + j; k < len(plots) {
				grid2[i][j] = plots[k]
			}
		}
	}
	w, h := vg.Length(cols)*2.6*vg.Inch, vg.Length(nrows)*2.3*vg.Inch
	lg := layoutLegend(items, vg.Points(8), h)
	svg, err := render(w+lg.width, h, func(dc draw.Canvas) {
		tiles := draw.Tiles{Rows: nrows, Cols: cols, PadX: vg.Points(6), PadY: vg.Points(6),
			PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(4)}
		cs := plot.Align(grid2, tiles, draw.Crop(dc, 0, -lg.width, 0, 0))
		for i := range grid2 {
			for j, p := range grid2[i] {
				if p != nil {
					p.Draw(cs[i][j])
				}
			}
		}
		lg.draw(dc, w)
	})
	if err != nil {
		return nil, err
	}
	return &figure{name: name, alt: "in-domain against out-of-domain " + s.Metric + ", trained on " + trainLabel(t), svg: svg,
		caption: fmt.Sprintf("Figure 2's shape: x = in-domain (%s) %s, y = each out-of-domain domain's; each row is marked as in the legend, triangles for TRAM rows, circles, squares and diamonds for the prior methods (naive combinations left out); dotted: regression over prior methods, dashed: over all.",
			t.Domains[0], s.Metric)}, nil
}

// tuningFrontierPlot draws each tuned method's own frontier: its
// candidates' mean (in-domain, OOD) points over the tuning seeds at each
// learning rate (every other tuned flag at its chosen value), joined in
// order of in-domain value; nil when no tuned row tunes lr.
func tuningFrontierPlot(name string, s *grid.Summary, t grid.Table) (*figure, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("per-method frontiers over the learning rate, trained on %s", trainLabel(t))
	p.X.Label.Text = fmt.Sprintf("in-domain %s (%s), tuning seeds", s.Metric, t.Domains[0])
	p.Y.Label.Text = "OOD avg " + s.Metric + ", tuning seeds"
	small(p, vg.Points(10))
	var items []legendItem
	j := 0
	for _, tt := range s.Tuning {
		if tt.Regime != t.Regime || tt.TrainDomain != t.TrainDomain && tt.TrainDomain != "" {
			continue
		}
		var chosen map[string]string
		for _, tr := range tt.Trials {
			if tr.Chosen {
				chosen = tr.Flags
			}
		}
		var pts []grid.Point
		for _, tr := range tt.Trials {
			if _, ok := tr.Flags["lr"]; !ok || tr.In.N == 0 || !finite(tr.In.Mean, tr.OOD.Mean) {
				continue
			}
			same := true
			for k, v := range tr.Flags {
				if k != "lr" && chosen != nil && chosen[k] != v {
					same = false
				}
			}
			if same {
				pts = append(pts, grid.Point{In: tr.In.Mean, Out: tr.OOD.Mean})
			}
		}
		xy := frontierLine(pts)
		if len(xy) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, err
		}
		method := tt.Row
		if r, ok := rowOf(t, tt.Row); ok {
			method = r.Method
		}
		l.LineStyle = lineStyle(j, method)
		sc.GlyphStyle = marker(j, method, vg.Points(3.5))
		p.Add(l, sc)
		items = append(items, legendItem{tt.Row, l})
		j++
	}
	if len(items) == 0 {
		return nil, nil
	}
	svg, err := withLegend(p, items, 6*vg.Inch, 4.2*vg.Inch)
	if err != nil {
		return nil, err
	}
	return &figure{name: name, alt: p.Title.Text, svg: svg, caption: "Each tuned row's candidates at its learning rates (its other tuned values at the chosen ones), mean over the tuning seeds, joined in order of in-domain value: each method's own trade-off between in-domain and out-of-domain quality. Tuning seeds are not the evaluation seeds; the tuning table lists every point."}, nil
}
