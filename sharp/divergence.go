package sharp

import (
	"fmt"
	"math"

	"github.com/tramlab/tram/autograd"
)

// A Divergence measures how far the current predictions are from the
// target's, from two row-major logit matrices with the given number of
// classes (rows are examples, or predicted positions of a language model).
// It averages over rows and accumulates in float64.
type Divergence interface {
	Name() string
	Measure(target, current []float32, classes int) float64
}

// Divergence choices.
var (
	// KLForward is KL(p_target ‖ p_current), the paper's default.
	KLForward Divergence = klDiv{"kl", false, false}
	// KLReverse is KL(p_current ‖ p_target).
	KLReverse Divergence = klDiv{"kl-reverse", true, false}
	// KLSymmetric is the sum of both directions.
	KLSymmetric Divergence = klDiv{"kl-symmetric", false, true}
	// L2 is the Euclidean distance between logit rows, averaged over rows.
	L2 Divergence = l2Div{}
	// MMD is the squared maximum mean discrepancy (biased estimate, clipped
	// at 0) between the two sets of probability rows with the
	// inverse-multiquadric kernel k(a, b) = Σ_c c/(c + ‖a−b‖²) over the
	// bandwidths c ∈ {0.1, 0.2, 0.5, 1, 2, 5, 10} (docs/METHOD.md §6.3). Its
	// cost is rows²·classes: above MMDBudget it uses an evenly spaced subset
	// of the rows (see MMDRows).
	MMD Divergence = mmdDiv{}
)

// DivergenceByName returns the divergence with the given name.
func DivergenceByName(name string) (Divergence, error) {
	for _, d := range []Divergence{KLForward, KLReverse, KLSymmetric, L2, MMD} {
		if d.Name() == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("unknown divergence %q; valid: kl, kl-reverse, kl-symmetric, l2, mmd", name)
}

type klDiv struct {
	name               string
	reverse, symmetric bool
}

func (k klDiv) Name() string { return k.name }

// Measure is autograd.MeanKL (or MeanSymmetricKL) of the rows, in the
// direction chosen: exact to a relative 1e-7 however close the
// distributions are (docs/METHOD.md §6.1), the same computation as the
// regularizers' Graph.KL. Rows run in
// parallel and are summed in row order, so the result does not depend on
// the thread count.
func (k klDiv) Measure(target, current []float32, classes int) float64 {
	checkLogits(target, current, classes)
	switch {
	case k.symmetric:
		return autograd.MeanSymmetricKL(target, current, classes)
	case k.reverse:
		return autograd.MeanKL(current, target, classes)
	}
	return autograd.MeanKL(target, current, classes)
}

type l2Div struct{}

func (l2Div) Name() string { return "l2" }

func (l2Div) Measure(target, current []float32, classes int) float64 {
	checkLogits(target, current, classes)
	rows := len(target) / classes
	var total float64
	for r := 0; r < rows; r++ {
		var s float64
		for i := r * classes; i < (r+1)*classes; i++ {
			d := float64(target[i]) - float64(current[i])
			s += d * d
		}
		total += math.Sqrt(s)
	}
	return total / float64(max(rows, 1))
}

type mmdDiv struct{}

func (mmdDiv) Name() string { return "mmd" }

var mmdBandwidths = []float64{0.1, 0.2, 0.5, 1, 2, 5, 10}

// MMDBudget bounds the work of the MMD divergence: rows²·classes kernel
// terms (each a few floating-point operations per bandwidth). Larger
// inputs are subsampled to MMDRows rows, which also bounds the memory of
// the float64 probabilities to 2·MMDRows·classes values.
const MMDBudget = 1 << 26

// mmdBudget is MMDBudget, lowered by tests.
var mmdBudget = MMDBudget

// MMDRows returns the number of rows the MMD divergence uses for inputs of
// rows × classes: all of them when rows²·classes ≤ MMDBudget, otherwise the
// largest n with n²·classes ≤ MMDBudget (at least 1). The rows used are
// r_j = ⌊j·rows/n⌋, j = 0…n−1, the same for target and current: a
// deterministic, evenly spaced subset that keeps every position of a
// language-model batch equally likely to be represented.
func MMDRows(rows, classes int) int {
	if float64(rows)*float64(rows)*float64(classes) <= float64(mmdBudget) {
		return rows
	}
	return max(1, int(math.Sqrt(float64(mmdBudget)/float64(classes))))
}

func (mmdDiv) Measure(target, current []float32, classes int) float64 {
	checkLogits(target, current, classes)
	rows := len(target) / classes
	n := MMDRows(rows, classes)
	p, q := softmaxRows(target, classes, rows, n), softmaxRows(current, classes, rows, n)
	kern := func(a, b []float64) float64 {
		var d2 float64
		for i := range a {
			d := a[i] - b[i]
			d2 += d * d
		}
		var k float64
		for _, c := range mmdBandwidths {
			k += c / (c + d2)
		}
		return k
	}
	var kpp, kqq, kpq float64
	for i := 0; i < n; i++ {
		pi, qi := p[i*classes:(i+1)*classes], q[i*classes:(i+1)*classes]
		for j := 0; j < n; j++ {
			pj, qj := p[j*classes:(j+1)*classes], q[j*classes:(j+1)*classes]
			kpp += kern(pi, pj)
			kqq += kern(qi, qj)
			kpq += kern(pi, qj)
		}
	}
	n2 := float64(n * n)
	return math.Max(0, (kpp+kqq-2*kpq)/n2)
}

// softmaxRows returns, in float64, the softmax of n of the rows of x:
// rows ⌊j·rows/n⌋, j = 0…n−1 (all of them when n = rows).
func softmaxRows(x []float32, classes, rows, n int) []float64 {
	out := make([]float64, n*classes)
	for j := 0; j < n; j++ {
		r := j * rows / n
		row := x[r*classes : (r+1)*classes]
		l := autograd.LogSumExp(row)
		for i, v := range row {
			out[j*classes+i] = math.Exp(float64(v) - l)
		}
	}
	return out
}

func checkLogits(a, b []float32, classes int) {
	if len(a) != len(b) || classes <= 0 || len(a)%classes != 0 {
		panic(fmt.Sprintf("sharp: divergence of logits with %d and %d values, %d classes", len(a), len(b), classes))
	}
}
