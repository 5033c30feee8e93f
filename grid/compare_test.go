package grid

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// relNear reports whether got is within rel of want, relatively (or within
// abs of it, for values near 0).
func relNear(got, want, rel, abs float64) bool {
	return math.Abs(got-want) <= math.Max(abs, rel*math.Abs(want))
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i + 1
	}
	return s
}

// pair builds rows a and b over seeds 1..n whose differences a − b are d.
func pair(d ...float64) (a, b Estimate) {
	x, y := make([]float64, len(d)), make([]float64, len(d))
	for i := range d {
		x[i], y[i] = 50+d[i], 50
	}
	return Estimated(x, seq(len(d))), Estimated(y, seq(len(d)))
}

// TestCompareByHand: differences {1, 2, 3}, margin 2.5. Mean 2, sd 1,
// se 1/√3, dof 2. For Student's t with 2 dof, P(T > t) = (1 − t/√(t²+2))/2.
//   - paired t: t = 2√3, t² = 12: p = 1 − 2√3/√14.
//   - TOST lower: t = (2 + 2.5)√3 = 4.5√3, t² = 60.75: p = (1 − 4.5√3/√62.75)/2.
//   - TOST upper: t = (2 − 2.5)√3 = −0.5√3, t² = 0.75: p = (1 − 0.5√3/√2.75)/2.
func TestCompareByHand(t *testing.T) {
	a, b := pair(1, 2, 3)
	c := Compare(a, b, true, 2.5)
	wantP := 1 - 2*math.Sqrt(3)/math.Sqrt(14)
	lower := (1 - 4.5*math.Sqrt(3)/math.Sqrt(62.75)) / 2
	upper := (1 - 0.5*math.Sqrt(3)/math.Sqrt(2.75)) / 2
	if !near(c.Diff.Mean, 2, 1e-12) || !near(c.Diff.CI95, 4.302653/math.Sqrt(3), 1e-5) || c.N != 3 {
		t.Errorf("Diff = %+v", c.Diff)
	}
	if !relNear(c.P, wantP, 1e-12, 0) {
		t.Errorf("P = %v, want %v", c.P, wantP)
	}
	if !relNear(c.PTOST, math.Max(lower, upper), 1e-12, 0) || upper < lower {
		t.Errorf("PTOST = %v, want max(%v, %v)", c.PTOST, lower, upper)
	}
	if c.PHolm != c.P || c.PTOSTHolm != c.PTOST {
		t.Errorf("a family of one: PHolm %v, PTOSTHolm %v", c.PHolm, c.PTOSTHolm)
	}
	if c.Wins != 3 || c.Losses != 0 || c.PImprove != 1 || c.Margin != 2.5 || !c.Higher {
		t.Errorf("Compare = %+v", c)
	}
	// p ≈ 0.074, p_TOST ≈ 0.36: neither rejects.
	if c.Verdict != VerdictInconclusive {
		t.Errorf("verdict %q", c.Verdict)
	}
	// Lower is better (perplexity): A − B > 0 means A is worse.
	if l := Compare(a, b, false, 2.5); l.Wins != 0 || l.Losses != 3 || l.PImprove != 0 || l.P != c.P || l.PTOST != c.PTOST || !near(l.Diff.Mean, 2, 1e-12) {
		t.Errorf("lower is better: %+v", l)
	}
}

// TestCompareDirection: perplexity (lower is better): A − B < 0 means A is
// better, and the signed difference stays A − B.
func TestCompareDirection(t *testing.T) {
	a, b := pair(-1.0, -1.2, -0.9, -1.1, -1.05)
	c := Compare(a, b, false, 0.2)
	if c.Verdict != VerdictBetter || c.Diff.Mean > 0 || c.Wins != 5 || c.PImprove != 1 {
		t.Errorf("lower ppl: %+v", c)
	}
	if c := Compare(b, a, false, 0.2); c.Verdict != VerdictWorse || c.Diff.Mean < 0 || c.Losses != 5 || c.PImprove != 0 {
		t.Errorf("higher ppl: %+v", c)
	}
	if c := Compare(a, b, true, 0.2); c.Verdict != VerdictWorse {
		t.Errorf("lower accuracy: %+v", c)
	}
	// Ties count half: differences 0, 0, +1, −1, +2 → (2 + 2/2)/5.
	a, b = pair(0, 0, 1, -1, 2)
	if c := Compare(a, b, true, 0.5); c.Wins != 2 || c.Losses != 1 || !near(c.PImprove, 0.6, 1e-15) {
		t.Errorf("ties: %+v", c)
	}
	if c := Compare(a, b, false, 0.5); c.Wins != 1 || c.Losses != 2 || !near(c.PImprove, 0.4, 1e-15) {
		t.Errorf("ties, lower is better: %+v", c)
	}
}

