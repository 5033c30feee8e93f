package autograd

import (
	"fmt"
	"math"
)

// Softmax returns softmax over the last dimension of x.
func (g *Graph[T]) Softmax(x *Tensor[T]) *Tensor[T] { return g.softmax(x, false) }

// LogSoftmax returns log-softmax over the last dimension of x, computed
// stably (max subtracted, sums in float64).
func (g *Graph[T]) LogSoftmax(x *Tensor[T]) *Tensor[T] { return g.softmax(x, true) }

func (g *Graph[T]) softmax(x *Tensor[T], log bool) *Tensor[T] {
	C := x.Dim(-1)
	rows := x.Len() / max(C, 1)
	out := g.newTensor(x.Shape()...)
	pfor2(rows, C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			softmaxRow(out.Data[r*C:(r+1)*C], x.Data[r*C:(r+1)*C], log)
		}
	})
	if n := g.record(out, softmaxBackward[T], x); n != nil {
		n.ints[0] = boolInt(log)
	}
	return out
}

// softmaxRow writes softmax (or log-softmax) of x into y; it returns the
// log of the normalizer, logΣexp(x).
func softmaxRow[T Float](y, x []T, log bool) float64 {
	mx := x[0]
	for _, v := range x {
		if v > mx {
			mx = v
		}
	}
	for i, v := range x {
		y[i] = v - mx
	}
	expSliceT(y, y)
	var s float64
	for _, e := range y {
		s += float64(e)
	}
	lse := float64(mx) + math.Log(s)
	if log {
		for i, v := range x {
			y[i] = T(float64(v) - lse)
		}
	} else {
		inv := T(1 / s)
		for i := range y {
			y[i] *= inv
		}
	}
	return lse
}

func softmaxBackward[T Float](g *Graph[T], n *node[T]) {
	x, y := n.in[0], n.out
	C := x.Dim(-1)
	rows := x.Len() / max(C, 1)
	log := n.ints[0] == 1
	dX, dY, Y := g.grad(x), y.Grad, y.Data
	pfor2(rows, C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			yr, dyr, dxr := Y[r*C:(r+1)*C], dY[r*C:(r+1)*C], dX[r*C:(r+1)*C]
			var s float64
			if log { // dx = dy − softmax·Σdy
				for _, d := range dyr {
					s += float64(d)
				}
				for i := range dxr {
					dxr[i] += dyr[i] - expT(yr[i])*T(s)
				}
			} else { // dx = y ⊙ (dy − Σ y·dy)
				for i := range yr {
					s += float64(yr[i]) * float64(dyr[i])
				}
				for i := range dxr {
					dxr[i] += yr[i] * (dyr[i] - T(s))
				}
			}
		}
	})
}

// CrossEntropy returns the mean over rows of −log softmax(logits)[target],
// fusing softmax and the loss. logits is [..., C]; targets has one class per
// row; rows whose target equals ignoreIndex are skipped (use −1 when none
// should be). With no counted row the loss is 0. targets must stay
// unchanged until Backward has run.
func (g *Graph[T]) CrossEntropy(logits *Tensor[T], targets []int32, ignoreIndex int) *Tensor[T] {
	C := logits.Dim(-1)
	rows := logits.Len() / max(C, 1)
	if len(targets) != rows {
		panic(fmt.Sprintf("autograd: CrossEntropy: %d targets for logits %v (%d rows)", len(targets), logits.Shape(), rows))
	}
	probs := g.bufNoZero(logits.Len())
	lossRow := g.bufNoZero(rows)
	count := 0
	for r, t := range targets {
		if int(t) == ignoreIndex {
			continue
		}
		if t < 0 || int(t) >= C {
			panic(fmt.Sprintf("autograd: CrossEntropy: target %d in row %d out of range [0, %d)", t, r, C))
		}
		count++
	}
	pfor2(rows, C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			lse := softmaxRow(probs[r*C:(r+1)*C], logits.Data[r*C:(r+1)*C], false)
			if t := int(targets[r]); t != ignoreIndex {
				lossRow[r] = T(lse - float64(logits.Data[r*C+t]))
			} else {
				lossRow[r] = 0
			}
		}
	})
	var s float64
	for _, l := range lossRow {
		s += float64(l)
	}
	out := g.newTensor()
	out.Data[0] = T(s / float64(max(count, 1)))
	if n := g.record(out, crossEntropyBackward[T], logits); n != nil {
		n.aux[0] = probs
		n.idx = targets
		n.ints[0], n.ints[1] = ignoreIndex, count
	}
	return out
}

