package autograd

import (
	"fmt"
	"math/rand/v2"
)

// Dropout zeroes each element of x with probability p and scales the rest by
// 1/(1−p), drawing from rng (so a seed fixes the mask). p = 0 returns x
// unchanged; call it only in training mode.
func (g *Graph[T]) Dropout(x *Tensor[T], p float64, rng *rand.Rand) *Tensor[T] {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("autograd: Dropout probability %v outside [0, 1)", p))
	}
	if p == 0 {
		return x
	}
	mask := g.bufNoZero(x.Len())
	keep := T(1 / (1 - p))
	for i := range mask {
		if rng.Float64() < p {
			mask[i] = 0
		} else {
			mask[i] = keep
		}
	}
	out := g.newTensor(x.Shape()...)
	for i, v := range x.Data {
		out.Data[i] = v * mask[i]
	}
	if n := g.record(out, ruleDropout, x); n != nil {
		n.aux[0] = mask
	}
	return out
}

func dropoutBackward[T Float](g *Graph[T], n *node[T]) {
	dY, mask := n.out.Grad, n.aux[0]
	dX, fresh := g.gradInto(n.in[0], n.out)
	if fresh {
		for i, d := range dY {
			dX[i] = d * mask[i]
		}
		return
	}
	for i, d := range dY {
		dX[i] += d * mask[i]
	}
}
