package grid

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Verdicts of a Comparison.
const (
	// VerdictBetter: the paired t-test rejects "no difference" and A is
	// better than B in the metric's direction.
	VerdictBetter = "better"
	// VerdictWorse: the paired t-test rejects "no difference" and A is
	// worse than B.
	VerdictWorse = "worse"
	// VerdictEquivalent: the difference test does not reject, and TOST
	// rejects "the difference is at least the margin": A and B agree to
	// within ±Margin.
	VerdictEquivalent = "equivalent"
	// VerdictInconclusive: neither test rejects (or neither could be run):
	// the seeds show neither a difference nor an equivalence.
	VerdictInconclusive = "inconclusive"
)

// VerdictAlpha is the level at which a Comparison's (Holm-adjusted) p-values
// decide its verdict.
const VerdictAlpha = 0.05

// Default equivalence margins (see EquivalenceMargin).
const (
	// DefaultAccuracyMargin is the margin for "accuracy", in accuracy
	// points (the metric is in percent): ±0.5 points.
	DefaultAccuracyMargin = 0.5
	// DefaultPerplexityMargin is the margin for "perplexity", as a fraction
	// of the base row's mean perplexity: ±1%.
	DefaultPerplexityMargin = 0.01
)

// Comparison is one paired comparison of a row A against a row B on one
// metric, over the seeds both rows have. It carries two tests of the mean
// paired difference μ = E[A − B], both Student's t with n−1 degrees of
// freedom on the n per-seed differences:
//
//   - the paired t-test of H0: μ = 0 against μ ≠ 0 (two-sided), which can
//     show a difference;
//   - the two one-sided tests (TOST, Schuirmann 1987) of
//     H0: |μ| ≥ Margin against |μ| < Margin, which can show equivalence.
//     Rejecting at level α is the same as the (1 − 2α) interval of μ (90%
//     for α = 0.05) lying inside (−Margin, +Margin).
//
// A comparison is usually one of a family (every row against the base row
// on one metric, say); AdjustHolm then adjusts each of the two kinds of
// p-value over the family with Holm's step-down procedure, which controls
// the family-wise error rate (the probability of at least one false
// "better"/"worse" claim, and separately of at least one false
// "equivalent" claim) at VerdictAlpha under any dependence between the
// comparisons. Compare alone treats the comparison as a family of one
// (PHolm = P, PTOSTHolm = PTOST).
type Comparison struct {
	// Diff holds the per-seed differences A − B (in the metric's units,
	// signed A − B whatever the direction), their mean and the half-width
	// of its 95% t interval.
	Diff Estimate `json:"diff"`
	// P is the two-sided p-value of the paired t-test of μ = 0, as
	// PairedTest computes it: NaN when n < 2 or every difference is zero;
	// when every seed differs by the same non-zero amount (sd = 0, an
	// infinite t) it is the exact two-sided sign test's, min(1, 2·2⁻ⁿ).
	P float64 `json:"p_paired_t"`
	// PHolm is P Holm-adjusted over the family of P's (see AdjustHolm).
	PHolm float64 `json:"p_paired_t_holm"`
	// Margin is the equivalence margin Δ > 0, in the metric's units.
	Margin float64 `json:"margin"`
	// PTOST is the TOST p-value, the larger of the two one-sided paired
	// t-tests' p's: of H0: μ ≤ −Δ (against μ > −Δ), P(T ≥ (d̄ + Δ)/se),
	// and of H0: μ ≥ +Δ (against μ < +Δ), P(T ≤ (d̄ − Δ)/se), where
	// se = sd/√n and T is Student's t with n−1 degrees of freedom. Each
	// one-sided test is at level α, not α/2: the equivalence null is the
	// union of the two, so its rejection needs both (intersection–union
	// test). NaN when n < 2 or Margin is not a finite positive number.
	// When every difference equals the same d (sd = 0, the t statistics
	// infinite) the one-sided tests become exact one-sided sign tests, as
	// in P's rule: PTOST = 2⁻ⁿ when |d| < Δ (all n signs fall on the
	// alternative's side of both margins), else 1 (no sign does on one
	// side). So at least 5 seeds are needed to show equivalence from
	// identical differences, as at least 6 are to show a difference.
	PTOST float64 `json:"p_tost"`
	// PTOSTHolm is PTOST Holm-adjusted over the family of PTOST's.
	PTOSTHolm float64 `json:"p_tost_holm"`
	// PImprove is the share of common seeds on which A is better than B in
	// the metric's direction, a tie (equal values) counting as half a
	// seed: (Wins + (N − Wins − Losses)/2)/N; 0.5 means no tendency. NaN
	// when N = 0. It is descriptive, not a test.
	PImprove float64 `json:"p_improve"`
	// Wins counts the seeds where A is better than B, Losses where it is
	// worse; N is the number of common seeds (N − Wins − Losses are ties).
	Wins   int `json:"wins"`
	Losses int `json:"losses"`
	N      int `json:"n"`
	// Higher says whether larger values of the metric are better.
	Higher bool `json:"higher_is_better"`
	// Verdict is one of the Verdict constants, decided at VerdictAlpha on
	// the adjusted p's: "better" or "worse" (by the sign of Diff.Mean and
	// the direction) when PHolm < α; otherwise "equivalent" when
	// PTOSTHolm < α; otherwise "inconclusive". Both tests can reject when
	// a small difference (inside ±Margin) is measured precisely: the
	// verdict is then "better"/"worse", since a difference was shown (and
	// it is smaller than the margin, as PTOST says).
	Verdict string `json:"verdict"`
}

