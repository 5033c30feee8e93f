// Package optim holds the base optimizers that update a parameter arena from
// its gradients, with the exact semantics of PyTorch's torch.optim.SGD and
// torch.optim.AdamW.
//
// Optimizers work on a tensor.Params arena as one flat vector, so a step is a
// single loop over all parameters.
package optim

import (
	"fmt"
	"math"

	"github.com/tramlab/tram/internal/parallel"
	"github.com/tramlab/tram/tensor"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update to p.Data using p.Grad.
	Step(p *tensor.Params[float32])
	// SetLR sets the learning rate for the following steps.
	SetLR(lr float64)
	// LR returns the current learning rate.
	LR() float64
}

// Stateful optimizers can save and restore their state, so a run resumes
// exactly where it stopped.
type Stateful interface {
	// State returns the number of steps taken and the state tensors (views:
	// copy them before the next step if they must outlive it).
	State() (steps int, tensors map[string][]float32)
	// Restore sets the state saved by State.
	Restore(steps int, tensors map[string][]float32) error
}

// SGD is stochastic gradient descent with optional momentum and coupled
// weight decay, as torch.optim.SGD with dampening 0 and nesterov off:
//
//	d = g + wd·θ;  b = μ·b + d (b = d at the first step);  θ ← θ − lr·b.
type SGD struct {
	Rate, Momentum, WeightDecay float64
	buf                         []float32
	steps                       int
}

// NewSGD returns SGD with the given learning rate and momentum.
func NewSGD(lr, momentum, weightDecay float64) *SGD {
	return &SGD{Rate: lr, Momentum: momentum, WeightDecay: weightDecay}
}

// SetLR sets the learning rate.
func (o *SGD) SetLR(lr float64) { o.Rate = lr }

// LR returns the learning rate.
func (o *SGD) LR() float64 { return o.Rate }

// Step applies one SGD update.
func (o *SGD) Step(p *tensor.Params[float32]) {
	o.steps++
	lr, mu, wd := float32(o.Rate), float32(o.Momentum), float32(o.WeightDecay)
	first := false
	if mu != 0 && o.buf == nil {
		o.buf = make([]float32, len(p.Data))
		first = true
	}
	th, g, b := p.Data, p.Grad, o.buf
	parallel.For(len(th), 1<<15, func(lo, hi int) {
		var bc []float32
		if b != nil {
			bc = b[lo:hi]
		}
		sgdChunk(th[lo:hi], g[lo:hi], bc, lr, mu, wd, first)
	})
}

// sgdChunk applies the SGD update to one chunk: the AVX2 kernel on the
// longest prefix whose length is a multiple of 8, sgdRange on the rest.
func sgdChunk(th, g, b []float32, lr, mu, wd float32, first bool) {
	n := sgdVec(th, g, b, lr, mu, wd, first)
	if b != nil {
		b = b[n:]
	}
	sgdRange(th[n:], g[n:], b, lr, mu, wd, first)
}

// sgdRange is the scalar SGD update of th from g (and the momentum buffer
// b, used only when mu != 0), element by element. The vector kernels of
// sgdVec repeat its operations in the same order, so that both give the
// same bits; the explicit float32 conversions keep the compiler from
// fusing a multiply and an add (which Go allows, e.g. with GOAMD64=v3).
func sgdRange(th, g, b []float32, lr, mu, wd float32, first bool) {
	g = g[:len(th)]
	switch {
	case mu == 0 && wd == 0: // the common loop without branches
		for i := range th {
			th[i] -= float32(lr * g[i])
		}
	case mu == 0:
		for i := range th {
			th[i] -= float32(lr * (g[i] + float32(wd*th[i])))
		}
	default:
		b = b[:len(th)]
		for i := range th {
			d := g[i] + float32(wd*th[i])
			if first {
				b[i] = d
			} else {
				b[i] = float32(mu*b[i]) + d
			}
			th[i] -= float32(lr * b[i])
		}
	}
}

// AdamW is Adam with decoupled weight decay, as torch.optim.AdamW:
//
//	θ ← θ·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
//	θ ← θ − (lr/(1−β1ᵗ)) · m / (√v/√(1−β2ᵗ) + eps).
type AdamW struct {
	Rate, Beta1, Beta2, Eps, WeightDecay float64
	t                                    int
	m, v                                 []float32
}

// NewAdamW returns AdamW with PyTorch's defaults for betas (0.9, 0.999) and
// eps 1e-8.
func NewAdamW(lr, weightDecay float64) *AdamW {
	return &AdamW{Rate: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay}
}

