package autograd

import (
	"fmt"
	"math"
	"math/big"
	"testing"

	"github.com/tramlab/tram/internal/parallel"
	"github.com/tramlab/tram/tensor"
)

// ---- a reference to ~60 significant digits (math/big) ----

const refPrec = 200

// bigExp returns e^x: the Taylor series of x/2^k, squared k times.
func bigExp(x float64) *big.Float {
	k := 0
	for math.Abs(x) > 1.0/256 {
		x /= 2 // exact
		k++
	}
	r := new(big.Float).SetPrec(refPrec).SetFloat64(x)
	sum := new(big.Float).SetPrec(refPrec).SetInt64(1)
	term := new(big.Float).SetPrec(refPrec).SetInt64(1)
	tiny := new(big.Float).SetMantExp(big.NewFloat(1), -refPrec-8)
	for n := int64(1); ; n++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetInt64(n))
		sum.Add(sum, term)
		if new(big.Float).Abs(term).Cmp(tiny) < 0 {
			break
		}
	}
	for ; k > 0; k-- {
		sum.Mul(sum, sum)
	}
	return sum
}

// bigLog returns log x by Halley's iteration on e^y = x from float64's log.
func bigLog(x *big.Float) *big.Float {
	f, _ := x.Float64()
	y := new(big.Float).SetPrec(refPrec).SetFloat64(math.Log(f))
	for range 4 {
		e := bigExpBig(y)
		num := new(big.Float).SetPrec(refPrec).Sub(x, e)
		num.Quo(num, new(big.Float).SetPrec(refPrec).Add(x, e))
		y.Add(y, num.Mul(num, big.NewFloat(2)))
	}
	return y
}

// bigExpBig is e^y for a big y = hi + rest, hi its float64 rounding:
// e^hi·(1 + rest + rest²/2), exact to |rest|³ ≈ 1e-48.
func bigExpBig(y *big.Float) *big.Float {
	hi, _ := y.Float64()
	rest := new(big.Float).SetPrec(refPrec).Sub(y, new(big.Float).SetFloat64(hi))
	r2 := new(big.Float).SetPrec(refPrec).Mul(rest, rest)
	er := new(big.Float).SetPrec(refPrec).SetInt64(1)
	er.Add(er, rest)
	er.Add(er, r2.Quo(r2, big.NewFloat(2)))
	return er.Mul(er, bigExp(hi))
}

// refKLRow returns KL(softmax(a) ‖ softmax(b)) and its gradients with
// respect to a and b, from the definition, in 200-bit arithmetic.
func refKLRow(a, b []float64) (kl float64, da, db []float64) {
	n := len(a)
	ea, eb := make([]*big.Float, n), make([]*big.Float, n)
	sa, sb := new(big.Float).SetPrec(refPrec), new(big.Float).SetPrec(refPrec)
	for i := range a {
		ea[i], eb[i] = bigExp(a[i]), bigExp(b[i])
		sa.Add(sa, ea[i])
		sb.Add(sb, eb[i])
	}
	lr := bigLog(new(big.Float).SetPrec(refPrec).Quo(sb, sa)) // log Sb/Sa
	// KL = Σ P_i (a_i − b_i) + log(Sb/Sa)
	p := make([]*big.Float, n)
	k := new(big.Float).SetPrec(refPrec)
	for i := range a {
		p[i] = new(big.Float).SetPrec(refPrec).Quo(ea[i], sa)
		d := new(big.Float).SetPrec(refPrec).SetFloat64(a[i])
		d.Sub(d, new(big.Float).SetFloat64(b[i]))
		k.Add(k, d.Mul(d, p[i]))
	}
	k.Add(k, lr)
	da, db = make([]float64, n), make([]float64, n)
	for i := range a {
		// ∂/∂a_i = P_i (log P_i − log Q_i − KL) = P_i (a_i − b_i + log(Sb/Sa) − KL)
		d := new(big.Float).SetPrec(refPrec).SetFloat64(a[i])
		d.Sub(d, new(big.Float).SetFloat64(b[i]))
		d.Add(d, lr)
		d.Sub(d, k)
		da[i], _ = d.Mul(d, p[i]).Float64()
		// ∂/∂b_i = Q_i − P_i
		q := new(big.Float).SetPrec(refPrec).Quo(eb[i], sb)
		db[i], _ = q.Sub(q, p[i]).Float64()
	}
	kl, _ = k.Float64()
	return kl, da, db
}