// MarshalJSON writes NaN and infinite values as null.
func (c Comparison) MarshalJSON() ([]byte, error) {
	type plain Comparison
	return marshalFinite(plain(c))
}

// Compare compares a with b seed by seed over their common seeds, as
// PairedTest does; higher says which direction of the metric is better and
// margin is the equivalence margin Δ (> 0, in the metric's units; see
// EquivalenceMargin). The verdict is on the unadjusted p's until
// AdjustHolm adjusts them over a family.
func Compare(a, b Estimate, higher bool, margin float64) Comparison {
	p := PairedTest(a, b, higher)
	c := Comparison{
		Diff: p.Diff, P: p.P, Margin: margin, Wins: p.Wins, Losses: p.Losses,
		N: p.Diff.N, Higher: higher, PTOST: tost(p.Diff.Values, margin), PImprove: math.NaN(),
	}
	if c.N > 0 {
		ties := c.N - c.Wins - c.Losses
		c.PImprove = (float64(c.Wins) + float64(ties)/2) / float64(c.N)
	}
	c.PHolm, c.PTOSTHolm = c.P, c.PTOST
	c.Verdict = c.verdict()
	return c
}

// tost returns the TOST p-value of the differences d for margin Δ (see
// Comparison.PTOST).
func tost(d []float64, margin float64) float64 {
	n := len(d)
	if n < 2 || !(margin > 0) || math.IsInf(margin, 1) {
		return math.NaN()
	}
	mean := stat.Mean(d, nil)
	sd := spread(d)
	if !(sd > 0) {
		if math.Abs(mean) < margin {
			return math.Pow(0.5, float64(n))
		}
		return 1
	}
	se := sd / math.Sqrt(float64(n))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}
	lower := t.Survival((mean + margin) / se) // H0: μ ≤ −Δ
	upper := t.CDF((mean - margin) / se)      // H0: μ ≥ +Δ
	return math.Max(lower, upper)
}

func (c *Comparison) verdict() string {
	switch {
	case c.PHolm < VerdictAlpha && c.Diff.Mean != 0:
		if c.Diff.Mean > 0 == c.Higher {
			return VerdictBetter
		}
		return VerdictWorse
	case c.PTOSTHolm < VerdictAlpha:
		return VerdictEquivalent
	}
	return VerdictInconclusive
}

// Holm returns the Holm–Bonferroni step-down adjusted p-values of ps, in
// the order of ps: with the m non-NaN p's sorted p₍₁₎ ≤ … ≤ p₍ₘ₎, the
// adjusted p₍ᵢ₎ is maxⱼ≤ᵢ min(1, (m − j + 1)·p₍ⱼ₎). Rejecting the
// hypotheses whose adjusted p is below α controls the family-wise error
// rate at α under any dependence (Holm 1979). The adjusted p's are never
// below the raw ones, keep their order, and are at most 1. NaN entries
// (tests that could not be run) are not part of the family (they do not
// count in m) and stay NaN.
func Holm(ps []float64) []float64 {
	adj := make([]float64, len(ps))
	var idx []int
	for i, p := range ps {
		adj[i] = math.NaN()
		if !math.IsNaN(p) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(i, j int) bool { return ps[idx[i]] < ps[idx[j]] })
	m, run := len(idx), 0.0
	for k, i := range idx {
		run = math.Max(run, math.Min(1, float64(m-k)*ps[i]))
		adj[i] = run
	}
	return adj
}

// AdjustHolm adjusts a family of comparisons: PHolm is Holm over the
// family's P's, and PTOSTHolm, separately, Holm over their PTOST's; each
// Verdict is then decided again on the adjusted p's. Nil entries are
// skipped. The family should be the set of comparisons whose verdicts are
// reported together (e.g. every row against the base row on one metric).
func AdjustHolm(cs []*Comparison) {
	var ps, ts []float64
	var live []*Comparison
	for _, c := range cs {
		if c != nil {
			live = append(live, c)
			ps, ts = append(ps, c.P), append(ts, c.PTOST)
		}
	}
	ps, ts = Holm(ps), Holm(ts)
	for i, c := range live {
		c.PHolm, c.PTOSTHolm = ps[i], ts[i]
		c.Verdict = c.verdict()
	}
}

// EquivalenceMargin returns the equivalence margin Δ for metric, in the
// metric's units: accuracyPoints for "accuracy" (the metric is in percent,
// so 0.5 means ±0.5 accuracy points), perplexityFraction·|baseMean| for
// "perplexity" (baseMean is the base row's mean perplexity; 0.01 means ±1%
// of it), NaN for any other metric (Compare then runs no TOST). The
// defaults are DefaultAccuracyMargin and DefaultPerplexityMargin.
func EquivalenceMargin(metric string, baseMean, accuracyPoints, perplexityFraction float64) float64 {
	switch metric {
	case "accuracy":
		return accuracyPoints
	case "perplexity":
		return perplexityFraction * math.Abs(baseMean)
	}
	return math.NaN()
}

// DefaultEquivalenceMargin is EquivalenceMargin with the default margins.
func DefaultEquivalenceMargin(metric string, baseMean float64) float64 {
	return EquivalenceMargin(metric, baseMean, DefaultAccuracyMargin, DefaultPerplexityMargin)
}
