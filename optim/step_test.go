package optim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tramlab/tram/tensor"
)

// The vector kernels must give the same bits as the scalar loops
// (adamwRange, sgdRange) for every input; where the scalar loop gives NaN
// the kernels must give a NaN (of any payload).

// stepLens are the vector lengths tested: every tail length around a few
// multiples of 8, and longer vectors.
var stepLens = func() []int {
	var ls []int
	for n := 0; n <= 70; n++ {
		ls = append(ls, n)
	}
	return append(ls, 1000, 1031, 4103)
}()

// specials are values placed at a few positions of the inputs.
var specials = []float32{
	0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
	1e-40, -3e-39, 1.1754942e-38, 1e-30, 3e38, -3e38, math.MaxFloat32, -math.MaxFloat32,
	float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1, -1,
}

// fill sets x to random values of magnitude about scale (random signs
// unless pos), with a few specials (non-negative ones when pos) at random
// positions.
func fill(r *rand.Rand, x []float32, scale float64, pos bool) {
	for i := range x {
		v := scale * r.NormFloat64()
		if pos {
			v = math.Abs(v)
		}
		x[i] = float32(v)
	}
	for k := 0; k < len(x)/16+1 && len(x) > 0; k++ {
		s := specials[r.IntN(len(specials))]
		if pos && (s < 0 || math.Signbit(float64(s))) {
			s = -s
		}
		x[r.IntN(len(x))] = s
	}
}

// sameBits reports the first index where got differs from want (bits, or
// NaN for NaN), or -1.
func sameBits(got, want []float32) int {
	for i := range want {
		if math.IsNaN(float64(want[i])) {
			if !math.IsNaN(float64(got[i])) {
				return i
			}
		} else if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			return i
		}
	}
	return -1
}

// chunkSplits returns the chunk boundaries tested for a vector of n: one
// chunk, and chunks starting at odd offsets (as parallel.For's chunks can).
func chunkSplits(n int) [][]int {
	s := [][]int{{0, n}}
	if n >= 32 {
		s = append(s, []int{0, 3, 20, n}, []int{0, n/2 - 1, n/2 + 12, n})
	}
	return s
}