// klCase is a pair of logit matrices whose rows differ by noise of scale
// diff (plus an optional uniform shift of the second, which softmax ignores).
func klCase(seed uint64, rows, classes int, diff, shift float64) (p, q []float64) {
	rng := tensor.NewRNG(seed)
	p, q = make([]float64, rows*classes), make([]float64, rows*classes)
	for i := range p {
		p[i] = float64(float32(rng.NormFloat64() * 3))
		q[i] = float64(float32(p[i] + shift + rng.NormFloat64()*diff))
	}
	return p, q
}

func to32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Abs(want) }

// TestKLExact: MeanKL, MeanSymmetricKL and Graph.KL (value and gradients),
// in float32 and float64, against the 200-bit reference on the same logits, from distributions that nearly
// coincide (logit differences 1e-5) to far apart ones (differences 10, where
// some x = m − D exceed farX).
func TestKLExact(t *testing.T) {
	const rows, classes = 3, 357
	for _, c := range []struct {
		diff, shift float64
	}{{1e-2, 0}, {1e-3, 0}, {1e-4, 0}, {1e-5, 0}, {1e-5, 7.5}, {1e-4, -20}, {1, 0}, {10, 0}, {40, 3}} {
		t.Run(fmt.Sprintf("diff=%g,shift=%g", c.diff, c.shift), func(t *testing.T) {
			p, q := klCase(uint64(1+c.diff*1e6), rows, classes, c.diff, c.shift)
			var want, wantSym float64
			wantDP, wantDQ := make([]float64, 0, len(p)), make([]float64, 0, len(q))
			for r := 0; r < rows; r++ {
				k, dp, dq := refKLRow(p[r*classes:(r+1)*classes], q[r*classes:(r+1)*classes])
				rev, _, _ := refKLRow(q[r*classes:(r+1)*classes], p[r*classes:(r+1)*classes])
				want += k / rows
				wantSym += (k + rev) / rows
				for i := range dp { // the gradients of the mean over rows
					wantDP = append(wantDP, dp[i]/rows)
					wantDQ = append(wantDQ, dq[i]/rows)
				}
			}
			// Relative tolerance on the value; on the gradients relative to
			// their largest element.
			for _, tc := range []struct {
				name     string
				tol      float64
				mean     func() (float64, float64)
				graph    func() (float64, []float64, []float64)
				gradsTol float64
			}{
				{"float32", 1e-7, func() (float64, float64) {
					return MeanKL(to32(p), to32(q), classes), MeanSymmetricKL(to32(p), to32(q), classes)
				}, func() (float64, []float64, []float64) { return graphKL(to32(p), to32(q), rows, classes) }, 1e-6},
				{"float64", 1e-13, func() (float64, float64) { return MeanKL(p, q, classes), MeanSymmetricKL(p, q, classes) },
					func() (float64, []float64, []float64) { return graphKL(p, q, rows, classes) }, 1e-11},
			} {
				got, sym := tc.mean()
				if !(relErr(got, want) <= tc.tol) {
					t.Errorf("%s MeanKL = %.17g, reference %.17g (relative error %.3g > %g)", tc.name, got, want, relErr(got, want), tc.tol)
				}
				if !(relErr(sym, wantSym) <= tc.tol) {
					t.Errorf("%s MeanSymmetricKL = %.17g, reference %.17g (relative error %.3g > %g)", tc.name, sym, wantSym, relErr(sym, wantSym), tc.tol)
				}
				got, dp, dq := tc.graph()
				if !(relErr(got, want) <= tc.tol) {
					t.Errorf("%s Graph.KL = %.17g, reference %.17g (relative error %.3g > %g)", tc.name, got, want, relErr(got, want), tc.tol)
				}
				for _, gr := range []struct {
					side      string
					got, want []float64
				}{{"p", dp, wantDP}, {"q", dq, wantDQ}} {
					var scale, worst float64
					for _, v := range gr.want {
						scale = math.Max(scale, math.Abs(v))
					}
					for i := range gr.want {
						worst = math.Max(worst, math.Abs(gr.got[i]-gr.want[i])/scale)
					}
					if !(worst <= tc.gradsTol) {
						t.Errorf("%s ∂KL/∂%s: error %.3g of the largest element (> %g)", tc.name, gr.side, worst, tc.gradsTol)
					}
				}
			}
		})
	}
}

