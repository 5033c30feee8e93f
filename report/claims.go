package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/tramlab/tram/grid"
)

// Verdict is the outcome of checking one claim against a grid's numbers.
type Verdict string

// Verdicts. Every paired comparison behind a verdict reads, on its
// Holm-adjusted p-values (over all the comparisons of one report), as
// better, worse, equivalent (TOST against the study's margin) or
// inconclusive (grid.Comparison). Held: the claimed direction, better, on
// every training domain and comparison the claim names. Not held: the
// comparisons are equivalent or go the other way, significantly — never
// mere non-significance. Inconclusive: the comparisons can say neither.
// Mixed: held on some training domains or comparisons and not on others,
// or held only because the base optimizer itself does as well (a TRAM row
// no better than the base optimizer, which beats the compared row on its
// own). Not measured: a row (or measurement) the claim needs is missing.
const (
	Held         Verdict = "held"
	Mixed        Verdict = "mixed"
	NotHeld      Verdict = "not held"
	Inconclusive Verdict = "inconclusive"
	NotMeasured  Verdict = "not measured"
)

// Alpha is the significance level of the verdicts.
const Alpha = 0.05

// Claim is one of the paper's claims checked against a grid.
type Claim struct {
	// Number is the claim's number (1–9); Title names it in a few words.
	Number int
	Title  string
	// Statement says what is claimed, or the question measured.
	Statement string
	Verdict   Verdict
	// Evidence are the numbers that decide the verdict, one line per
	// training domain or comparison.
	Evidence []string
}

// combine merges verdicts: not measured ones are ignored; all held is held,
// all not held is not held, all inconclusive is inconclusive, anything
// else is mixed.
func combine(vs ...Verdict) Verdict {
	var m []Verdict
	for _, v := range vs {
		if v != NotMeasured {
			m = append(m, v)
		}
	}
	if len(m) == 0 {
		return NotMeasured
	}
	for _, all := range []Verdict{Held, NotHeld, Inconclusive} {
		if !slices.ContainsFunc(m, func(v Verdict) bool { return v != all }) {
			return all
		}
	}
	return Mixed
}

// judge reads a comparison a − b against the claim that a is better than
// b: better is held, worse or equivalent not held, and one common seed
// decides nothing.
func judge(c grid.Comparison) Verdict {
	switch {
	case c.Diff.N < 2 || math.IsNaN(c.Diff.Mean):
		return NotMeasured
	case c.Verdict == grid.VerdictBetter:
		return Held
	case c.Verdict == grid.VerdictWorse || c.Verdict == grid.VerdictEquivalent:
		return NotHeld
	}
	return Inconclusive
}

// differs reports whether a comparison found a significant difference
// (Holm-adjusted), either way.
func differs(c grid.Comparison) bool {
	return c.Verdict == grid.VerdictBetter || c.Verdict == grid.VerdictWorse
}

// pText formats a comparison's p-values for prose: the paired t-test's,
// Holm-adjusted, and the equivalence test's.
func pText(c grid.Comparison) string {
	var t string
	switch {
	case c.Diff.N > 1 && c.Diff.CI95 == 0 && c.Diff.Mean != 0:
		t = fmt.Sprintf("p = %s, every seed differs by the same amount: exact sign test", pCell(c.P))
	case math.IsNaN(c.P):
		t = "p not defined (fewer than two seeds, or no difference)"
	default:
		t = "p = " + pCell(c.P)
	}
	if !math.IsNaN(c.PHolm) && c.PHolm != c.P {
		t += ", Holm-adjusted " + pCell(c.PHolm)
	}
	if !math.IsNaN(c.PTOST) {
		t += fmt.Sprintf("; equivalence within ±%s: TOST p = %s", num(c.Margin, 2), pCell(c.PTOSTHolm))
	}
	return t
}

// pearsonText formats the p-value of a correlation for prose.
func pearsonText(p float64) string {
	switch {
	case math.IsNaN(p):
		return "p not defined"
	case p < 0.001:
		return "p < 0.001"
	}
	return fmt.Sprintf("p = %.3f", p)
}

