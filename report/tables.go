package report

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/tramlab/tram/grid"
)

// Headline returns the headline table of a summary in Markdown: for each
// training domain, every row's in-domain metric and out-of-domain average
// (mean ± 95% interval over seeds), the best main row of each column in
// bold, and each row's verdict against the base row in both columns
// (better, worse, equivalent or inconclusive; Holm-adjusted when Claims
// has run on the summary). It is what `tram reproduce` and `tram report`
// print at the end.
func Headline(s *grid.Summary) string {
	d := &doc{}
	for _, t := range s.Tables {
		d.p("Training domain **%s** (%s; mean ± 95%% CI over seeds; best main row in bold; the verdict of each row against %s, in-domain / OOD):", trainLabel(t), metricWords(s), s.Base)
		rows := ordered(t)
		bestIn := best(rows, s.HigherIsBetter, func(r grid.RowSummary) grid.Estimate { return r.In })
		bestOOD := best(rows, s.HigherIsBetter, func(r grid.RowSummary) grid.Estimate { return r.OOD })
		tb := table{head: []string{"method", "in-domain (" + t.Domains[0] + ")", "OOD avg", "vs " + s.Base, "n"}, left: 1}
		for i, r := range rows {
			if sep := separator(rows, i, len(tb.head)); sep != nil {
				tb.rows = append(tb.rows, sep)
			}
			vs := ""
			if r.Row != s.Base && r.Kind != grid.ZeroShot && r.VsBaseIn.Verdict != "" {
				vs = r.VsBaseIn.Verdict + " / " + r.VsBaseOOD.Verdict
			}
			tb.rows = append(tb.rows, []string{r.Row, bold(estCell(r.In, 1), bestIn[r.Row]),
				bold(estCell(r.OOD, 1), bestOOD[r.Row]), vs, fmt.Sprint(r.In.N)})
		}
		d.table(tb)
	}
	return string(d.markdown())
}

// metricWords says what the numbers are.
func metricWords(s *grid.Summary) string {
	if s.HigherIsBetter {
		return s.Metric + " in %, higher is better"
	}
	return s.Metric + ", lower is better"
}

// trainLabel names a table's training domain (the recipe's when ""), and
// its regime when the study has regimes: "tech, regime long".
func trainLabel(t grid.Table) string {
	l := t.TrainDomain
	if l == "" {
		l = t.Domains[0]
	}
	if t.Regime != "" {
		l += ", regime " + t.Regime
	}
	return l
}

var kindOrder = []string{grid.ZeroShot, grid.Main, grid.Frontier, grid.Ablation}

// ordered returns a table's rows grouped zero-shot, main, frontier,
// ablation (then any other kind), each group in table order.
func ordered(t grid.Table) []grid.RowSummary {
	rank := func(kind string) int {
		if i := slices.Index(kindOrder, kind); i >= 0 {
			return i
		}
		return len(kindOrder)
	}
	rows := slices.Clone(t.Rows)
	slices.SortStableFunc(rows, func(a, b grid.RowSummary) int { return rank(a.Kind) - rank(b.Kind) })
	return rows
}

// separator returns a table row that opens the group of rows[i], or nil
// for the first group, the main rows (which follow the zero-shot row as
// in the paper's tables) and within a group.
func separator(rows []grid.RowSummary, i, cols int) []string {
	if i == 0 || rows[i-1].Kind == rows[i].Kind || rows[i].Kind == grid.Main && rows[i-1].Kind == grid.ZeroShot {
		return nil
	}
	sep := make([]string, cols)
	sep[0] = "*" + rows[i].Kind + " rows*"
	if rows[i].Kind == "" {
		sep[0] = "*other rows*"
	}
	return sep
}

// mainRows returns the main rows of a table in table order.
func mainRows(t grid.Table) []grid.RowSummary {
	var out []grid.RowSummary
	for _, r := range t.Rows {
		if r.Kind == grid.Main {
			out = append(out, r)
		}
	}
	return out
}

// isBetter reports whether a beats b in the metric's direction; NaN loses.
func isBetter(higher bool, a, b float64) bool {
	switch {
	case math.IsNaN(a):
		return false
	case math.IsNaN(b):
		return true
	case higher:
		return a > b
	}
	return a < b
}

// best returns the main rows whose estimate is the best mean of the column.
func best(rows []grid.RowSummary, higher bool, get func(grid.RowSummary) grid.Estimate) map[string]bool {
	top := math.NaN()
	for _, r := range rows {
		if e := get(r); r.Kind == grid.Main && e.N > 0 && isBetter(higher, e.Mean, top) {
			top = e.Mean
		}
	}
	out := map[string]bool{}
	for _, r := range rows {
		if e := get(r); r.Kind == grid.Main && e.N > 0 && e.Mean == top {
			out[r.Row] = true
		}
	}
	return out
}