// TestCompareDegenerate: zero variance, n < 2, no margin.
func TestCompareDegenerate(t *testing.T) {
	// All differences equal (sd = 0), inside the margin: exact one-sided
	// sign tests, 2⁻ⁿ; P is PairedTest's two-sided 2·2⁻ⁿ.
	for n, want := range map[int]float64{2: 0.25, 3: 0.125, 4: 0.0625, 5: 0.03125, 6: 0.015625} {
		d := slices.Repeat([]float64{0.25}, n)
		a, b := pair(d...)
		c := Compare(a, b, true, 0.5)
		if c.PTOST != want || c.P != math.Min(1, 2*want) {
			t.Errorf("%d seeds all +0.25, margin 0.5: PTOST %v, P %v; want %v, %v", n, c.PTOST, c.P, want, 2*want)
		}
		verdict := VerdictInconclusive
		switch {
		case 2*want < 0.05:
			verdict = VerdictBetter
		case want < 0.05:
			verdict = VerdictEquivalent
		}
		if c.Verdict != verdict {
			t.Errorf("%d seeds all +0.25: verdict %q, want %q", n, c.Verdict, verdict)
		}
		// On or outside the margin: p = 1.
		for _, m := range []float64{0.25, 0.125} {
			if c := Compare(a, b, true, m); c.PTOST != 1 {
				t.Errorf("%d seeds all +0.25, margin %v: PTOST %v, want 1", n, m, c.PTOST)
			}
		}
		if c := Compare(b, a, true, 0.25); c.PTOST != 1 {
			t.Errorf("%d seeds all −0.25, margin 0.25: PTOST %v, want 1", n, c.PTOST)
		}
	}
	// Identical rows: no paired t (NaN), but equivalent given 5 seeds.
	a := Estimated([]float64{70, 71, 72, 73, 74}, seq(5))
	if c := Compare(a, a, true, 0.5); !math.IsNaN(c.P) || c.PTOST != 1.0/32 || c.Verdict != VerdictEquivalent || c.PImprove != 0.5 || c.Wins+c.Losses != 0 {
		t.Errorf("identical rows: %+v", c)
	}
	// n < 2: nothing to test.
	one := Estimated([]float64{70}, []int{1})
	if c := Compare(one, Estimated([]float64{60}, []int{1}), true, 0.5); !math.IsNaN(c.P) || !math.IsNaN(c.PTOST) || c.N != 1 || c.PImprove != 1 || c.Verdict != VerdictInconclusive {
		t.Errorf("one seed: %+v", c)
	}
	none := Compare(one, Estimated([]float64{60}, []int{2}), true, 0.5)
	if !math.IsNaN(none.P) || !math.IsNaN(none.PTOST) || !math.IsNaN(none.PImprove) || none.N != 0 || none.Verdict != VerdictInconclusive {
		t.Errorf("no common seed: %+v", none)
	}
	// No usable margin: no TOST.
	x, y := pair(0.01, -0.01, 0.02, 0, 0.01, -0.02)
	for _, m := range []float64{0, -0.5, math.NaN(), math.Inf(1)} {
		if c := Compare(x, y, true, m); !math.IsNaN(c.PTOST) || c.Verdict != VerdictInconclusive {
			t.Errorf("margin %v: %+v", m, c)
		}
	}
	raw, err := json.Marshal(none)
	if err != nil || !strings.Contains(string(raw), `"p_paired_t":null`) || !strings.Contains(string(raw), `"p_tost":null`) ||
		!strings.Contains(string(raw), `"verdict":"inconclusive"`) || !strings.Contains(string(raw), `"diff":{"mean":null`) {
		t.Errorf("NaN must marshal as null: %s, %v", raw, err)
	}
}