// describe writes a comparison of a with b: the difference a − b, its
// interval, its tests and its verdict.
func describe(a, b string, c grid.Comparison) string {
	if c.Diff.N == 0 {
		return fmt.Sprintf("%s − %s: no common seeds", a, b)
	}
	way := c.Verdict
	switch {
	case c.Diff.N < 2:
		way = "untested (one common seed)"
	case way == grid.VerdictInconclusive:
		way = "inconclusive (neither a significant difference nor equivalence)"
	}
	return fmt.Sprintf("%s − %s = %s (paired t-test over seeds, two-sided: %s; n = %d; %s better on %d seeds, worse on %d) → %s is %s",
		a, b, diffCell(c), pText(c), c.Diff.N, a, c.Wins, c.Losses, a, way)
}

func missing(names ...string) string {
	return "rows " + strings.Join(names, ", ") + " missing"
}

// Claims checks the paper's nine claims (../spec/PAPER-NOTES.md §5 and the
// grid's ablations) against a summary. Each verdict comes from the numbers
// alone (see Verdict); where TRAM does not win, the evidence says so.
//
// Claims also completes the summary's statistics: every comparison the
// report makes — each row against the base row (RowSummary.VsBaseIn,
// VsBaseOOD), the headline comparisons and the claims' — is one family for
// the Holm adjustment, and Claims writes the adjusted p-values and
// verdicts into s (the claims' and headline comparisons in
// s.Comparisons). The claims are checked twice: once to collect the
// family, then on the adjusted values.
func Claims(s *grid.Summary) []Claim {
	first := &checker{s: s}
	first.all()
	family := slices.Clone(first.made)
	for ti := range s.Tables {
		for ri := range s.Tables[ti].Rows {
			if r := &s.Tables[ti].Rows[ri]; r.Row != s.Base && r.Kind != grid.ZeroShot {
				family = append(family, &r.VsBaseIn, &r.VsBaseOOD)
			}
		}
	}
	grid.AdjustHolm(family)
	x := &checker{s: s, adjusted: map[string]grid.Comparison{}}
	for i, c := range first.made {
		x.adjusted[key(first.named[i])] = *c
	}
	claims := x.all()
	s.Comparisons = x.named
	for i := range s.Comparisons {
		s.Comparisons[i].Comparison = *x.made[i]
	}
	return claims
}

// checker makes a report's comparisons: the headline ones and the claims'.
type checker struct {
	s *grid.Summary
	// made and named are the comparisons made so far, in order.
	made  []*grid.Comparison
	named []grid.NamedComparison
	// adjusted holds the Holm-adjusted comparisons of the first pass by
	// key; nil in the first pass.
	adjusted map[string]grid.Comparison
}

func key(n grid.NamedComparison) string {
	return fmt.Sprintf("%d|%s|%s|%s|%s|%s", n.Claim, n.Regime, n.TrainDomain, n.A, n.B, n.Quantity)
}

func (x *checker) all() []Claim {
	for _, t := range x.s.Tables {
		x.headline(t)
	}
	return []Claim{x.claim1(), x.claim2(), x.claim3(), x.claim4(), x.claim5(), x.claim6(), x.claim7(), x.claim8(), x.claim9()}
}

// compare compares a with b (a − b, paired by seed) for claim n on table
// t; quantity says what a and b measure, margin is the equivalence
// margin in their units (NaN: no equivalence test). In the second pass it
// returns the Holm-adjusted comparison of the first.
func (x *checker) compare(n int, t grid.Table, a, b, quantity string, ea, eb grid.Estimate, higher bool, margin float64) grid.Comparison {
	nc := grid.NamedComparison{Claim: n, Regime: t.Regime, TrainDomain: t.Domains[0], A: a, B: b, Quantity: quantity}
	c := grid.Compare(ea, eb, higher, margin)
	if adj, ok := x.adjusted[key(nc)]; ok {
		c = adj
	}
	x.made = append(x.made, &c)
	x.named = append(x.named, nc)
	return c
}

// ood and in compare two rows' OOD averages and in-domain values with
// the margin the study states, relative to the base row's mean.
func (x *checker) ood(n int, t grid.Table, a, b grid.RowSummary) grid.Comparison {
	return x.compare(n, t, a.Row, b.Row, "ood", a.OOD, b.OOD, x.s.HigherIsBetter, x.margin(t, func(r grid.RowSummary) grid.Estimate { return r.OOD }))
}

func (x *checker) in(n int, t grid.Table, a, b grid.RowSummary) grid.Comparison {
	return x.compare(n, t, a.Row, b.Row, "in", a.In, b.In, x.s.HigherIsBetter, x.margin(t, func(r grid.RowSummary) grid.Estimate { return r.In }))
}

