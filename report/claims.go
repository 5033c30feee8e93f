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

// Verdicts. Held: the difference goes the claimed way and the paired
// t-test over seeds gives p < Alpha (on every training domain and
// comparison the claim names). Mixed: it goes the claimed way without
// significance, holds on some training domains or comparisons only, or
// holds only because the base optimizer itself does (a TRAM row no better
// than the base optimizer, which beats the compared row on its own). Not
// held: it goes the other way. Not measured: a row (or measurement) the
// claim needs is missing.
const (
	Held        Verdict = "held"
	Mixed       Verdict = "mixed"
	NotHeld     Verdict = "not held"
	NotMeasured Verdict = "not measured"
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
// all not held is not held, anything else is mixed.
func combine(vs ...Verdict) Verdict {
	var m []Verdict
	for _, v := range vs {
		if v != NotMeasured {
			m = append(m, v)
		}
	}
	switch {
	case len(m) == 0:
		return NotMeasured
	case !slices.ContainsFunc(m, func(v Verdict) bool { return v != Held }):
		return Held
	case !slices.ContainsFunc(m, func(v Verdict) bool { return v != NotHeld }):
		return NotHeld
	}
	return Mixed
}

// judge reads a paired comparison a − b made with PairedTest(a, b, higher)
// against the claim that a is better than b; one common seed decides
// nothing.
func judge(p grid.Paired, higher bool) Verdict {
	switch {
	case p.Diff.N < 2 || math.IsNaN(p.Diff.Mean):
		return NotMeasured
	case isBetter(higher, p.Diff.Mean, 0) && significant(p):
		return Held
	case isBetter(higher, p.Diff.Mean, 0):
		return Mixed
	}
	return NotHeld
}

// significant reports whether a paired difference has p < Alpha (see
// grid.Paired.P for seeds that all differ by the same amount).
func significant(p grid.Paired) bool {
	return p.P < Alpha
}

// pText formats a paired test's p-value for prose.
func pText(p grid.Paired) string {
	switch {
	case p.Diff.N > 1 && p.Diff.CI95 == 0 && p.Diff.Mean != 0:
		return fmt.Sprintf("p = %.3f (every seed differs by the same amount: exact sign test)", p.P)
	case math.IsNaN(p.P):
		return "p not defined (fewer than two seeds, or no difference)"
	case p.P < 0.001:
		return "p < 0.001"
	}
	return fmt.Sprintf("p = %.3f", p.P)
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

// describe writes a paired comparison of a with b: the difference a − b,
// its interval and test.
func describe(a, b string, p grid.Paired, higher bool) string {
	if p.Diff.N == 0 {
		return fmt.Sprintf("%s − %s: no common seeds", a, b)
	}
	way := "better"
	switch {
	case !isBetter(higher, p.Diff.Mean, 0):
		way = "not better"
	case p.Diff.N < 2:
		way = "better on its one common seed, untested"
	case !significant(p):
		way = fmt.Sprintf("better on average, not significantly (p ≥ %.2f)", Alpha)
	}
	return fmt.Sprintf("%s − %s = %s (paired t-test over seeds, two-sided: %s; n = %d; %s better on %d seeds, worse on %d) → %s is %s",
		a, b, diffCell(p), pText(p), p.Diff.N, a, p.Wins, p.Losses, a, way)
}

func missing(names ...string) string {
	return "rows " + strings.Join(names, ", ") + " missing"
}

// Claims checks the paper's nine claims (../spec/PAPER-NOTES.md §5 and the
// grid's ablations) against a summary. Each verdict comes from the numbers
// alone (see Verdict); where TRAM does not win, the evidence says so.
func Claims(s *grid.Summary) []Claim {
	return []Claim{claim1(s), claim2(s), claim3(s), claim4(s), claim5(s), claim6(s), claim7(s), claim8(s), claim9(s)}
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

func claim1(s *grid.Summary) Claim {
	c := Claim{Number: 1, Title: "TRAM beats SAM/ASAM/FSAM out of domain", Statement: "TRAM beats SAM, ASAM and FSAM out of domain: the best TRAM main row against the best of sam/asam/fsam on the OOD average."}
	sams := []string{"sam", "asam", "fsam"}
	perTable(s, &c, func(t grid.Table) (Verdict, []string) {
		return bestTRAMvs(s, t, sams)
	})
	return c
}

// bestTRAMvs compares the best TRAM main row with the best of the named
// rows on the OOD average.
func bestTRAMvs(s *grid.Summary, t grid.Table, others []string) (Verdict, []string) {
	h := s.HigherIsBetter
	tr, ok := bestOf(t, h, func(r grid.RowSummary) bool { return grid.IsTRAM(r.Method) })
	if !ok {
		return NotMeasured, []string{"not measured (no TRAM main row with results)"}
	}
	ot, ok := bestOf(t, h, func(r grid.RowSummary) bool { return slices.Contains(others, r.Row) })
	if !ok {
		return NotMeasured, []string{"not measured (" + missing(others...) + ")"}
	}
	p := grid.PairedTest(tr.OOD, ot.OOD, h)
	v := judge(p, h)
	line := fmt.Sprintf("best TRAM row %s (OOD avg %s) vs best of %s, %s (%s): %s",
		tr.Row, oodCell(tr), strings.Join(others, "/"), ot.Row, oodCell(ot), describe(tr.Row, ot.Row, p, h))
	if v == NotHeld {
		line += fmt.Sprintf("; TRAM does not beat %s here", ot.Row)
	}
	lines := []string{line}
	if v == Held {
		if why := baseOwnsWin(s, t, tr, ot); why != nil {
			v, lines = Mixed, append(lines, why...)
		}
	}
	return v, lines
}

// baseOwnsWin checks a held win of TRAM row tr over row ot against the base
// optimizer. When tr is not significantly better than the base row and the
// base row alone beats ot significantly, the win is the base optimizer's,
// not TRAM's: it returns the evidence for that (the verdict is then mixed),
// and nil otherwise.
func baseOwnsWin(s *grid.Summary, t grid.Table, tr, ot grid.RowSummary) []string {
	h := s.HigherIsBetter
	base, ok := rowOf(t, s.Base)
	if !ok || base.OOD.N == 0 || base.Row == tr.Row || base.Row == ot.Row {
		return nil
	}
	pt := grid.PairedTest(tr.OOD, base.OOD, h)
	pb := grid.PairedTest(base.OOD, ot.OOD, h)
	if judge(pt, h) == Held || judge(pb, h) != Held {
		return nil
	}
	return []string{
		fmt.Sprintf("but against the base optimizer: %s", describe(tr.Row, base.Row, pt, h)),
		fmt.Sprintf("and the base optimizer alone: %s", describe(base.Row, ot.Row, pb, h)),
		fmt.Sprintf("→ the win over %s is the base optimizer's, not TRAM's: mixed", ot.Row),
	}
}

func claim2(s *grid.Summary) Claim {
	c := Claim{Number: 2, Title: "TRAM beats TRPO/R3F/MESA; naive ASAM+X worse than the base optimizer", Statement: "TRAM beats the trust-region regularizers (trpo, r3f, mesa) out of domain, and the naive combinations asam+trpo, asam+r3f and asam+mesa are worse than the base optimizer (two parts: mixed when one holds)."}
	h := s.HigherIsBetter
	var a, b []Verdict
	for _, t := range s.Tables {
		prefix := ""
		if len(s.Tables) > 1 {
			prefix = "[" + trainLabel(t) + "] "
		}
		va, ev := bestTRAMvs(s, t, []string{"trpo", "r3f", "mesa"})
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
			p := grid.PairedTest(base.OOD, r.OOD, h)
			v := judge(p, h)
			vb = append(vb, v)
			line := fmt.Sprintf("part 2: base %s (OOD avg %s) vs %s (%s): %s", s.Base, oodCell(base), name, oodCell(r), describe(s.Base, name, p, h))
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

func claim3(s *grid.Summary) Claim {
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
			return NotHeld, []string{line, "neither tram-prev nor tram-x is among the two best"}
		case 1:
			return Mixed, []string{line, "only one of tram-prev and tram-x is among the two best"}
		}
		p := grid.PairedTest(trams[1].OOD, trams[2].OOD, h)
		v := judge(p, h)
		if v == NotHeld {
			v = Mixed // second ahead of third by mean, by construction
		}
		return v, []string{line, "second against third: " + describe(trams[1].Row, trams[2].Row, p, h)}
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

func claim4(s *grid.Summary) Claim {
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
				v := Mixed
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
			return NotHeld, []string{fmt.Sprintf("no anticorrelated domain: every out-of-domain ρ (all methods) is ≥ 0; the lowest is %s, ρ = %s", lowest, num(lowestRho, 3))}
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
				p := grid.PairedTest(res, zero, false)
				v := judge(p, false)
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
func extraClaim(s *grid.Summary, c *Claim, what string, get func(grid.RowSummary) *grid.Estimate, higher bool,
	trams func(t grid.Table) []grid.RowSummary, refs []string) {
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
				p := grid.PairedTest(*get(a), *get(b), higher)
				vs = append(vs, judge(p, higher))
				ev = append(ev, fmt.Sprintf("%s: %s %s vs %s %s: %s", what, a.Row, estCell(*get(a), 3), ref, estCell(*get(b), 3), describe(a.Row, ref, p, higher)))
			}
		}
		return combine(vs...), ev
	})
}

func claim5(s *grid.Summary) Claim {
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
	extraClaim(s, &c, "OOD ε-sharpness", get, false, top, []string{s.Base, "sam"})
	return c
}

func claim6(s *grid.Summary) Claim {
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
	extraClaim(s, &c, "OOD CKA", get, true, named, []string{s.Base})
	return c
}

func claim7(s *grid.Summary) Claim {
	c := Claim{Number: 7, Title: "KL ≈ MMD > L2 as TRAM-x's distance", Statement: "KL ≈ MMD > L2 as TRAM-x's distance (rows tram-x, tram-x:mmd, tram-x:l2; OOD average). ≈ is read as no significant paired difference (p ≥ 0.05), which is an absence of evidence, not a proof of equality."}
	h := s.HigherIsBetter
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
		pKL := grid.PairedTest(kl.OOD, l2.OOD, h)
		pMMD := grid.PairedTest(mmd.OOD, l2.OOD, h)
		pEq := grid.PairedTest(kl.OOD, mmd.OOD, h)
		eq := NotMeasured
		switch {
		case pEq.Diff.N < 2: // one common seed tests nothing
		case significant(pEq):
			eq = NotHeld
		default:
			eq = Held
		}
		ev := []string{
			fmt.Sprintf("OOD avg: KL (tram-x) %s, MMD %s, L2 %s", oodCell(kl), oodCell(mmd), oodCell(l2)),
			"KL > L2: " + describe("tram-x", "tram-x:l2", pKL, h),
			"MMD > L2: " + describe("tram-x:mmd", "tram-x:l2", pMMD, h),
			fmt.Sprintf("KL ≈ MMD: tram-x − tram-x:mmd = %s (%s) → %s", diffCell(pEq), pText(pEq),
				map[Verdict]string{Held: "no significant difference", NotHeld: "they differ", NotMeasured: "not tested (fewer than two common seeds)"}[eq]),
		}
		return combine(judge(pKL, h), judge(pMMD, h), eq), ev
	})
	return c
}