func checkSame(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if i := sameBits(got, want); i >= 0 {
		t.Fatalf("%s[%d]: vector %g (%#08x), scalar %g (%#08x)", what, i,
			got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
	}
}

func TestAdamWVectorMatchesScalar(t *testing.T) {
	if !haveAVX2 {
		t.Log("no AVX2: only the scalar loop runs")
	}
	type hyper struct{ lr, wd, beta1, beta2, eps float64 }
	hypers := []hyper{
		{1e-3, 0, 0.9, 0.999, 1e-8},
		{1e-3, 0.01, 0.9, 0.999, 1e-8},
		{0.5, 0.01, 0.5, 0.9, 1e-6},
		{2e-5, 0.01, 0.9, 0.98, 0}, // eps 0: 0/0 and x/0 lanes
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range stepLens {
		for _, h := range hypers {
			for _, split := range chunkSplits(n) {
				for _, scale := range []float64{1e-8, 1e-4, 1, 1e3} {
					const off = 5 // an unaligned start in a larger buffer
					th0, m0, v0 := make([]float32, n+off), make([]float32, n+off), make([]float32, n+off)
					fill(r, th0, scale, false)
					fill(r, m0, scale, false)
					fill(r, v0, scale*scale, true)
					th1, m1, v1 := append([]float32(nil), th0...), append([]float32(nil), m0...), append([]float32(nil), v0...)
					g := make([]float32, n+off)
					o := &AdamW{Rate: h.lr, WeightDecay: h.wd, Beta1: h.beta1, Beta2: h.beta2, Eps: h.eps}
					for step := 1; step <= 4; step++ {
						fill(r, g, scale, false)
						o.t = step
						c := o.coef()
						for k := 0; k+1 < len(split); k++ {
							lo, hi := off+split[k], off+split[k+1]
							adamwChunk(th0[lo:hi], g[lo:hi], m0[lo:hi], v0[lo:hi], c)
						}
						adamwRange(th1[off:], g[off:], m1[off:], v1[off:], c)
						what := fmt.Sprintf("n %d %+v split %v scale %g step %d", n, h, split, scale, step)
						checkSame(t, what+" m", m0, m1)
						checkSame(t, what+" v", v0, v1)
						checkSame(t, what+" θ", th0, th1)
					}
				}
			}
		}
	}
}

func TestSGDVectorMatchesScalar(t *testing.T) {
	if !haveAVX2 {
		t.Log("no AVX2: only the scalar loop runs")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range stepLens {
		for _, lr := range []float32{0.1, 1e-3} {
			for _, mu := range []float32{0, 0.9} {
				for _, wd := range []float32{0, 0.01} {
					for _, split := range chunkSplits(n) {
						for _, scale := range []float64{1e-8, 1e-4, 1, 1e3} {
							const off = 3
							th0 := make([]float32, n+off)
							fill(r, th0, scale, false)
							th1 := append([]float32(nil), th0...)
							b0, b1 := make([]float32, n+off), make([]float32, n+off)
							g := make([]float32, n+off)
							for step := 1; step <= 4; step++ {
								fill(r, g, scale, false)
								first := mu != 0 && step == 1
								if first { // the buffer's old contents must be ignored
									fill(r, b0, scale, false)
									copy(b1, b0)
								}
								for k := 0; k+1 < len(split); k++ {
									lo, hi := off+split[k], off+split[k+1]
									sgdChunk(th0[lo:hi], g[lo:hi], b0[lo:hi], lr, mu, wd, first)
								}
								sgdRange(th1[off:], g[off:], b1[off:], lr, mu, wd, first)
								what := fmt.Sprintf("n %d lr %g mu %g wd %g split %v scale %g step %d", n, lr, mu, wd, split, scale, step)
								checkSame(t, what+" b", b0, b1)
								checkSame(t, what+" θ", th0, th1)
							}
						}
					}
				}
			}
		}
	}
}

// TestAdamWSqrtLanes drives the kernel's square root over every subnormal
// v, ±0, +Inf, NaN, negative values and a sample of normal ones: with
// g = 0, b2 = 1, sq2 = 1 and eps = 0, v stays as it is, d = √v and
// θ = 0 − m/√v, compared bit for bit with the scalar loop.
func TestAdamWSqrtLanes(t *testing.T) {
	var vs []uint32 // the bit patterns of v, in batches
	for u := uint32(1 << 23); u < 0x7f800000; u += 4099 {
		vs = append(vs, u)
	}
	for _, x := range specials {
		vs = append(vs, math.Float32bits(x))
	}
	const batch = 1 << 14
	r := rand.New(rand.NewPCG(7, 8))
	g := make([]float32, batch)
	th0, m0, v0 := make([]float32, batch), make([]float32, batch), make([]float32, batch)
	th1, m1, v1 := make([]float32, batch), make([]float32, batch), make([]float32, batch)
	c := adamwCoef{decay: 1, b1: 0.5, c1: 0.5, b2: 1, c2: 1e-3, step: 1, sq2: 1, eps: 0}
	for lo := uint32(0); lo < 1<<23+uint32(len(vs)); lo += batch {
		n := 0
		for u := lo; u < lo+batch && u < 1<<23+uint32(len(vs)); u++ {
			if u < 1<<23 { // every subnormal and +0
				v0[n] = math.Float32frombits(u)
			} else {
				v0[n] = math.Float32frombits(vs[u-1<<23])
			}
			n++
		}
		fill(r, m0[:n], 1e-30, false)
		clear(th0)
		copy(th1, th0)
		copy(m1, m0)
		copy(v1, v0)
		adamwChunk(th0[:n], g[:n], m0[:n], v0[:n], c)
		adamwRange(th1[:n], g[:n], m1[:n], v1[:n], c)
		checkSame(t, "v", v0[:n], v1[:n])
		checkSame(t, "θ", th0[:n], th1[:n])
	}
}

// TestStepVectorMatchesScalar runs the optimizers' Step on a vector split
// into several parallel chunks against the scalar loop over all of it.
func TestStepVectorMatchesScalar(t *testing.T) {
	const n = 3<<15 + 13
	r := rand.New(rand.NewPCG(5, 6))
	mk := func() (*tensor.Params[float32], []float32) {
		p := &tensor.Params[float32]{Data: make([]float32, n), Grad: make([]float32, n)}
		fill(r, p.Data, 0.1, false)
		return p, append([]float32(nil), p.Data...)
	}
	pa, tha := mk()
	a := NewAdamW(1e-3, 0.01)
	m, v := make([]float32, n), make([]float32, n)
	ps, ths := mk()
	s := NewSGD(0.01, 0.9, 1e-4)
	b := make([]float32, n)
	for step := 1; step <= 3; step++ {
		fill(r, pa.Grad, 1, false)
		a.Step(pa)
		adamwRange(tha, pa.Grad, m, v, a.coef())
		checkSame(t, fmt.Sprintf("AdamW step %d θ", step), pa.Data, tha)
		checkSame(t, fmt.Sprintf("AdamW step %d m", step), a.m, m)
		checkSame(t, fmt.Sprintf("AdamW step %d v", step), a.v, v)

		fill(r, ps.Grad, 1, false)
		s.Step(ps)
		sgdRange(ths, ps.Grad, b, 0.01, 0.9, 1e-4, step == 1)
		checkSame(t, fmt.Sprintf("SGD step %d θ", step), ps.Data, ths)
		checkSame(t, fmt.Sprintf("SGD step %d buf", step), s.buf, b)
	}
}

// sqrt64 is math.Sqrt behind a call, so that the compiler cannot turn
// float32(sqrt64(float64(x))) into a float32 square root.
//
//go:noinline
func sqrt64(x float64) float64 { return math.Sqrt(x) }

// TestSqrtRounding checks the identity adamwRange relies on: the float64
// square root rounded to float32 equals the correctly rounded float32
// square root (SQRTSS, as VSQRTPS lane by lane), on every subnormal and
// special value and a sample of all other bit patterns. The AdamW tests
// above compare VSQRTPS with the scalar loop on such v, including 0,
// subnormals, +Inf and NaN.
func TestSqrtRounding(t *testing.T) {
	check := func(x float32) {
		want := float32(sqrt64(float64(x)))
		got := float32(math.Sqrt(float64(x))) // compiled as SQRTSS
		if math.IsNaN(float64(want)) != math.IsNaN(float64(got)) ||
			!math.IsNaN(float64(want)) && math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("sqrt(%g = %#08x): float32 %#08x, float64 rounded %#08x", x, math.Float32bits(x), math.Float32bits(got), math.Float32bits(want))
		}
	}
	for u := uint32(0); u < 1<<23; u++ { // every subnormal and ±0
		check(math.Float32frombits(u))
		check(math.Float32frombits(u | 1<<31))
	}
	for u := uint32(0); u < 1<<32-1<<20; u += 1021 {
		check(math.Float32frombits(u))
	}
	for _, x := range specials {
		check(x)
	}
	check(math.Float32frombits(0x7f800001)) // signalling NaN
	check(math.Float32frombits(0x7f7fffff))
}