// margin is the equivalence margin of a quantity on table t: the
// study's, relative to the base row's mean where the metric asks for it.
func (x *checker) margin(t grid.Table, get func(grid.RowSummary) grid.Estimate) float64 {
	base := math.NaN()
	if b, ok := rowOf(t, x.s.Base); ok {
		base = get(b).Mean
	}
	return x.s.Equivalence.Margin(x.s.Metric, base)
}

// robustBaselines are the rows of the robust fine-tuning baselines
// practitioners use: L2-SP, LP-FT and WiSE-FT.
func robustBaseline(r grid.RowSummary) bool {
	return r.Method == "l2sp" || strings.HasPrefix(r.Row, "lp-ft") || strings.HasPrefix(r.Row, "wise-ft")
}

// samFamily reports whether a row is SAM, ASAM or FSAM.
func samFamily(r grid.RowSummary) bool { return r.Row == "sam" || r.Row == "asam" || r.Row == "fsam" }

// headlineGroups are the headline comparisons: the best TRAM main row
// (by OOD average) against the best other main row, the best of SAM, ASAM
// and FSAM, and the best robust fine-tuning baseline.
var headlineGroups = []struct {
	name string
	pick func(grid.RowSummary) bool
}{
	{"best other main row", func(r grid.RowSummary) bool { return !grid.IsTRAM(r.Method) }},
	{"best of sam/asam/fsam", samFamily},
	{"best robust fine-tuning baseline (l2sp, lp-ft, wise-ft)", robustBaseline},
}

// headline makes the headline comparisons of table t.
func (x *checker) headline(t grid.Table) {
	h := x.s.HigherIsBetter
	tr, ok := bestOf(t, h, func(r grid.RowSummary) bool { return grid.IsTRAM(r.Method) })
	if !ok {
		return
	}
	done := map[string]bool{}
	for _, g := range headlineGroups {
		if ot, ok := bestOf(t, h, g.pick); ok && !done[ot.Row] {
			done[ot.Row] = true
			x.in(0, t, tr, ot)
			x.ood(0, t, tr, ot)
		}
	}
}

// perTable runs check on every training domain and combines the verdicts;
// the evidence lines are prefixed with the training domain when there are
// several.
func perTable(s *grid.Summary, c *Claim, check func(t grid.Table) (Verdict, []string)) {
	var vs []Verdict
	for _, t := range s.Tables {
		v, ev := check(t)
		vs = append(vs, v)
		for _, e := range ev {
			if len(s.Tables) > 1 {
				e = "[" + trainLabel(t) + "] " + e
			}
			c.Evidence = append(c.Evidence, e)
		}
	}
	c.Verdict = combine(vs...)
}

// oodCell formats a row's OOD average.
func oodCell(r grid.RowSummary) string { return estCell(r.OOD, 1) }

func (x *checker) claim1() Claim {
	s := x.s
	c := Claim{Number: 1, Title: "TRAM beats SAM/ASAM/FSAM out of domain", Statement: "TRAM beats SAM, ASAM and FSAM out of domain: the best TRAM main row against the best of sam/asam/fsam on the OOD average."}
	sams := []string{"sam", "asam", "fsam"}
	perTable(s, &c, func(t grid.Table) (Verdict, []string) {
		return x.bestTRAMvs(1, t, sams)
	})
	return c
}

// bestTRAMvs compares the best TRAM main row with the best of the named
// rows on the OOD average.
func (x *checker) bestTRAMvs(n int, t grid.Table, others []string) (Verdict, []string) {
	h := x.s.HigherIsBetter
	tr, ok := bestOf(t, h, func(r grid.RowSummary) bool { return grid.IsTRAM(r.Method) })
	if !ok {
		return NotMeasured, []string{"not measured (no TRAM main row with results)"}
	}
	ot, ok := bestOf(t, h, func(r grid.RowSummary) bool { return slices.Contains(others, r.Row) })
	if !ok {
		return NotMeasured, []string{"not measured (" + missing(others...) + ")"}
	}
	p := x.ood(n, t, tr, ot)
	v := judge(p)
	line := fmt.Sprintf("best TRAM row %s (OOD avg %s) vs best of %s, %s (%s): %s",
		tr.Row, oodCell(tr), strings.Join(others, "/"), ot.Row, oodCell(ot), describe(tr.Row, ot.Row, p))
	if v == NotHeld {
		line += fmt.Sprintf("; TRAM does not beat %s here", ot.Row)
	}
	lines := []string{line}
	// Made whatever v is, so that both passes make the same comparisons.
	if why := x.baseOwnsWin(n, t, tr, ot); why != nil && v == Held {
		v, lines = Mixed, append(lines, why...)
	}
	return v, lines
}