func claim8(s *grid.Summary) Claim {
	c := Claim{Number: 8, Title: "Does dropping the gradient factor change results?", Statement: "Does dropping the gradient factor from TRAM's perturbation (the public code's TRAM: tram-prev:nograd, tram-x:nograd) change results? Held means yes: a paired difference with p < 0.05 on the OOD average or in-domain; not held means no significant change."}
	h := s.HigherIsBetter
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
			pOOD := grid.PairedTest(a.OOD, b.OOD, h)
			pIn := grid.PairedTest(a.In, b.In, h)
			if pOOD.Diff.N < 2 && pIn.Diff.N < 2 {
				ev = append(ev, fmt.Sprintf("%s: not measured (%d common seeds; a paired test needs two): %s − %s:nograd OOD avg %s, in-domain %s",
					name, pOOD.Diff.N, name, name, diffCell(pOOD), diffCell(pIn)))
				continue
			}
			v, answer := NotHeld, "no significant change"
			if significant(pOOD) || significant(pIn) {
				v, answer = Held, "changes results"
			}
			vs = append(vs, v)
			ev = append(ev, fmt.Sprintf("%s − %s:nograd (paired t-tests over seeds, two-sided): OOD avg %s (%s), in-domain %s (%s), n = %d → %s",
				name, name, diffCell(pOOD), pText(pOOD), diffCell(pIn), pText(pIn), pOOD.Diff.N, answer))
		}
		return combine(vs...), ev
	})
	return c
}

