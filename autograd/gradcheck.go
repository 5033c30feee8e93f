package autograd

import (
	"fmt"
	"math"
)

// GradCheck compares the gradients that Backward computes for a scalar
// function with central finite differences, in float64.
//
// f builds the scalar from the inputs on the graph it is given; it is called
// once with gradients recorded and then twice per input element under
// NoGrad, so it must be deterministic (re-seed any randomness inside f).
// Every element must satisfy |analytic − numeric| ≤ atol + rtol·max(|analytic|, |numeric|).
// The error describes the worst element when the check fails.
func GradCheck(f func(g *Graph[float64]) *Tensor[float64], inputs []*Tensor[float64], step, atol, rtol float64) error {
	g := NewGraph[float64]()
	for _, in := range inputs {
		in.SetRequiresGrad(true)
		in.ZeroGrad()
	}
	loss := f(g)
	g.Backward(loss)
	analytic := make([][]float64, len(inputs))
	for i, in := range inputs {
		analytic[i] = append([]float64(nil), in.Grad...)
	}
	eval := func() float64 {
		g.Reset()
		var v float64
		g.NoGrad(func() { v = f(g).Item() })
		return v
	}
	worst, worstMsg := 0.0, ""
	for i, in := range inputs {
		for j := range in.Data {
			orig := in.Data[j]
			in.Data[j] = orig + step
			fp := eval()
			in.Data[j] = orig - step
			fm := eval()
			in.Data[j] = orig
			num := (fp - fm) / (2 * step)
			a := analytic[i][j]
			diff := math.Abs(a - num)
			bound := atol + rtol*math.Max(math.Abs(a), math.Abs(num))
			if !(diff <= bound) && diff/bound > worst {
				worst = diff / bound
				worstMsg = fmt.Sprintf("input %d %v element %d: analytic %.10g, numeric %.10g (|diff| %.3g > bound %.3g)", i, in.Shape(), j, a, num, diff, bound)
			}
		}
	}
	if worstMsg != "" {
		return fmt.Errorf("autograd: gradient check failed at %s", worstMsg)
	}
	return nil
}