// baseOwnsWin checks a held win of TRAM row tr over row ot against the base
// optimizer. When tr is not significantly better than the base row and the
// base row alone beats ot significantly, the win is the base optimizer's,
// not TRAM's: it returns the evidence for that (the verdict is then mixed),
// and nil otherwise.
func (x *checker) baseOwnsWin(n int, t grid.Table, tr, ot grid.RowSummary) []string {
	s := x.s
	base, ok := rowOf(t, s.Base)
	if !ok || base.OOD.N == 0 || base.Row == tr.Row || base.Row == ot.Row {
		return nil
	}
	pt := x.ood(n, t, tr, base)
	pb := x.ood(n, t, base, ot)
	if judge(pt) == Held || judge(pb) != Held {
		return nil
	}
	return []string{
		fmt.Sprintf("but against the base optimizer: %s", describe(tr.Row, base.Row, pt)),
		fmt.Sprintf("and the base optimizer alone: %s", describe(base.Row, ot.Row, pb)),
		fmt.Sprintf("→ the win over %s is the base optimizer's, not TRAM's: mixed", ot.Row),
	}
}

func (x *checker) claim2() Claim {
	s := x.s
	c := Claim{Number: 2, Title: "TRAM beats TRPO/R3F/MESA; naive ASAM+X worse than the base optimizer", Statement: "TRAM beats the trust-region regularizers (trpo, r3f, mesa) out of domain, and the naive combinations asam+trpo, asam+r3f and asam+mesa are worse than the base optimizer (two parts: mixed when one holds)."}
	var a, b []Verdict
	for _, t := range s.Tables {
		prefix := ""
		if len(s.Tables) > 1 {
			prefix = "[" + trainLabel(t) + "] "
		}
		va, ev := x.bestTRAMvs(2, t, []string{"trpo", "r3f", "mesa"})
		a = append(a, va)
		for _, e := range ev {
			c.Evidence = append(c.Evidence, prefix+"part 1: "+e)
		}
		base, ok := rowOf(t, s.Base)
		var vb []Verdict
		var absent []string
		for _, name := range []string{"asam+trpo", "asam+r3f", "asam+mesa"} {
			r, ok2 := rowOf(t, name)
			if !ok || !ok2 || r.OOD.N == 0 {
				absent = append(absent, name)
				continue
			}
			p := x.ood(2, t, base, r)
			v := judge(p)
			vb = append(vb, v)
			line := fmt.Sprintf("part 2: base %s (OOD avg %s) vs %s (%s): %s", s.Base, oodCell(base), name, oodCell(r), describe(s.Base, name, p))
			if v == NotHeld {
				line += fmt.Sprintf("; %s is not worse than the base optimizer here", name)
			}
			c.Evidence = append(c.Evidence, prefix+line)
		}
		if !ok {
			absent = []string{s.Base}
		}
		if len(absent) > 0 {
			c.Evidence = append(c.Evidence, prefix+"part 2: not measured for "+strings.Join(absent, ", ")+" ("+missing(absent...)+")")
		}
		b = append(b, combine(vb...))
	}
	va, vb := combine(a...), combine(b...)
	c.Evidence = append(c.Evidence, fmt.Sprintf("part 1 (TRAM beats the regularizers): %s; part 2 (combinations worse than %s): %s", va, s.Base, vb))
	c.Verdict = combine(va, vb)
	return c
}

