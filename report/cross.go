package report

import (
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/tramlab/tram/grid"
)

// Cell is one table of one study directory in a cross-cell report: a
// study (a cell of the regime study) on one training domain (and regime).
type Cell struct {
	// Name is the study's name and the table's training domain (and
	// regime); Dir the study's directory.
	Name string `json:"name"`
	Dir  string `json:"dir"`
	// Verdicts are the claims' verdicts of the study's report (a study
	// with several tables has one verdict per claim for all of them; they
	// repeat on each of its cells).
	Verdicts map[int]Verdict `json:"claims"`
	// BestTRAM is the best TRAM main row by OOD average; the comparisons
	// are its OOD average against the base row, ASAM and the best robust
	// fine-tuning baseline (L2-SP, LP-FT, WiSE-FT), paired by seed, with
	// the verdicts of the study's own report (Holm-adjusted there). A
	// comparison whose rows the cell lacks is nil.
	BestTRAM   string           `json:"best_tram_row,omitempty"`
	VsBase     *grid.Comparison `json:"vs_base,omitempty"`
	VsASAM     *grid.Comparison `json:"vs_asam,omitempty"`
	VsRobust   *grid.Comparison `json:"vs_robust_baseline,omitempty"`
	RobustRow  string           `json:"robust_baseline_row,omitempty"`
	Base       string           `json:"base_row,omitempty"`
	HigherBest bool             `json:"higher_is_better"`
	Metric     string           `json:"metric"`
}

// CrossResult is a cross-cell report: the cells, and the files written.
type CrossResult struct {
	Cells []Cell   `json:"cells"`
	Files []string `json:"-"`
}

// WriteCross writes the cross-cell report of several study directories
// into out: cross.md (for each of the paper's claims and for "TRAM against
// the best robust fine-tuning baseline", the verdict in each cell), the
// numbers in cross.json, and plots/advantage.svg (the best TRAM row's
// paired OOD advantage, ± its 95% interval, over the base optimizer, over
// ASAM and over the best robust baseline, cell by cell). Each directory's
// own report is read as `tram report` computes it (it is not rewritten).
func WriteCross(out string, dirs []string) (*CrossResult, error) {
	res := &CrossResult{}
	for _, dir := range dirs {
		in, err := read(dir)
		if err != nil {
			return nil, err
		}
		claims := Claims(in.sum)
		verdicts := map[int]Verdict{}
		for _, c := range claims {
			verdicts[c.Number] = c.Verdict
		}
		name := in.g.Name
		if name == "" {
			name = filepath.Base(filepath.Clean(dir))
		}
		for _, t := range in.sum.Tables {
			c := Cell{Name: name + " · " + trainLabel(t), Dir: dir, Verdicts: verdicts, Base: in.sum.Base, HigherBest: in.sum.HigherIsBetter, Metric: in.sum.Metric}
			h := in.sum.HigherIsBetter
			tr, ok := bestOf(t, h, func(r grid.RowSummary) bool { return grid.IsTRAM(r.Method) })
			if ok {
				c.BestTRAM = tr.Row
				if tr.Row != in.sum.Base && tr.VsBaseOOD.N > 0 {
					v := tr.VsBaseOOD
					c.VsBase = &v
				}
				if a, ok := rowOf(t, "asam"); ok {
					c.VsASAM = headlineOr(in.sum, t, tr, a, h)
				}
				if rb, ok := bestOf(t, h, robustBaseline); ok {
					c.RobustRow = rb.Row
					c.VsRobust = headlineOr(in.sum, t, tr, rb, h)
				}
			}
			res.Cells = append(res.Cells, c)
		}
	}
	if err := os.MkdirAll(filepath.Join(out, "plots"), 0o755); err != nil {
		return nil, err
	}
	d := &doc{}
	d.h(1, "Cross-cell report")
	d.p("One column per cell (a study on one training domain). The verdicts are each study's own (`tram report DIR`): claims as there (held, not held, inconclusive, mixed, not measured), and the best TRAM row against the best robust fine-tuning baseline (L2-SP, LP-FT, WiSE-FT) out of domain: better, worse, equivalent or inconclusive, Holm-adjusted within the study. Made by `tram report --cross OUT DIR…` from the directories' run records.")
	head := []string{"claim"}
	for _, c := range res.Cells {
		head = append(head, c.Name)
	}
	tb := table{head: head, left: len(head)}
	for n := 1; n <= 9; n++ {
		row := []string{fmt.Sprintf("%d. %s", n, claimTitles[n])}
		for _, c := range res.Cells {
			row = append(row, string(c.Verdicts[n]))
		}
		tb.rows = append(tb.rows, row)
	}
	versus := func(title string, cmp func(Cell) (*grid.Comparison, string)) {
		row := []string{title}
		for _, c := range res.Cells {
			v := "not measured"
			if x, other := cmp(c); x != nil {
				v = fmt.Sprintf("%s (%s − %s)", x.Verdict, c.BestTRAM, other)
			}
			row = append(row, v)
		}
		tb.rows = append(tb.rows, row)
	}
	versus("best TRAM row vs the base optimizer (OOD)", func(c Cell) (*grid.Comparison, string) { return c.VsBase, c.Base })
	versus("best TRAM row vs ASAM (OOD)", func(c Cell) (*grid.Comparison, string) { return c.VsASAM, "asam" })
	versus("TRAM vs the best robust fine-tuning baseline (OOD)", func(c Cell) (*grid.Comparison, string) { return c.VsRobust, c.RobustRow })
	d.table(tb)
	fig, err := advantagePlot(res.Cells)
	if err != nil {
		d.p("(The advantage plot could not be drawn: %v.)", err)
	} else if fig != nil {
		if err := writeFile(filepath.Join(out, "plots", fig.name), fig.svg); err != nil {
			return nil, err
		}
		res.Files = append(res.Files, filepath.Join(out, "plots", fig.name))
		d.figure(fig)
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"cross.json", append(js, '\n')}, {"cross.md", d.markdown()}} {
		path := filepath.Join(out, f.name)
		if err := writeFile(path, f.data); err != nil {
			return nil, err
		}
		res.Files = append(res.Files, path)
	}
	return res, nil
}