func crossEntropyBackward[T Float](g *Graph[T], n *node[T]) {
	logits := n.in[0]
	C := logits.Dim(-1)
	rows := logits.Len() / max(C, 1)
	ignore, count := n.ints[0], n.ints[1]
	scale := n.out.Grad[0] / T(max(count, 1))
	probs, dX := n.aux[0], g.grad(logits)
	pfor2(rows, C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			t := int(n.idx[r])
			if t == ignore {
				continue
			}
			pr, dr := probs[r*C:(r+1)*C], dX[r*C:(r+1)*C]
			for i, p := range pr {
				dr[i] += scale * p
			}
			dr[t] -= scale
		}
	})
}

// KL returns the mean over rows of KL(softmax(p) ‖ softmax(q)), the
// divergence between two sets of logits of the same shape [..., C]. Both
// sides receive gradients when they require them; pass a tensor that does
// not (or compute it under NoGrad) to hold one side fixed.
func (g *Graph[T]) KL(p, q *Tensor[T]) *Tensor[T] {
	if !sameDims(p.Shape(), q.Shape()) {
		panic(shapeErr("KL", p.Shape(), q.Shape()))
	}
	C := p.Dim(-1)
	rows := p.Len() / max(C, 1)
	lp, lq := g.bufNoZero(p.Len()), g.bufNoZero(q.Len())
	klRow := g.bufNoZero(rows)
	pfor2(rows, C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			a, b := lp[r*C:(r+1)*C], lq[r*C:(r+1)*C]
			softmaxRow(a, p.Data[r*C:(r+1)*C], true)
			softmaxRow(b, q.Data[r*C:(r+1)*C], true)
			var s float64
			for i := range a {
				s += math.Exp(float64(a[i])) * float64(a[i]-b[i])
			}
			klRow[r] = T(s)
		}
	})
	var s float64
	for _, v := range klRow {
		s += float64(v)
	}
	out := g.newTensor()
	out.Data[0] = T(s / float64(max(rows, 1)))
	if n := g.record(out, klBackward[T], p, q); n != nil {
		n.aux[0], n.aux[1], n.aux[2] = lp, lq, klRow
	}
	return out
}

func klBackward[T Float](g *Graph[T], n *node[T]) {
	p := n.in[0]
	C := p.Dim(-1)
	rows := p.Len() / max(C, 1)
	scale := n.out.Grad[0] / T(max(rows, 1))
	lp, lq, klRow := n.aux[0], n.aux[1], n.aux[2]
	var dP, dQ []T
	if n.wants(0) {
		dP = g.grad(p)
	}
	if n.wants(1) {
		dQ = g.grad(n.in[1])
	}
	pfor2(rows, C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			for i := r * C; i < (r+1)*C; i++ {
				pi := T(math.Exp(float64(lp[i])))
				if dP != nil { // ∂/∂p_i = P_i·(log P_i − log Q_i − KL)
					dP[i] += scale * pi * (lp[i] - lq[i] - klRow[r])
				}
				if dQ != nil { // ∂/∂q_i = Q_i − P_i
					dQ[i] += scale * (T(math.Exp(float64(lq[i]))) - pi)
				}
			}
		}
	})
}

// LogSumExp returns log Σ exp(x_i), computed stably in float64.
func LogSumExp[T Float](x []T) float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s)
}