func (x *checker) claim3() Claim {
	s := x.s
	c := Claim{Number: 3, Title: "TRAM-θt−1 and TRAM-x are the strongest TRAM variants", Statement: "TRAM-θt−1 (tram-prev) and TRAM-x (tram-x) are the strongest TRAM variants: the two best TRAM main rows by OOD average, ahead of the third."}
	h := s.HigherIsBetter
	perTable(s, &c, func(t grid.Table) (Verdict, []string) {
		var trams []grid.RowSummary
		for _, r := range mainRows(t) {
			if grid.IsTRAM(r.Method) && r.OOD.N > 0 {
				trams = append(trams, r)
			}
		}
		_, okP := rowOf(t, "tram-prev")
		_, okX := rowOf(t, "tram-x")
		if !okP || !okX {
			var names []string
			if !okP {
				names = append(names, "tram-prev")
			}
			if !okX {
				names = append(names, "tram-x")
			}
			return NotMeasured, []string{"not measured (" + missing(names...) + ")"}
		}
		if len(trams) < 3 {
			return NotMeasured, []string{"not measured (fewer than three TRAM main rows to rank)"}
		}
		slices.SortStableFunc(trams, func(a, b grid.RowSummary) int {
			switch {
			case isBetter(h, a.OOD.Mean, b.OOD.Mean):
				return -1
			case isBetter(h, b.OOD.Mean, a.OOD.Mean):
				return 1
			}
			return 0
		})
		var rank []string
		for _, r := range trams {
			rank = append(rank, fmt.Sprintf("%s %s", r.Row, num(r.OOD.Mean, 2)))
		}
		line := "TRAM main rows by OOD avg, best first: " + strings.Join(rank, ", ")
		top := []string{trams[0].Row, trams[1].Row}
		in := 0
		for _, n := range top {
			if n == "tram-prev" || n == "tram-x" {
				in++
			}
		}
		switch in {
		case 0:
			// Which two lead by mean decides nothing unless the second is
			// ahead of the two named rows significantly.
			var vs []Verdict
			ev := []string{line}
			for _, name := range []string{"tram-prev", "tram-x"} {
				r, _ := rowOf(t, name)
				p := x.ood(3, t, r, trams[1])
				vs = append(vs, judge(p))
				ev = append(ev, describe(name, trams[1].Row, p))
			}
			v := Inconclusive
			if !slices.Contains(vs, Held) && !slices.Contains(vs, Inconclusive) && !slices.Contains(vs, NotMeasured) {
				v = NotHeld
			}
			return v, append(ev, "neither tram-prev nor tram-x is among the two best by mean")
		case 1:
			return Mixed, []string{line, "only one of tram-prev and tram-x is among the two best"}
		}
		p := x.ood(3, t, trams[1], trams[2])
		v := judge(p)
		if v == NotHeld {
			v = Inconclusive // second ahead of third by mean, by construction, but not significantly
		}
		return v, []string{line, "second against third: " + describe(trams[1].Row, trams[2].Row, p)}
	})
	return c
}

// residuals returns, per seed, how far a row's (in-domain, domain) point
// lies from a line (positive: above).
func residuals(r grid.RowSummary, dom string, l grid.Line) grid.Estimate {
	y := r.Domains[dom]
	var vs []float64
	var seeds []int
	for i, s := range r.In.Seeds {
		j := slices.Index(y.Seeds, s)
		if j < 0 {
			continue
		}
		vs, seeds = append(vs, y.Values[j]-(l.Intercept+l.Slope*r.In.Values[i])), append(seeds, s)
	}
	return grid.Estimated(vs, seeds)
}

