package nn

import (
	"fmt"
	"math"
	"testing"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/internal/testutil"
	"github.com/tramlab/tram/tensor"
)

func TestSpectralNormConverges(t *testing.T) {
	var ps, bufs Params
	s := NewSpectralNorm(&ps, &bufs, "head", 1, 3, 4)
	// A matrix with known singular values 5, 2, 1 (orthogonal rows scaled).
	copy(s.Orig.Data, []float32{5, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0})
	g := autograd.NewGraph[float32]()
	var w *Tensor
	for range 30 {
		g.Reset()
		w = s.Weight(&Pass{G: g, Train: true})
	}
	if math.Abs(s.Sigma()-5) > 1e-4 {
		t.Fatalf("σ = %v, want 5", s.Sigma())
	}
	if math.Abs(float64(w.Data[0])-1) > 1e-4 || math.Abs(float64(w.Data[5])-0.4) > 1e-4 {
		t.Fatalf("W/σ = %v", w.Data)
	}
	// Evaluation and frozen passes do not iterate.
	u := append([]float32(nil), s.U.Data...)
	g.Reset()
	s.Weight(&Pass{G: g, Train: true, FrozenStats: true})
	s.Weight(&Pass{G: g})
	for i := range u {
		if s.U.Data[i] != u[i] {
			t.Fatal("u changed in a frozen or evaluation pass")
		}
	}
}

func TestSpectralLinearGradient(t *testing.T) {
	// d/dW of Σ(x·(W/σ)) against central differences (σ from fixed u, v).
	var ps, bufs Params
	l := NewSpectralLinear(&ps, &bufs, "fc", 3, 2, false, OutIn, 2)
	tensor.FillNormal(tensor.NewRNG(4), l.W.Data, 1)
	x := tensor.FromSlice([]float32{0.5, -1, 2}, 1, 3)
	loss := func(record bool) float64 {
		g := autograd.NewGraph[float32]()
		p := &Pass{G: g}
		y := g.Sum(g.Mul(l.Forward(p, x), tensor.FromSlice([]float32{1, -2}, 1, 2)))
		if record {
			g.Backward(y)
		}
		return float64(y.Item())
	}
	ps.ZeroGrad()
	loss(true)
	for i := range l.W.Data {
		orig := l.W.Data[i]
		l.W.Data[i] = orig + 1e-2
		fp := loss(false)
		l.W.Data[i] = orig - 1e-2
		fm := loss(false)
		l.W.Data[i] = orig
		num := (fp - fm) / 2e-2
		if math.Abs(num-float64(l.W.Grad[i])) > 2e-3*(1+math.Abs(num)) {
			t.Fatalf("gradient %d: analytic %v, numeric %v", i, l.W.Grad[i], num)
		}
	}
}

// TestSpectralNormMatchesPyTorch replays testdata/gen_spectral.py: four
// training forwards of torch.nn.utils.spectral_norm(nn.Linear(6, 4)) (one
// power iteration each), then the gradient of the last and an evaluation
// forward. The iteration vectors, σ, W/σ and the outputs must agree to
// 1e-5 relative, the gradients to 1e-4.
func TestSpectralNormMatchesPyTorch(t *testing.T) {
	exp := testutil.ReadAll(t, "testdata/spectral_expected.safetensors")
	var ps, bufs Params
	l := NewSpectralLinear(&ps, &bufs, "fc", 6, 4, true, OutIn, 1)
	s := l.Spectral
	copy(s.Orig.Data, exp["init.weight_orig"])
	copy(s.U.Data, exp["init.weight_u"])
	copy(s.V.Data, exp["init.weight_v"])
	copy(l.B.Data, exp["bias"])
	x := tensor.FromSlice(exp["x"], 5, 6)
	r := tensor.FromSlice(exp["r"], 5, 4)
	check := func(what string, got, want []float32, tol float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, PyTorch %d", what, len(got), len(want))
		}
		if e := testutil.RelErr(got, want); e > tol {
			t.Errorf("%s: relative error %.3g > %g", what, e, tol)
		}
	}
	g := autograd.NewGraph[float32]()
	var y *Tensor
	for k := 1; k <= 4; k++ {
		g.Reset()
		ps.ZeroGrad()
		y = l.Forward(&Pass{G: g, Train: true}, x)
		step := fmt.Sprintf("step%d.", k)
		check(step+"weight_u", s.U.Data, exp[step+"weight_u"], 1e-5)
		check(step+"weight_v", s.V.Data, exp[step+"weight_v"], 1e-5)
		check(step+"sigma", []float32{float32(s.Sigma())}, exp[step+"sigma"], 1e-5)
		check(step+"y", y.Data, exp[step+"y"], 1e-5)
		var w *Tensor
		g.NoGrad(func() { w = s.Weight(&Pass{G: g, Train: true, FrozenStats: true}) })
		check(step+"weight", w.Data, exp[step+"weight"], 1e-5)
	}
	g.Backward(g.Sum(g.Mul(y, r)))
	check("grad.weight_orig", s.Orig.Grad, exp["grad.weight_orig"], 1e-4)
	check("grad.bias", l.B.Grad, exp["grad.bias"], 1e-4)
	g.Reset()
	u := append([]float32(nil), s.U.Data...)
	check("eval y", l.Forward(&Pass{G: g}, x).Data, exp["eval.y"], 1e-5)
	check("eval weight_u", s.U.Data, exp["eval.weight_u"], 1e-5)
	for i, v := range u {
		if s.U.Data[i] != v {
			t.Fatal("an evaluation forward changed u")
		}
	}
}