func bold(s string, b bool) string {
	if b && s != "–" {
		return "**" + s + "**"
	}
	return s
}

// estCell formats a mean ± 95% interval with dec decimals.
func estCell(e grid.Estimate, dec int) string {
	switch {
	case e.N == 0 || math.IsNaN(e.Mean):
		return "–"
	case e.N < 2:
		return fmt.Sprintf("%.*f", dec, e.Mean)
	}
	return fmt.Sprintf("%.*f ± %.*f", dec, e.Mean, dec, e.CI95)
}

// diffCell formats a paired difference with its interval.
func diffCell(p grid.Comparison) string {
	if p.Diff.N == 0 || math.IsNaN(p.Diff.Mean) {
		return "–"
	}
	if p.Diff.N < 2 {
		return fmt.Sprintf("%+.2f", p.Diff.Mean)
	}
	return fmt.Sprintf("%+.2f ± %.2f", p.Diff.Mean, p.Diff.CI95)
}

// pCell formats a p-value.
func pCell(p float64) string {
	switch {
	case math.IsNaN(p):
		return "–"
	case p < 0.001:
		return "< 0.001"
	}
	return fmt.Sprintf("%.3f", p)
}

func num(x float64, dec int) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.*f", dec, x)
}

func winLoss(p grid.Comparison) string {
	if p.Diff.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%d/%d", p.Wins, p.Losses)
}

// resultsTable is the paper-shaped table of one training domain.
func resultsTable(s *grid.Summary, t grid.Table) table {
	rows := ordered(t)
	cols := []func(grid.RowSummary) grid.Estimate{}
	head := []string{"method"}
	for i, d := range t.Domains {
		d := d
		cols = append(cols, func(r grid.RowSummary) grid.Estimate { return r.Domains[d] })
		switch {
		case i == 0:
			head = append(head, d+" (in-domain)")
		case slices.Contains(t.Saturated, d):
			head = append(head, d+" (saturated)")
		default:
			head = append(head, d)
		}
	}
	cols = append(cols, func(r grid.RowSummary) grid.Estimate { return r.OOD })
	head = append(head, "OOD avg", "n")
	bests := make([]map[string]bool, len(cols))
	for j, c := range cols {
		bests[j] = best(rows, s.HigherIsBetter, c)
	}
	tb := table{head: head, left: 1}
	for i, r := range rows {
		if sep := separator(rows, i, len(head)); sep != nil {
			tb.rows = append(tb.rows, sep)
		}
		cells := []string{r.Row}
		for j, c := range cols {
			cells = append(cells, bold(estCell(c(r), 1), bests[j][r.Row]))
		}
		tb.rows = append(tb.rows, append(cells, fmt.Sprint(r.In.N)))
	}
	return tb
}

// comparison is a paired comparison of two rows of a table.
type comparison struct {
	a, b     string
	in, ood  grid.Paired
	measured bool
}

// bestOf returns the main row with the best OOD mean among those pick
// accepts.
func bestOf(t grid.Table, higher bool, pick func(grid.RowSummary) bool) (grid.RowSummary, bool) {
	var top grid.RowSummary
	found := false
	for _, r := range t.Rows {
		if r.Kind != grid.Main || r.OOD.N == 0 || !pick(r) {
			continue
		}
		if !found || isBetter(higher, r.OOD.Mean, top.OOD.Mean) {
			top, found = r, true
		}
	}
	return top, found
}

func rowOf(t grid.Table, name string) (grid.RowSummary, bool) {
	i := slices.IndexFunc(t.Rows, func(r grid.RowSummary) bool { return r.Row == name })
	if i < 0 {
		return grid.RowSummary{}, false
	}
	return t.Rows[i], true
}