func (x *checker) claim4() Claim {
	s := x.s
	c := Claim{Number: 4, Title: "Anticorrelated domains; TRAM-x and TRAM-θ0 below the prior line", Statement: "Anticorrelated domains (perplexity): on some out-of-domain domains a better in-domain perplexity comes with a worse one there across methods (Pearson ρ < 0, Table 9), and TRAM-x and TRAM-θ0 lie below the prior methods' regression line on those domains (a lesser trade-off, Figure 2)."}
	if s.Metric != "perplexity" {
		c.Verdict = NotMeasured
		c.Evidence = []string{fmt.Sprintf("not measured: the claim is about perplexity (the lm family); this grid measures %s", s.Metric)}
		return c
	}
	perTable(s, &c, func(t grid.Table) (Verdict, []string) {
		var ev []string
		var anti []string
		var va []Verdict
		lowest, lowestRho := "", math.Inf(1)
		for _, dom := range t.Domains[1:] {
			co, ok := t.Correlations[dom]
			if !ok || math.IsNaN(co.All.Rho) {
				continue
			}
			if co.All.Rho < lowestRho {
				lowest, lowestRho = dom, co.All.Rho
			}
			if co.All.Rho < 0 {
				anti = append(anti, dom)
				v := Inconclusive
				if co.All.P < Alpha {
					v = Held
				}
				va = append(va, v)
				ev = append(ev, fmt.Sprintf("%s: ρ all = %s (%s, %d methods), ρ prior = %s", dom, num(co.All.Rho, 3),
					pearsonText(co.All.P), co.All.N, num(co.Prior.Rho, 3)))
			}
		}
		if lowest == "" {
			return NotMeasured, []string{"not measured (fewer than three methods with results: no correlation)"}
		}
		if len(anti) == 0 {
			v := NotHeld
			why := "every one significantly positive"
			if lp := t.Correlations[lowest].All.P; !(lp < Alpha) {
				v, why = Inconclusive, "the lowest not significantly positive ("+pearsonText(lp)+")"
			}
			return v, []string{fmt.Sprintf("no anticorrelated domain: every out-of-domain ρ (all methods) is ≥ 0, %s; the lowest is %s, ρ = %s", why, lowest, num(lowestRho, 3))}
		}
		var vb []Verdict
		for _, dom := range anti {
			l := t.Correlations[dom].Prior
			if math.IsNaN(l.Slope) {
				ev = append(ev, dom+": no prior-methods line (fewer than two prior methods)")
				continue
			}
			for _, name := range []string{"tram-x", "tram-theta0"} {
				r, ok := rowOf(t, name)
				if !ok || r.In.N == 0 {
					ev = append(ev, fmt.Sprintf("%s: %s not measured (%s)", dom, name, missing(name)))
					continue
				}
				res := residuals(r, dom, l)
				zero := grid.Estimated(make([]float64, res.N), res.Seeds)
				p := x.compare(4, t, name, "prior line", "residual_"+dom, res, zero, false, math.NaN())
				v := judge(p)
				vb = append(vb, v)
				where := "below"
				if res.Mean >= 0 {
					where = "not below"
				}
				ev = append(ev, fmt.Sprintf("%s: %s lies %s the prior line: residual %s (one-sample t-test over seeds, two-sided: %s, n = %d)",
					dom, name, where, diffCell(p), pText(p), p.Diff.N))
			}
		}
		return combine(combine(va...), combine(vb...)), ev
	})
	return c
}

// extraClaim compares TRAM rows with reference rows on an optional OOD
// measurement (ε-sharpness, CKA).
func (x *checker) extraClaim(c *Claim, what string, get func(grid.RowSummary) *grid.Estimate, higher bool,
	trams func(t grid.Table) []grid.RowSummary, refs []string) {
	s := x.s
	any := false
	for _, t := range s.Tables {
		for _, r := range t.Rows {
			any = any || get(r) != nil
		}
	}
	if !any {
		c.Verdict = NotMeasured
		c.Evidence = []string{"not measured: the records hold no " + what}
		return
	}
	perTable(s, c, func(t grid.Table) (Verdict, []string) {
		var vs []Verdict
		var ev []string
		ts := trams(t)
		if len(ts) == 0 {
			return NotMeasured, []string{"not measured (no TRAM row with " + what + ")"}
		}
		for _, ref := range refs {
			b, ok := rowOf(t, ref)
			if !ok || get(b) == nil {
				ev = append(ev, fmt.Sprintf("%s not measured (%s)", ref, missing(ref)))
				continue
			}
			for _, a := range ts {
				if get(a) == nil {
					continue
				}
				// No equivalence margin is stated for these measurements.
				p := x.compare(c.Number, t, a.Row, ref, what, *get(a), *get(b), higher, math.NaN())
				vs = append(vs, judge(p))
				ev = append(ev, fmt.Sprintf("%s: %s %s vs %s %s: %s", what, a.Row, estCell(*get(a), 3), ref, estCell(*get(b), 3), describe(a.Row, ref, p)))
			}
		}
		return combine(vs...), ev
	})
}

