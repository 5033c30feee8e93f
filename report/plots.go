package report

import (
	"bytes"
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

// withLegend draws p with its legend in a column on the right.
func withLegend(p *plot.Plot, items []legendItem, w, h vg.Length) ([]byte, error) {
	l := plot.NewLegend()
	l.TextStyle.Font.Size = vg.Points(9)
	l.Top, l.Left = true, true
	var lw vg.Length
	for _, it := range items {
		l.Add(it.name, it.thumb)
		lw = max(lw, l.TextStyle.Rectangle(it.name).Max.X)
	}
	if len(items) > 0 {
		lw += l.ThumbnailWidth + vg.Points(16)
	}
	return render(w+lw, h, func(dc draw.Canvas) {
		p.Draw(draw.Crop(dc, 0, -lw, 0, 0))
		if len(items) > 0 {
			l.Draw(draw.Crop(dc, w+vg.Points(6), 0, 0, -vg.Points(8)))
		}
	})
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

// frontierPlot draws per seed the base optimizer's frontier (its row, the
// frontier rows and its checkpoints, joined by in-domain value) and every
// main row's mean point, labelled.
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
		if r.Domain != t.TrainDomain || r.Row != s.Base && r.Kind != grid.Frontier {
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
	for _, k := range keys {
		pts := seeds[k]
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].In < pts[j].In })
		xy := make(plotter.XYs, len(pts))
		for i, pt := range pts {
			xy[i] = plotter.XY{X: pt.In, Y: pt.Out}
		}
		l, sc, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, err
		}
		l.LineStyle = grey
		sc.GlyphStyle = draw.GlyphStyle{Color: color.Gray{Y: 150}, Radius: vg.Points(1.5), Shape: draw.CircleGlyph{}}
		p.Add(l, sc)
		if len(items) == 0 {
			items = append(items, legendItem{"frontier (one line per seed)", l})
		}
	}
	var labels plotter.XYLabels
	for j, r := range mainRows(t) {
		if r.In.N == 0 || r.OOD.N == 0 {
			continue
		}
		sc, err := plotter.NewScatter(plotter.XYs{{X: r.In.Mean, Y: r.OOD.Mean}})
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: colorOf(j), Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
		if grid.IsTRAM(r.Method) {
			sc.GlyphStyle.Shape = draw.TriangleGlyph{}
		}
		p.Add(sc)
		labels.XYs = append(labels.XYs, plotter.XY{X: r.In.Mean, Y: r.OOD.Mean})
		labels.Labels = append(labels.Labels, r.Row)
		items = append(items, legendItem{r.Row, sc})
	}
	if len(labels.XYs) == 0 && len(keys) == 0 {
		return nil, nil
	}
	if len(labels.XYs) > 0 {
		lb, err := plotter.NewLabels(labels)
		if err != nil {
			return nil, err
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font.Size = vg.Points(7)
		}
		lb.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(2)}
		p.Add(lb)
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
		"Better is %s. Grey: per seed, the base row %s, its lower-learning-rate rows and its checkpoints; triangles are TRAM rows.", where, s.Base)}, nil
}

// scatterPlot is Figure 2: per out-of-domain domain, the main rows' mean
// (in-domain, domain) points (no naive combinations) with the regression
// lines over the prior methods (dotted) and all of them (dashed).
func scatterPlot(name string, s *grid.Summary, t grid.Table) (*figure, error) {
	doms := append(slices.Clone(t.Domains[1:]), "ood")
	var plots []*plot.Plot
	blue, red, green := color.RGBA{31, 119, 180, 255}, color.RGBA{214, 39, 40, 255}, color.RGBA{44, 160, 44, 255}
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
		var prior, trams plotter.XYs
		var labels plotter.XYLabels
		for _, r := range mainRows(t) {
			if grid.IsCombination(r.Method) || r.In.N == 0 {
				continue
			}
			y := r.OOD.Mean
			if dom != "ood" {
				y = r.Domains[dom].Mean
			}
			if math.IsNaN(y) || r.Domains[dom].N == 0 && dom != "ood" {
				continue
			}
			pt := plotter.XY{X: r.In.Mean, Y: y}
			if grid.IsTRAM(r.Method) {
				trams = append(trams, pt)
			} else {
				prior = append(prior, pt)
			}
			labels.XYs, labels.Labels = append(labels.XYs, pt), append(labels.Labels, r.Row)
		}
		if len(labels.XYs) == 0 {
			continue
		}
		xlo, xhi := math.Inf(1), math.Inf(-1)
		for _, pt := range labels.XYs {
			xlo, xhi = min(xlo, pt.X), max(xhi, pt.X)
		}
		for _, l := range []struct {
			line   grid.Line
			dashes []vg.Length
			color  color.Color
		}{{co.Prior, []vg.Length{vg.Points(1), vg.Points(2)}, blue}, {co.All, []vg.Length{vg.Points(4), vg.Points(2)}, green}} {
			if math.IsNaN(l.line.Slope) || xhi <= xlo {
				continue
			}
			ln, err := plotter.NewLine(plotter.XYs{{X: xlo, Y: l.line.Intercept + l.line.Slope*xlo}, {X: xhi, Y: l.line.Intercept + l.line.Slope*xhi}})
			if err != nil {
				return nil, err
			}
			ln.LineStyle = draw.LineStyle{Color: l.color, Width: vg.Points(1), Dashes: l.dashes}
			p.Add(ln)
		}
		for _, set := range []struct {
			xy    plotter.XYs
			shape draw.GlyphDrawer
			color color.Color
		}{{prior, draw.CircleGlyph{}, blue}, {trams, draw.TriangleGlyph{}, red}} {
			if len(set.xy) == 0 {
				continue
			}
			sc, err := plotter.NewScatter(set.xy)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: set.color, Radius: vg.Points(2.5), Shape: set.shape}
			p.Add(sc)
		}
		lb, err := plotter.NewLabels(labels)
		if err != nil {
			return nil, err
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font.Size = vg.Points(5.5)
		}
		lb.Offset = vg.Point{X: vg.Points(3), Y: vg.Points(1)}
		p.Add(lb)
		plots = append(plots, p)
	}
	if len(plots) == 0 {
		return nil, nil
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
	svg, err := render(w, h, func(dc draw.Canvas) {
		tiles := draw.Tiles{Rows: nrows, Cols: cols, PadX: vg.Points(6), PadY: vg.Points(6),
			PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(4)}
		cs := plot.Align(grid2, tiles, dc)
		for i := range grid2 {
			for j, p := range grid2[i] {
				if p != nil {
					p.Draw(cs[i][j])
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return &figure{name: name, alt: "in-domain against out-of-domain " + s.Metric + ", trained on " + trainLabel(t), svg: svg,
		caption: fmt.Sprintf("Figure 2's shape: x = in-domain (%s) %s, y = each out-of-domain domain's; circles are prior methods, triangles TRAM rows (naive combinations left out); dotted: regression over prior methods, dashed: over all.",
			t.Domains[0], s.Metric)}, nil
}