// graphKL returns Graph.KL of p and q and the gradients of both sides.
func graphKL[T Float](p, q []T, rows, classes int) (float64, []float64, []float64) {
	g := NewGraph[T]()
	tp := tensor.FromSlice(append([]T(nil), p...), rows, classes).SetRequiresGrad(true)
	tq := tensor.FromSlice(append([]T(nil), q...), rows, classes).SetRequiresGrad(true)
	kl := g.KL(tp, tq)
	g.Backward(kl)
	f64 := func(x []T) []float64 {
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = float64(v)
		}
		return out
	}
	return float64(kl.Item()), f64(tp.Grad), f64(tq.Grad)
}

// TestKLNearAndFarGradCheck: finite differences agree with the gradients of
// both sides, near coincidence and far from it (TestKLExact checks them
// against the reference where finite differences lose their precision).
func TestKLNearAndFarGradCheck(t *testing.T) {
	for _, diff := range []float64{1e-3, 3} {
		p, q := klCase(5, 2, 7, diff, 0)
		in := []*t64{tensor.FromSlice(p, 2, 7), tensor.FromSlice(q, 2, 7)}
		err := GradCheck(func(g *Graph[float64]) *t64 { return g.KL(in[0], in[1]) }, in, 1e-6, 1e-10, 1e-5)
		if err != nil {
			t.Errorf("diff %g: %v", diff, err)
		}
	}
}

// TestKLOneSidedAndThreads: holding one side fixed leaves its gradient
// alone, the result does not depend on the thread count, and identical rows
// give exactly 0.
func TestKLOneSidedAndThreads(t *testing.T) {
	p, q := klCase(3, 40, 33, 1e-2, 0)
	g := NewGraph[float32]()
	tp := tensor.FromSlice(to32(p), 40, 33)
	tq := tensor.FromSlice(to32(q), 40, 33).SetRequiresGrad(true)
	g.Backward(g.KL(tp, tq))
	if tp.Grad != nil {
		t.Fatal("the fixed side received a gradient")
	}
	prev := parallel.SetThreads(1)
	one := MeanKL(to32(p), to32(q), 33)
	parallel.SetThreads(4)
	four := MeanKL(to32(p), to32(q), 33)
	parallel.SetThreads(prev)
	if math.Float64bits(one) != math.Float64bits(four) {
		t.Fatalf("MeanKL with 1 thread %v, with 4 threads %v", one, four)
	}
	for _, same := range []float64{MeanKL(p, p, 33), MeanSymmetricKL(p, p, 33), MeanKL(to32(q), to32(q), 33)} {
		if same != 0 {
			t.Fatalf("KL of identical rows = %g", same)
		}
	}
}

// BenchmarkKL times the graph's KL (forward and backward through the
// current side) on 512 rows of 4096 classes, for a current model near the
// target (logit differences of 1e-3, as in training) and far from it.
func BenchmarkKL(b *testing.B) {
	const rows, classes = 512, 4096
	for _, diff := range []float64{1e-3, 3} {
		b.Run(fmt.Sprintf("diff=%g", diff), func(b *testing.B) {
			p64, q64 := klCase(1, rows, classes, diff, 0)
			p := tensor.FromSlice(to32(p64), rows, classes)
			q := tensor.FromSlice(to32(q64), rows, classes).SetRequiresGrad(true)
			g := NewGraph[float32]()
			b.SetBytes(int64(8 * rows * classes))
			for b.Loop() {
				g.Reset()
				q.ZeroGrad()
				g.Backward(g.KL(p, q))
			}
		})
	}
}