// pairedSection writes the paired comparisons of one training domain.
func pairedSection(d *doc, s *grid.Summary, t grid.Table) {
	higher := s.HigherIsBetter
	var head []grid.NamedComparison
	for _, c := range s.Comparisons {
		if c.Claim == 0 && c.Regime == t.Regime && c.TrainDomain == t.Domains[0] {
			head = append(head, c)
		}
	}
	if len(head) > 0 {
		d.p("The best TRAM main row (by OOD average) against the best other main row, the best of SAM/ASAM/FSAM and the best robust fine-tuning baseline (L2-SP, LP-FT, WiSE-FT) where the table has them (Δ = A − B, paired by seed; p: paired t-test, two-sided; Holm: adjusted over every comparison of this report; TOST: the equivalence test against ±margin, Holm-adjusted; P(impr.): the share of seeds on which A is better):")
		tb := table{head: []string{"A", "B", "quantity", "A", "B", "Δ ± 95% CI", "p", "Holm p", "margin", "TOST p", "P(impr.)", "verdict"}, left: 3}
		for _, c := range head {
			a, _ := rowOf(t, c.A)
			b, _ := rowOf(t, c.B)
			q, ea, eb := "OOD avg", a.OOD, b.OOD
			if c.Quantity == "in" {
				q, ea, eb = "in-domain", a.In, b.In
			}
			tb.rows = append(tb.rows, append([]string{c.A, c.B, q, estCell(ea, 1), estCell(eb, 1)}, comparisonCells(c.Comparison)...))
		}
		d.table(tb)
		if tr, ok := bestOf(t, higher, func(r grid.RowSummary) bool { return grid.IsTRAM(r.Method) }); ok {
			if base, ok := rowOf(t, s.Base); ok && tr.Row != s.Base {
				carried(d, t, tr, base)
			}
		}
	} else {
		d.p("No headline comparison: the table lacks a TRAM main row or the rows to compare it with.")
	}
	if _, ok := rowOf(t, s.Base); !ok {
		d.p("The base row `%s` has no runs on this training domain: no comparison with it.", s.Base)
		return
	}
	d.p("Every row against the base row `%s` (Δ = row − base, paired by seed; Holm-adjusted p over every comparison of this report; the verdict is better or worse when that p < %.2f, equivalent when the Holm-adjusted TOST p against the margin is < %.2f, else inconclusive), and its *effective robustness*: its gain over the base optimizer's frontier at its own in-domain value (positive is better; *outside* counts seeds extrapolated beyond the frontier):", s.Base, Alpha, Alpha)
	tb := table{head: []string{"row", "Δ in-domain", "Holm p", "verdict", "Δ OOD avg", "Holm p", "TOST p", "verdict", "effective robustness", "outside"}, left: 1}
	rows := ordered(t)
	for i, r := range rows {
		if sep := separator(rows, i, len(tb.head)); sep != nil {
			tb.rows = append(tb.rows, sep)
		}
		if r.Row == s.Base {
			tb.rows = append(tb.rows, []string{r.Row + " (base)", "", "", "", "", "", "", "", estCell(r.Frontier, 2), outside(r)})
			continue
		}
		if r.Kind == grid.ZeroShot {
			tb.rows = append(tb.rows, []string{r.Row, diffCell(r.VsBaseIn), "", "", diffCell(r.VsBaseOOD), "", "", "", estCell(r.Frontier, 2), outside(r)})
			continue
		}
		tb.rows = append(tb.rows, []string{r.Row, diffCell(r.VsBaseIn), pCell(r.VsBaseIn.PHolm), r.VsBaseIn.Verdict,
			diffCell(r.VsBaseOOD), pCell(r.VsBaseOOD.PHolm), pCell(r.VsBaseOOD.PTOSTHolm), r.VsBaseOOD.Verdict, estCell(r.Frontier, 2), outside(r)})
	}
	d.table(tb)
}

// comparisonCells are a comparison's table cells: Δ ± CI, p, Holm p,
// margin, TOST p (Holm-adjusted), P(improvement), verdict.
func comparisonCells(c grid.Comparison) []string {
	return []string{diffCell(c), pCell(c.P), pCell(c.PHolm), num(c.Margin, 2), pCell(c.PTOSTHolm), num(c.PImprove, 2), c.Verdict}
}

// carried says which out-of-domain domains make up the best TRAM row's
// difference to the base row: each domain's mean difference and its share
// of the sum of their absolute values, and whether one domain carries
// more than half of it.
func carried(d *doc, t grid.Table, tr, base grid.RowSummary) {
	type part struct {
		dom   string
		delta float64
	}
	var parts []part
	var total float64
	for _, dom := range t.OOD {
		a, b := tr.Domains[dom], base.Domains[dom]
		if a.N == 0 || b.N == 0 {
			return
		}
		diff := grid.PairedTest(a, b, true).Diff.Mean
		parts = append(parts, part{dom, diff})
		total += math.Abs(diff)
	}
	if total == 0 || len(parts) < 2 {
		return
	}
	var cells []string
	top := parts[0]
	for _, p := range parts {
		cells = append(cells, fmt.Sprintf("%s %+.2f (%.0f%%)", p.dom, p.delta, 100*math.Abs(p.delta)/total))
		if math.Abs(p.delta) > math.Abs(top.delta) {
			top = p
		}
	}
	line := fmt.Sprintf("Per out-of-domain domain, %s − %s (mean paired difference, and its share of the sum of their sizes): %s.",
		tr.Row, base.Row, strings.Join(cells, ", "))
	if math.Abs(top.delta) > total/2 {
		line += fmt.Sprintf(" **%s carries the average**: more than half of the differences' total size is there.", top.dom)
	}
	d.p("%s", line)
}