// SetLR sets the learning rate.
func (o *AdamW) SetLR(lr float64) { o.Rate = lr }

// LR returns the learning rate.
func (o *AdamW) LR() float64 { return o.Rate }

// Steps returns the number of updates applied so far.
func (o *AdamW) Steps() int { return o.t }

// Step applies one AdamW update.
func (o *AdamW) Step(p *tensor.Params[float32]) {
	if o.m == nil {
		o.m = make([]float32, len(p.Data))
		o.v = make([]float32, len(p.Data))
	}
	o.t++
	c := o.coef()
	th, g, m, v := p.Data, p.Grad, o.m, o.v
	parallel.For(len(th), 1<<15, func(lo, hi int) {
		adamwChunk(th[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], c)
	})
}

// adamwCoef holds the float32 constants of one AdamW step.
type adamwCoef struct {
	decay, b1, c1, b2, c2, step, sq2, eps float32
}

// coef returns the constants of step o.t.
func (o *AdamW) coef() adamwCoef {
	bc1 := 1 - math.Pow(o.Beta1, float64(o.t))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.t))
	return adamwCoef{
		decay: float32(1 - o.Rate*o.WeightDecay),
		b1:    float32(o.Beta1),
		b2:    float32(o.Beta2),
		c1:    float32(1 - o.Beta1), // rounded once, as PyTorch's alpha/value
		c2:    float32(1 - o.Beta2),
		step:  float32(o.Rate / bc1),
		sq2:   float32(math.Sqrt(bc2)),
		eps:   float32(o.Eps),
	}
}

// adamwChunk applies the AdamW update to one chunk: the AVX2 kernel on the
// longest prefix whose length is a multiple of 8, adamwRange on the rest.
func adamwChunk(th, g, m, v []float32, c adamwCoef) {
	n := adamwVec(th, g, m, v, c)
	adamwRange(th[n:], g[n:], m[n:], v[n:], c)
}

// adamwRange is the scalar AdamW update, element by element:
//
//	θ ← θ·decay;  m ← b1·m + c1·g;  v ← b2·v + (c2·g)·g;
//	θ ← θ − (step·m) / (√v/sq2 + eps),
//
// each operation rounded to float32. The vector kernel of adamwVec repeats
// these operations in the same order, so that both give the same bits; the
// explicit float32 conversions keep the compiler from fusing a multiply and
// an add (which Go allows, e.g. with GOAMD64=v3). The square root is taken
// in float64 and rounded to float32, which equals the correctly rounded
// float32 square root for every float32 input (the float64 significand has
// 53 ≥ 2·24 + 2 bits, so the double rounding is innocuous); the compiler
// emits SQRTSS for it, and the kernel uses VSQRTPS.
func adamwRange(th, g, m, v []float32, c adamwCoef) {
	g, m, v = g[:len(th)], m[:len(th)], v[:len(th)]
	for i := range th {
		th[i] *= c.decay
		m[i] = float32(c.b1*m[i]) + float32(c.c1*g[i])
		v[i] = float32(c.b2*v[i]) + float32(float32(c.c2*g[i])*g[i])
		th[i] -= float32(c.step*m[i]) / (float32(math.Sqrt(float64(v[i])))/c.sq2 + c.eps)
	}
}

// State returns the step count and the momentum buffer (absent before the
// first step or without momentum).
func (o *SGD) State() (int, map[string][]float32) {
	t := map[string][]float32{}
	if o.buf != nil {
		t["momentum_buffer"] = o.buf
	}
	return o.steps, t
}

// Restore sets the state saved by State.
func (o *SGD) Restore(steps int, t map[string][]float32) error {
	o.steps = steps
	o.buf = nil
	if b, ok := t["momentum_buffer"]; ok {
		o.buf = append([]float32(nil), b...)
	}
	return nil
}

// State returns the step count and the moment estimates.
func (o *AdamW) State() (int, map[string][]float32) {
	t := map[string][]float32{}
	if o.m != nil {
		t["exp_avg"], t["exp_avg_sq"] = o.m, o.v
	}
	return o.t, t
}

// Restore sets the state saved by State.
func (o *AdamW) Restore(steps int, t map[string][]float32) error {
	m, okm := t["exp_avg"]
	v, okv := t["exp_avg_sq"]
	if steps > 0 && (!okm || !okv || len(m) != len(v)) {
		return fmt.Errorf("optim: AdamW state at step %d lacks exp_avg/exp_avg_sq", steps)
	}
	o.t, o.m, o.v = steps, nil, nil
	if okm {
		o.m, o.v = append([]float32(nil), m...), append([]float32(nil), v...)
	}
	return nil
}
