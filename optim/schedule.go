package optim

import (
	"fmt"
	"math"
)

// A Schedule gives the learning rate for a step (counted from 0).
type Schedule interface {
	LR(step int) float64
}

// Constant keeps the learning rate fixed.
type Constant float64

// LR returns the constant rate.
func (c Constant) LR(int) float64 { return float64(c) }

// WarmupCosine rises linearly from 0 to Peak over Warmup steps, then decays
// to Peak·MinRatio along a half cosine until Total steps (as Hugging Face's
// get_cosine_schedule_with_warmup when MinRatio is 0).
type WarmupCosine struct {
	Peak          float64
	Warmup, Total int
	MinRatio      float64
}

// LR returns the rate at step.
func (s WarmupCosine) LR(step int) float64 {
	if step < s.Warmup {
		return s.Peak * float64(step) / float64(max(1, s.Warmup))
	}
	p := float64(step-s.Warmup) / float64(max(1, s.Total-s.Warmup))
	p = math.Min(p, 1)
	c := 0.5 * (1 + math.Cos(math.Pi*p))
	return s.Peak * (s.MinRatio + (1-s.MinRatio)*c)
}

// WarmupPolynomial rises linearly over Warmup steps, then decays from Peak
// to End as (1 − progress)^Power until Total steps (Hugging Face's
// get_polynomial_decay_schedule_with_warmup; Power 1 is linear decay).
type WarmupPolynomial struct {
	Peak, End     float64
	Warmup, Total int
	Power         float64
}

// LR returns the rate at step.
func (s WarmupPolynomial) LR(step int) float64 {
	if step < s.Warmup {
		return s.Peak * float64(step) / float64(max(1, s.Warmup))
	}
	if step >= s.Total {
		return s.End
	}
	rem := 1 - float64(step-s.Warmup)/float64(max(1, s.Total-s.Warmup))
	pow := s.Power
	if pow == 0 {
		pow = 1
	}
	return (s.Peak-s.End)*math.Pow(rem, pow) + s.End
}

// ParseSchedule builds a schedule from its name: "constant", "cosine" or
// "linear"/"polynomial" (power 1), for a run of total steps.
func ParseSchedule(name string, peak float64, warmup, total int) (Schedule, error) {
	switch name {
	case "", "constant":
		return Constant(peak), nil
	case "cosine":
		return WarmupCosine{Peak: peak, Warmup: warmup, Total: total}, nil
	case "linear", "polynomial":
		return WarmupPolynomial{Peak: peak, Warmup: warmup, Total: total, Power: 1}, nil
	}
	return nil, fmt.Errorf("unknown schedule %q; valid: constant, cosine, linear", name)
}

// ClipGradNorm rescales grad in place so that its L2 norm is at most
// maxNorm, as torch.nn.utils.clip_grad_norm_ (coefficient
// maxNorm/(norm+1e-6), applied only when below 1). It returns the norm
// before clipping.
func ClipGradNorm(grad []float32, maxNorm float64) float64 {
	var s float64
	for _, v := range grad {
		s += float64(v) * float64(v)
	}
	n := math.Sqrt(s)
	if c := maxNorm / (n + 1e-6); c < 1 {
		cf := float32(c)
		for i := range grad {
			grad[i] *= cf
		}
	}
	return n
}
