package nn

import (
	"math"
	"testing"

	"github.com/tramlab/tram/autograd"
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