// headlineOr returns the study report's comparison of a with b on the
// OOD average when it made one (Holm-adjusted there), else a fresh
// comparison against the study's margin.
func headlineOr(s *grid.Summary, t grid.Table, a, b grid.RowSummary, higher bool) *grid.Comparison {
	for _, c := range s.Comparisons {
		if c.Regime == t.Regime && c.TrainDomain == t.Domains[0] && c.A == a.Row && c.B == b.Row && c.Quantity == "ood" {
			v := c.Comparison
			return &v
		}
	}
	base := math.NaN()
	if r, ok := rowOf(t, s.Base); ok {
		base = r.OOD.Mean
	}
	v := grid.Compare(a.OOD, b.OOD, higher, s.Equivalence.Margin(s.Metric, base))
	return &v
}

// claimTitles are the claims' short titles, by number.
var claimTitles = func() map[int]string {
	m := map[int]string{}
	for _, c := range Claims(&grid.Summary{}) {
		m[c.Number] = c.Title
	}
	return m
}()

// advantagePlot draws, per cell, the best TRAM row's OOD advantage over
// the base row, ASAM and the best robust baseline (in "better" units:
// positive is better), with 95% intervals.
func advantagePlot(cells []Cell) (*figure, error) {
	p := plot.New()
	p.Title.Text = "best TRAM row's paired OOD advantage, cell by cell"
	p.Y.Label.Text = "advantage in equivalence margins (> 0: TRAM better)"
	p.X.Label.Text = "cell"
	small(p, vg.Points(10))
	series := []struct {
		name string
		get  func(Cell) *grid.Comparison
	}{
		{"over the base optimizer", func(c Cell) *grid.Comparison { return c.VsBase }},
		{"over ASAM", func(c Cell) *grid.Comparison { return c.VsASAM }},
		{"over the best robust baseline", func(c Cell) *grid.Comparison { return c.VsRobust }},
	}
	var items []legendItem
	drawn := false
	for k, s := range series {
		var xy plotter.XYs
		var errs plotter.YErrors
		for i, c := range cells {
			cmp := s.get(c)
			if cmp == nil || cmp.N == 0 || !finite(cmp.Diff.Mean) {
				continue
			}
			// In units of the cell's equivalence margin, so that accuracy and
			// perplexity cells share an axis and ±1 is the equivalence band.
			if !(cmp.Margin > 0) || !finite(cmp.Margin) {
				continue
			}
			sign := 1 / cmp.Margin
			if !c.HigherBest {
				sign = -sign
			}
			ci := cmp.Diff.CI95
			if !finite(ci) {
				ci = 0
			}
			xy = append(xy, plotter.XY{X: float64(i) + 0.15*float64(k-1), Y: sign * cmp.Diff.Mean})
			errs = append(errs, struct{ Low, High float64 }{ci / cmp.Margin, ci / cmp.Margin})
		}
		if len(xy) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: colorOf(k), Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
		eb := &plotter.YErrorBars{XYs: xy, YErrors: errs, LineStyle: draw.LineStyle{Color: colorOf(k), Width: vg.Points(1)}, CapWidth: vg.Points(4)}
		p.Add(eb, sc)
		items = append(items, legendItem{s.name, glyphThumb(sc.GlyphStyle)})
		drawn = true
	}
	if !drawn {
		return nil, nil
	}
	for _, y := range []float64{-1, 0, 1} {
		line := plotter.NewFunction(func(float64) float64 { return y })
		line.LineStyle = draw.LineStyle{Color: color.Gray{Y: 120}, Width: vg.Points(0.6), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}}
		if y != 0 {
			line.LineStyle.Color = color.Gray{Y: 190}
		}
		p.Add(line)
	}
	var ticks []plot.Tick
	for i, c := range cells {
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: c.Name})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = -0.6, float64(len(cells))-0.4
	svg, err := withLegend(p, items, 7*vg.Inch, 4*vg.Inch)
	if err != nil {
		return nil, err
	}
	return &figure{name: "advantage.svg", alt: p.Title.Text, svg: svg, caption: "Per cell, the best TRAM main row's paired difference on the OOD average (mean over seeds ± 95% interval) against the base optimizer, ASAM and the best of L2-SP/LP-FT/WiSE-FT where the cell has them, in units of the cell's equivalence margin (0.5 accuracy points, or 1% of the base row's perplexity, unless the study says otherwise; perplexity differences negated so that up is better). The light lines at ±1 bound the equivalence band."}, nil
}
