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
		switch {
		case mu == 0 && wd == 0: // the common loop without branches
			for i := lo; i < hi; i++ {
				th[i] -= lr * g[i]
			}
		case mu == 0:
			for i := lo; i < hi; i++ {
				th[i] -= lr * (g[i] + wd*th[i])
			}
		default:
			for i := lo; i < hi; i++ {
				d := g[i] + wd*th[i]
				if first {
					b[i] = d
				} else {
					b[i] = mu*b[i] + d
				}
				th[i] -= lr * b[i]
			}
		}
	})
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
	bc1 := 1 - math.Pow(o.Beta1, float64(o.t))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.t))
	decay := float32(1 - o.Rate*o.WeightDecay)
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	c1, c2 := float32(1-o.Beta1), float32(1-o.Beta2) // rounded once, as PyTorch's alpha/value
	step := float32(o.Rate / bc1)
	sq2 := float32(math.Sqrt(bc2))
	eps := float32(o.Eps)
	th, g, m, v := p.Data, p.Grad, o.m, o.v
	parallel.For(len(th), 1<<15, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			th[i] *= decay
			m[i] = b1*m[i] + c1*g[i]
			v[i] = b2*v[i] + c2*g[i]*g[i]
			th[i] -= step * m[i] / (float32(math.Sqrt(float64(v[i])))/sq2 + eps)
		}
	})
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