func TestHolmByHand(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct{ ps, want []float64 }{
		// m = 3: 0.01·3 = 0.03; 0.03·2 = 0.06; 0.04·1 = 0.04 → max 0.06.
		{[]float64{0.01, 0.04, 0.03, nan}, []float64{0.03, 0.06, 0.06, nan}},
		// Capped at 1: 0.3·3 = 0.9; 0.6·2 = 1.2 → 1; 0.9 → max 1.
		{[]float64{0.9, 0.3, 0.6}, []float64{1, 0.9, 1}},
		// Ties: 0.01·3, 0.01·2 → max 0.03, 0.02·1 → 0.03.
		{[]float64{0.02, 0.01, 0.01}, []float64{0.03, 0.03, 0.03}},
		{[]float64{0.04}, []float64{0.04}},
		{[]float64{nan, nan}, []float64{nan, nan}},
		{nil, []float64{}},
	} {
		got := Holm(c.ps)
		if len(got) != len(c.want) {
			t.Fatalf("Holm(%v) = %v", c.ps, got)
		}
		for i := range got {
			if math.IsNaN(c.want[i]) != math.IsNaN(got[i]) || !math.IsNaN(got[i]) && !near(got[i], c.want[i], 1e-15) {
				t.Errorf("Holm(%v) = %v, want %v", c.ps, got, c.want)
				break
			}
		}
	}
}

// golden is testdata/compare_golden.json, written by gen_compare.py with
// SciPy; null stands for NaN.
type golden struct {
	Cases []struct {
		Name   string
		Metric string
		Higher bool
		A, B   struct {
			Seeds  []int
			Values []float64
		}
		Want struct {
			N              int
			Seeds          []int
			Diffs          []float64
			Margin         float64
			BMean          float64 `json:"b_mean"`
			DiffMean       float64 `json:"diff_mean"`
			CILow          float64 `json:"ci_low"`
			CIHigh         float64 `json:"ci_high"`
			CILowInterval  float64 `json:"ci_low_t_interval"`
			CIHighInterval float64 `json:"ci_high_t_interval"`
			P              float64
			PTOST          float64 `json:"p_tost"`
			PHolm          float64 `json:"p_holm"`
			PTOSTHolm      float64 `json:"p_tost_holm"`
			Wins, Losses   int
			PImprove       float64 `json:"p_improve"`
			Verdict        string
			VerdictHolm    string `json:"verdict_holm"`
		}
	}
	Holm []struct{ Ps, Adjusted []*float64 }
}

// Tolerances against SciPy (observed agreement: 1.4e-15 relative at worst,
// on p-values from 0.96 down to 1e-11): p-values relative 1e-12; means and
// intervals relative 1e-13, against the interval whose t quantile the
// script polished with a Newton step, and 1e-9 against
// scipy.stats.t.interval's own (SciPy 1.10's t.ppf is off by up to ~1e-10
// relative); absolute 1e-15 near 0.
const (
	goldenRelP        = 1e-12
	goldenRelCI       = 1e-13
	goldenRelInterval = 1e-9
	goldenAbs         = 1e-15
)

func TestCompareGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/compare_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) < 10 || len(g.Holm) < 5 {
		t.Fatalf("golden file has %d cases, %d Holm families", len(g.Cases), len(g.Holm))
	}
	var family []*Comparison
	ns := map[int]bool{}
	for _, gc := range g.Cases {
		w := gc.Want
		ns[w.N] = true
		margin := DefaultEquivalenceMargin(gc.Metric, w.BMean)
		if !relNear(margin, w.Margin, 1e-15, 0) {
			t.Errorf("%s: margin %v, SciPy script %v", gc.Name, margin, w.Margin)
		}
		c := Compare(Estimated(gc.A.Values, gc.A.Seeds), Estimated(gc.B.Values, gc.B.Seeds), gc.Higher, w.Margin)
		if c.N != w.N || !slices.Equal(c.Diff.Seeds, w.Seeds) || !slices.Equal(c.Diff.Values, w.Diffs) {
			t.Errorf("%s: pairs %v %v, want %v %v", gc.Name, c.Diff.Seeds, c.Diff.Values, w.Seeds, w.Diffs)
		}
		for _, f := range []struct {
			what           string
			got, want, rel float64
		}{
			{"mean", c.Diff.Mean, w.DiffMean, goldenRelCI},
			{"CI low", c.Diff.Mean - c.Diff.CI95, w.CILow, goldenRelCI},
			{"CI high", c.Diff.Mean + c.Diff.CI95, w.CIHigh, goldenRelCI},
			{"CI low (t.interval)", c.Diff.Mean - c.Diff.CI95, w.CILowInterval, goldenRelInterval},
			{"CI high (t.interval)", c.Diff.Mean + c.Diff.CI95, w.CIHighInterval, goldenRelInterval},
			{"p", c.P, w.P, goldenRelP},
			{"p TOST", c.PTOST, w.PTOST, goldenRelP},
			{"p improve", c.PImprove, w.PImprove, 1e-15},
		} {
			if !relNear(f.got, f.want, f.rel, goldenAbs) {
				t.Errorf("%s: %s = %.17g, SciPy %.17g (rel. error %.2g)", gc.Name, f.what, f.got, f.want, math.Abs(f.got-f.want)/math.Abs(f.want))
			}
		}
		if c.Wins != w.Wins || c.Losses != w.Losses || c.Verdict != w.Verdict {
			t.Errorf("%s: wins %d losses %d verdict %q; want %d %d %q", gc.Name, c.Wins, c.Losses, c.Verdict, w.Wins, w.Losses, w.Verdict)
		}
		family = append(family, &c)
	}
	for _, n := range []int{3, 5, 10} {
		if !ns[n] {
			t.Errorf("golden file has no case with n = %d", n)
		}
	}
	AdjustHolm(append(family, nil))
	changed := 0
	for i, gc := range g.Cases {
		c, w := family[i], gc.Want
		if !relNear(c.PHolm, w.PHolm, goldenRelP, goldenAbs) || !relNear(c.PTOSTHolm, w.PTOSTHolm, goldenRelP, goldenAbs) {
			t.Errorf("%s: Holm p's %v, %v; want %v, %v", gc.Name, c.PHolm, c.PTOSTHolm, w.PHolm, w.PTOSTHolm)
		}
		if c.Verdict != w.VerdictHolm {
			t.Errorf("%s: adjusted verdict %q, want %q", gc.Name, c.Verdict, w.VerdictHolm)
		}
		if w.Verdict != w.VerdictHolm {
			changed++
		}
	}
	if changed == 0 {
		t.Error("no golden case changes verdict under Holm: the adjustment is not exercised")
	}
	for _, h := range g.Holm {
		ps := make([]float64, len(h.Ps))
		for i, p := range h.Ps {
			ps[i] = math.NaN()
			if p != nil {
				ps[i] = *p
			}
		}
		got := Holm(ps)
		for i, want := range h.Adjusted {
			if (want == nil) != math.IsNaN(got[i]) || want != nil && !relNear(got[i], *want, 1e-15, goldenAbs) {
				t.Errorf("Holm(%v) = %v, adjusted[%d] want %v", ps, got, i, want)
			}
		}
	}
}

func TestEquivalenceMargin(t *testing.T) {
	if m := DefaultEquivalenceMargin("accuracy", 71.3); m != 0.5 {
		t.Errorf("accuracy margin %v", m)
	}
	if m := DefaultEquivalenceMargin("perplexity", -20); !near(m, 0.2, 1e-15) {
		t.Errorf("perplexity margin %v", m)
	}
	if m := EquivalenceMargin("perplexity", 30, 0.5, 0.02); !near(m, 0.6, 1e-15) {
		t.Errorf("perplexity margin 2%% of 30: %v", m)
	}
	if m := EquivalenceMargin("accuracy", 30, 1, 0.02); m != 1 {
		t.Errorf("accuracy margin 1 point: %v", m)
	}
	if m := DefaultEquivalenceMargin("bleu", 30); !math.IsNaN(m) {
		t.Errorf("unknown metric: %v", m)
	}
}