func (x *checker) claim5() Claim {
	s := x.s
	c := Claim{Number: 5, Title: "TRAM's OOD loss surface is flatter (ε-sharpness)", Statement: "TRAM's out-of-domain loss surface is flatter: the two best TRAM main rows (by OOD metric) have lower OOD ε-sharpness than the base optimizer and SAM."}
	get := func(r grid.RowSummary) *grid.Estimate { return r.SharpnessOOD }
	top := func(t grid.Table) []grid.RowSummary {
		var ts []grid.RowSummary
		for _, r := range mainRows(t) {
			if grid.IsTRAM(r.Method) && r.SharpnessOOD != nil && r.OOD.N > 0 {
				ts = append(ts, r)
			}
		}
		slices.SortStableFunc(ts, func(a, b grid.RowSummary) int {
			switch {
			case isBetter(s.HigherIsBetter, a.OOD.Mean, b.OOD.Mean):
				return -1
			case isBetter(s.HigherIsBetter, b.OOD.Mean, a.OOD.Mean):
				return 1
			}
			return 0
		})
		return ts[:min(2, len(ts))]
	}
	x.extraClaim(&c, "OOD ε-sharpness", get, false, top, []string{s.Base, "sam"})
	return c
}

func (x *checker) claim6() Claim {
	s := x.s
	c := Claim{Number: 6, Title: "TRAM keeps representations closer to the pretrained model (CKA)", Statement: "TRAM keeps representations closer to the pretrained model: higher OOD CKA for tram-prev and tram-x than for the base optimizer."}
	get := func(r grid.RowSummary) *grid.Estimate { return r.CKAOOD }
	named := func(t grid.Table) []grid.RowSummary {
		var ts []grid.RowSummary
		for _, n := range []string{"tram-prev", "tram-x"} {
			if r, ok := rowOf(t, n); ok && r.CKAOOD != nil {
				ts = append(ts, r)
			}
		}
		return ts
	}
	x.extraClaim(&c, "OOD CKA", get, true, named, []string{s.Base})
	return c
}

func (x *checker) claim7() Claim {
	s := x.s
	c := Claim{Number: 7, Title: "KL ≈ MMD > L2 as TRAM-x's distance", Statement: "KL ≈ MMD > L2 as TRAM-x's distance (rows tram-x, tram-x:mmd, tram-x:l2; OOD average). ≈ is read as equivalence within the study's margin (TOST, Holm-adjusted p < 0.05), not as a mere absence of a significant difference."}
	perTable(s, &c, func(t grid.Table) (Verdict, []string) {
		kl, ok1 := rowOf(t, "tram-x")
		mmd, ok2 := rowOf(t, "tram-x:mmd")
		l2, ok3 := rowOf(t, "tram-x:l2")
		if !ok1 || !ok2 || !ok3 {
			var names []string
			for i, n := range []string{"tram-x", "tram-x:mmd", "tram-x:l2"} {
				if ![]bool{ok1, ok2, ok3}[i] {
					names = append(names, n)
				}
			}
			return NotMeasured, []string{"not measured (" + missing(names...) + ")"}
		}
		pKL := x.ood(7, t, kl, l2)
		pMMD := x.ood(7, t, mmd, l2)
		pEq := x.ood(7, t, kl, mmd)
		eq := NotMeasured
		switch {
		case pEq.Diff.N < 2: // one common seed tests nothing
		case pEq.Verdict == grid.VerdictEquivalent:
			eq = Held
		case differs(pEq):
			eq = NotHeld
		default:
			eq = Inconclusive
		}
		ev := []string{
			fmt.Sprintf("OOD avg: KL (tram-x) %s, MMD %s, L2 %s", oodCell(kl), oodCell(mmd), oodCell(l2)),
			"KL > L2: " + describe("tram-x", "tram-x:l2", pKL),
			"MMD > L2: " + describe("tram-x:mmd", "tram-x:l2", pMMD),
			fmt.Sprintf("KL ≈ MMD: tram-x − tram-x:mmd = %s (%s) → %s", diffCell(pEq), pText(pEq),
				map[Verdict]string{Held: "equivalent", NotHeld: "they differ", Inconclusive: "inconclusive (neither different nor shown equivalent)",
					NotMeasured: "not tested (fewer than two common seeds)"}[eq]),
		}
		return combine(judge(pKL), judge(pMMD), eq), ev
	})
	return c
}