func outside(r grid.RowSummary) string {
	if r.Frontier.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%d of %d", r.FrontierOutside, r.Frontier.N)
}

// extraTable is Table 6's shape for ε-sharpness or CKA: method, in-domain,
// OOD average ± CI; nil when no row has it.
func extraTable(t grid.Table, get func(grid.RowSummary) (map[string]grid.Estimate, *grid.Estimate), dec int) *table {
	tb := table{head: []string{"method", t.Domains[0] + " (in-domain)", "OOD avg", "n"}, left: 1}
	rows := ordered(t)
	for _, r := range rows {
		all, ood := get(r)
		if all == nil && ood == nil {
			continue
		}
		cells := []string{r.Row, estCell(all[t.Domains[0]], dec), "–", "–"}
		if ood != nil {
			cells[2], cells[3] = estCell(*ood, dec), fmt.Sprint(ood.N)
		}
		tb.rows = append(tb.rows, cells)
	}
	if len(tb.rows) == 0 {
		return nil
	}
	return &tb
}

// correlationTable is Table 9's shape: per out-of-domain domain, Pearson ρ
// between the methods' in-domain and that domain's means.
func correlationTable(t grid.Table) table {
	tb := table{head: []string{"domain", "ρ prior", "p", "ρ all", "p", "slope prior", "slope all", "methods (prior/all)"}, left: 1}
	doms := append(slices.Clone(t.Domains[1:]), "ood")
	for _, k := range slices.Sorted(maps.Keys(t.Correlations)) {
		if !slices.Contains(doms, k) {
			doms = append(doms, k)
		}
	}
	for _, dom := range doms {
		c, ok := t.Correlations[dom]
		if !ok {
			continue
		}
		name := dom
		if dom == "ood" {
			name = "OOD avg"
		}
		tb.rows = append(tb.rows, []string{name, num(c.Prior.Rho, 3), pCell(c.Prior.P), num(c.All.Rho, 3), pCell(c.All.P),
			num(c.Prior.Slope, 3), num(c.All.Slope, 3), fmt.Sprintf("%d/%d", c.Prior.N, c.All.N)})
	}
	return tb
}

// flagText formats flags as `--name value`, sorted.
func flagText(flags map[string]string) string {
	if len(flags) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(flags)) {
		parts = append(parts, "--"+k+" "+flags[k])
	}
	return "`" + strings.Join(parts, " ") + "`"
}

// zeroShotTable is every row's change against the zero-shot row on each
// domain and on the OOD average (row − zero-shot, paired by seed), marked
// ↑ where fine-tuning this way helped significantly and ↓ where it hurt;
// nil when the table has no zero-shot row.
func zeroShotTable(s *grid.Summary, t grid.Table) *table {
	if t.ZeroShot == "" {
		return nil
	}
	head := []string{"row"}
	keys := append(slices.Clone(t.Domains), "ood")
	for i, d := range keys {
		switch {
		case i == 0:
			head = append(head, d+" (in-domain)")
		case d == "ood":
			head = append(head, "OOD avg")
		default:
			head = append(head, d)
		}
	}
	head = append(head, "helped / hurt")
	tb := table{head: head, left: 1}
	rows := ordered(t)
	for i, r := range rows {
		if r.Row == t.ZeroShot {
			continue
		}
		if sep := separator(rows, i, len(head)); sep != nil && i > 1 {
			tb.rows = append(tb.rows, sep)
		}
		cells := []string{r.Row}
		helped, hurt := 0, 0
		for _, k := range keys {
			p, ok := r.VsZeroShot[k]
			if !ok || p.Diff.N == 0 {
				cells = append(cells, "–")
				continue
			}
			mark := ""
			if p.P < Alpha {
				if isBetter(s.HigherIsBetter, p.Diff.Mean, 0) {
					mark = " ↑"
					if k != "ood" {
						helped++
					}
				} else {
					mark = " ↓"
					if k != "ood" {
						hurt++
					}
				}
			}
			cells = append(cells, fmt.Sprintf("%+.1f%s", p.Diff.Mean, mark))
		}
		tb.rows = append(tb.rows, append(cells, fmt.Sprintf("%d / %d", helped, hurt)))
	}
	return &tb
}
