package autograd

import (
	"math"
	"testing"
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