func (x *checker) claim8() Claim {
	s := x.s
	c := Claim{Number: 8, Title: "Does dropping the gradient factor change results?", Statement: "Does dropping the gradient factor from TRAM's perturbation (the public code's TRAM: tram-prev:nograd, tram-x:nograd) change results? Held means yes: a significant paired difference (Holm-adjusted p < 0.05) on the OOD average or in-domain; not held means no change: equivalent on both within the study's margin; inconclusive otherwise."}
	perTable(s, &c, func(t grid.Table) (Verdict, []string) {
		var vs []Verdict
		var ev []string
		for _, name := range []string{"tram-prev", "tram-x"} {
			a, ok1 := rowOf(t, name)
			b, ok2 := rowOf(t, name+":nograd")
			if !ok1 || !ok2 {
				var names []string
				if !ok1 {
					names = append(names, name)
				}
				if !ok2 {
					names = append(names, name+":nograd")
				}
				ev = append(ev, fmt.Sprintf("%s: not measured (%s)", name, missing(names...)))
				continue
			}
			pOOD := x.ood(8, t, a, b)
			pIn := x.in(8, t, a, b)
			if pOOD.Diff.N < 2 && pIn.Diff.N < 2 {
				ev = append(ev, fmt.Sprintf("%s: not measured (%d common seeds; a paired test needs two): %s − %s:nograd OOD avg %s, in-domain %s",
					name, pOOD.Diff.N, name, name, diffCell(pOOD), diffCell(pIn)))
				continue
			}
			v, answer := Inconclusive, "inconclusive: neither a significant change nor equivalence on both"
			switch {
			case differs(pOOD) || differs(pIn):
				v, answer = Held, "changes results"
			case pOOD.Verdict == grid.VerdictEquivalent && pIn.Verdict == grid.VerdictEquivalent:
				v, answer = NotHeld, "no change: equivalent in and out of domain"
			}
			vs = append(vs, v)
			ev = append(ev, fmt.Sprintf("%s − %s:nograd (paired t-tests over seeds, two-sided): OOD avg %s (%s), in-domain %s (%s), n = %d → %s",
				name, name, diffCell(pOOD), pText(pOOD), diffCell(pIn), pText(pIn), pOOD.Diff.N, answer))
		}
		return combine(vs...), ev
	})
	return c
}

func (x *checker) claim9() Claim {
	s := x.s
	c := Claim{Number: 9, Title: "How much of TRAM-θt−1's gain is dropout's?", Statement: fmt.Sprintf("How much of TRAM-θt−1's gain is dropout's? Compares the gain with dropout on and the reference in evaluation mode (tram-prev:dropout − %[1]s:dropout, the public code's setting) with the gain at dropout 0 (tram-prev − %[1]s), on the OOD average. Held means TRAM-θt−1 still beats the base optimizer with dropout off (Holm-adjusted p < 0.05); not held that it is equivalent to it or worse.", s.Base)}
	h := s.HigherIsBetter
	sign := 1.0
	if !h {
		sign = -1 // gains in "better" units
	}
	perTable(s, &c, func(t grid.Table) (Verdict, []string) {
		names := []string{"tram-prev", s.Base, "tram-prev:dropout", s.Base + ":dropout"}
		var rows []grid.RowSummary
		var absent []string
		for _, n := range names {
			r, ok := rowOf(t, n)
			if !ok {
				absent = append(absent, n)
			}
			rows = append(rows, r)
		}
		if len(absent) > 0 {
			return NotMeasured, []string{"not measured (" + missing(absent...) + ")"}
		}
		plain := x.ood(9, t, rows[0], rows[1])
		drop := x.ood(9, t, rows[2], rows[3])
		if plain.Diff.N == 0 {
			return NotMeasured, []string{"not measured (tram-prev and " + s.Base + " share no seed)"}
		}
		ev := []string{
			"gain at dropout 0: " + describe("tram-prev", s.Base, plain),
			"gain with dropout: " + describe("tram-prev:dropout", s.Base+":dropout", drop),
		}
		if drop.Diff.N > 0 {
			dd := x.compare(9, t, "gain with dropout", "gain at dropout 0", "ood", drop.Diff, plain.Diff, true, math.NaN())
			ev = append(ev, fmt.Sprintf("difference of the gains (with − without dropout, metric units): %s (paired t-test over seeds, two-sided: %s, n = %d)",
				diffCell(dd), pText(dd), dd.Diff.N))
			gd, gp := sign*drop.Diff.Mean, sign*plain.Diff.Mean
			if gd > 0 && drop.Verdict == grid.VerdictBetter {
				ev = append(ev, fmt.Sprintf("dropout's share of the gain with dropout: 1 − %.3f / %.3f = %.0f%%", gp, gd, 100*(1-gp/gd)))
			} else {
				ev = append(ev, "no significant gain with dropout on, so no share to attribute")
			}
		}
		return judge(plain), ev
	})
	return c
}