func claim9(s *grid.Summary) Claim {
	c := Claim{Number: 9, Title: "How much of TRAM-θt−1's gain is dropout's?", Statement: fmt.Sprintf("How much of TRAM-θt−1's gain is dropout's? Compares the gain with dropout on and the reference in evaluation mode (tram-prev:dropout − %[1]s:dropout, the public code's setting) with the gain at dropout 0 (tram-prev − %[1]s), on the OOD average. Held means TRAM-θt−1 still beats the base optimizer with dropout off (p < 0.05).", s.Base)}
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
		plain := grid.PairedTest(rows[0].OOD, rows[1].OOD, h)
		drop := grid.PairedTest(rows[2].OOD, rows[3].OOD, h)
		if plain.Diff.N == 0 {
			return NotMeasured, []string{"not measured (tram-prev and " + s.Base + " share no seed)"}
		}
		ev := []string{
			"gain at dropout 0: " + describe("tram-prev", s.Base, plain, h),
			"gain with dropout: " + describe("tram-prev:dropout", s.Base+":dropout", drop, h),
		}
		if drop.Diff.N > 0 {
			dd := grid.PairedTest(drop.Diff, plain.Diff, true)
			ev = append(ev, fmt.Sprintf("difference of the gains (with − without dropout, metric units): %s (paired t-test over seeds, two-sided: %s, n = %d)",
				diffCell(dd), pText(dd), dd.Diff.N))
			gd, gp := sign*drop.Diff.Mean, sign*plain.Diff.Mean
			if gd > 0 && significant(drop) {
				ev = append(ev, fmt.Sprintf("dropout's share of the gain with dropout: 1 − %.3f / %.3f = %.0f%%", gp, gd, 100*(1-gp/gd)))
			} else {
				ev = append(ev, "no significant gain with dropout on, so no share to attribute")
			}
		}
		return judge(plain, h), ev
	})
	return c
}
