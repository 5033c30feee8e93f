package autograd

import (
	"math"
	"testing"

	"github.com/tramlab/tram/tensor"
)

func TestFastMathAccuracy(t *testing.T) {
	worstExp, worstTanh := 0.0, 0.0
	for i := -200000; i <= 200000; i++ {
		x := float32(i) * 4.4e-4 // [-88, 88]
		want := math.Exp(float64(x))
		if got := float64(exp32(x)); want > 1e-37 {
			worstExp = math.Max(worstExp, math.Abs(got-want)/want)
		}
		y := float32(i) * 5e-5 // [-10, 10]
		wt := math.Tanh(float64(y))
		if wt != 0 {
			worstTanh = math.Max(worstTanh, math.Abs(float64(tanh32(y))-wt)/math.Abs(wt))
		}
	}
	if worstExp > 5e-7 || worstTanh > 5e-7 {
		t.Fatalf("relative error: exp32 %.3g, tanh32 %.3g (want ≤ 5e-7)", worstExp, worstTanh)
	}
	if !math.IsInf(float64(exp32(100)), 1) || exp32(-200) != 0 || exp32(-100) == 0 {
		t.Fatal("exp32 range handling broken")
	}
}

func TestExpSlice(t *testing.T) {
	src := make([]float32, 0, 20000)
	for i := -9000; i < 9000; i++ {
		src = append(src, float32(i)*0.00975) // [-87.75, 87.75]
	}
	src = append(src, 0, 1, -1, float32(math.NaN()), 1e-30, -1e-30, 3)
	dst := make([]float32, len(src))
	expSlice(dst, src)
	for i, x := range src {
		want := math.Exp(float64(x))
		got := float64(dst[i])
		switch {
		case math.IsNaN(float64(x)):
			if !math.IsNaN(got) {
				t.Fatalf("exp(NaN) = %v", got)
			}
		case x < -87:
			if got > 2e-38 || got < 0 {
				t.Fatalf("exp(%v) = %v, want ≈ 0", x, got)
			}
		default:
			if math.Abs(got-want) > 3e-7*want {
				t.Fatalf("exp(%v) = %v, want %v (rel %.3g)", x, got, want, math.Abs(got-want)/want)
			}
		}
	}
	// In place, and odd lengths use the scalar tail.
	odd := []float32{0.5, -2, 3, 1, 0, -1, 2, 0.25, 7, -3, 1.5}
	want := make([]float32, len(odd))
	for i, v := range odd {
		want[i] = exp32(v)
	}
	expSlice(odd, odd)
	for i := range odd {
		if math.Abs(float64(odd[i]-want[i])) > 3e-7*float64(want[i]) {
			t.Fatalf("in place %d: %v vs %v", i, odd[i], want[i])
		}
	}
}

func TestErf32(t *testing.T) {
	var worst float64
	for i := -700000; i <= 700000; i++ {
		x := float32(i) * 1e-5 // [-7, 7]
		worst = math.Max(worst, math.Abs(float64(erf32(x))-math.Erf(float64(x))))
	}
	if worst > 5e-7 {
		t.Fatalf("erf32: absolute error %.3g (want ≤ 5e-7)", worst)
	}
	if erf32(100) != 1 || erf32(-100) != -1 || erf32(0) != 0 {
		t.Fatal("erf32 at 0 or far out")
	}
}

// TestGELUErfFloat32: the float32 GELU (vectorized body and scalar tail)
// against x·Φ(x) in float64, and Φ kept for the backward pass.
func TestGELUErfFloat32(t *testing.T) {
	n := 160003 // not a multiple of 8: the tail runs the scalar path
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i-n/2) * 1e-4 // [-8, 8]
	}
	x[7] = float32(math.NaN())
	g := NewGraph[float32]()
	in := tensor.FromSlice(x, n).SetRequiresGrad(true)
	y := g.GELUErf(in)
	cdf := g.nodes[len(g.nodes)-1].aux[0]
	var worstY, worstC float64
	for i, v := range x {
		if i == 7 {
			if !math.IsNaN(float64(y.Data[i])) {
				t.Fatalf("GELU(NaN) = %v", y.Data[i])
			}
			continue
		}
		c := 0.5 * (1 + math.Erf(float64(v)/math.Sqrt2))
		worstC = math.Max(worstC, math.Abs(float64(cdf[i])-c))
		worstY = math.Max(worstY, math.Abs(float64(y.Data[i])-float64(v)*c)/math.Max(1, math.Abs(float64(v))))
	}
	if worstC > 3e-7 || worstY > 3e-7 {
		t.Fatalf("Φ absolute error %.3g, GELU error %.3g relative to max(1, |x|) (want ≤ 3e-7)", worstC, worstY)
	}
}
