package sharp

import (
	"fmt"
	"math"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/internal/parallel"
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
	// MMD is the maximum mean discrepancy between the two sets of
	// probability rows with an inverse-multiquadric kernel
	// k(a, b) = Σ_c c/(c + ‖a−b‖²) over bandwidths c ∈ {0.1, 0.2, 0.5, 1, 2, 5, 10}.
	// Its cost is quadratic in the number of rows.
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

// Measure computes, per row, the log-normalizers lt, lc of both rows and
//
//	KL(t‖c) = Σ e^{t_i−mt}(t_i − c_i)/St − lt + lc
//
// (and the mirror image for the reverse), so each logit costs one
// exponential. Rows run in parallel; the per-row results are summed in row
// order, so the result does not depend on the thread count.
func (k klDiv) Measure(target, current []float32, classes int) float64 {
	checkLogits(target, current, classes)
	rows := len(target) / classes
	per := make([]float64, rows)
	parallel.For(rows, max(1, 4096/classes), func(lo, hi int) {
		et, ec := make([]float32, classes), make([]float32, classes)
		for r := lo; r < hi; r++ {
			t, c := target[r*classes:(r+1)*classes], current[r*classes:(r+1)*classes]
			mt, mc := t[0], c[0]
			for i := range t {
				mt, mc = max(mt, t[i]), max(mc, c[i])
			}
			for i := range t {
				et[i], ec[i] = t[i]-mt, c[i]-mc
			}
			autograd.ExpSlice(et, et) // single-precision exponentials,
			autograd.ExpSlice(ec, ec) // float64 accumulation
			var st, sc, ft, fc float64
			for i := range t {
				d := float64(t[i]) - float64(c[i])
				st += float64(et[i])
				sc += float64(ec[i])
				ft += float64(et[i]) * d
				fc -= float64(ec[i]) * d
			}
			lt, lc := float64(mt)+math.Log(st), float64(mc)+math.Log(sc)
			fwd, rev := ft/st-lt+lc, fc/sc-lc+lt
			switch {
			case k.symmetric:
				per[r] = fwd + rev
			case k.reverse:
				per[r] = rev
			default:
				per[r] = fwd
			}
		}
	})
	var total float64
	for _, v := range per {
		total += v
	}
	return total / float64(max(rows, 1))
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

func (mmdDiv) Measure(target, current []float32, classes int) float64 {
	checkLogits(target, current, classes)
	rows := len(target) / classes
	p, q := softmaxRows(target, classes), softmaxRows(current, classes)
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
	for i := 0; i < rows; i++ {
		pi, qi := p[i*classes:(i+1)*classes], q[i*classes:(i+1)*classes]
		for j := 0; j < rows; j++ {
			pj, qj := p[j*classes:(j+1)*classes], q[j*classes:(j+1)*classes]
			kpp += kern(pi, pj)
			kqq += kern(qi, qj)
			kpq += kern(pi, qj)
		}
	}
	n2 := float64(rows * rows)
	return math.Max(0, (kpp+kqq-2*kpq)/n2)
}

func softmaxRows(x []float32, classes int) []float64 {
	out := make([]float64, len(x))
	for r := 0; r < len(x)/classes; r++ {
		row := x[r*classes : (r+1)*classes]
		l := autograd.LogSumExp(row)
		for i, v := range row {
			out[r*classes+i] = math.Exp(float64(v) - l)
		}
	}
	return out
}

func checkLogits(a, b []float32, classes int) {
	if len(a) != len(b) || classes <= 0 || len(a)%classes != 0 {
		panic(fmt.Sprintf("sharp: divergence of logits with %d and %d values, %d classes", len(a), len(b), classes))
	}
}
