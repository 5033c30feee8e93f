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
	prun2(rows, C, softmaxRows[T]{out, x, C, log})
	if n := g.record(out, ruleSoftmax, x); n != nil {
		n.ints[0] = boolInt(log)
	}
	return out
}

// softmaxRows writes softmax (or log-softmax) of rows [lo, hi) of x into
// out.
type softmaxRows[T Float] struct {
	out, x *Tensor[T]
	C      int
	log    bool
}

func (k *softmaxRows[T]) Range(lo, hi int) {
	out, x, C, log := k.out, k.x, k.C, k.log
	for r := lo; r < hi; r++ {
		softmaxRow(out.Data[r*C:(r+1)*C], x.Data[r*C:(r+1)*C], log)
	}
}

// softmaxRow writes softmax (or log-softmax) of x into y; it returns the
// log of the normalizer, logΣexp(x).
//
// In float32 the maximum, the subtraction and the scaling run eight lanes
// at a time (maxVec, affineVec) with the same results as the scalar loops:
// x·1 + (−mx) is x − mx and y·inv + (−0) is y·inv, exactly. The vector
// maximum may differ from the scalar one only in the sign of a zero
// maximum (±0) or where x holds a NaN; the sum and the result are NaN then
// either way, and with mx = ±0 the differences x − mx differ at most in
// the sign of zeros, whose exponential is 1, while lse = ±0 + log s with
// s ≥ 1 is +0 or log s: the output bits are the same. The sum stays
// sequential in float64.
func softmaxRow[T Float](y, x []T, log bool) float64 {
	mx, i := x[0], 0
	if is32[T]() {
		var m float32
		if i, m = maxVec(as32(x)); i > 0 {
			mx = T(m)
		}
	}
	for _, v := range x[i:] {
		if v > mx {
			mx = v
		}
	}
	i = 0
	if is32[T]() {
		i = affineVec(as32(y), as32(x), 1, float32(-mx))
	}
	for ; i < len(x); i++ {
		y[i] = x[i] - mx
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
		i = 0
		if is32[T]() {
			i = affineVec(as32(y), as32(y), float32(inv), negZero32)
		}
		for ; i < len(y); i++ {
			y[i] *= inv
		}
	}
	return lse
}

// negZero32 is −0: adding it leaves every float32 unchanged (+0 included).
var negZero32 = math.Float32frombits(1 << 31)

func softmaxBackward[T Float](g *Graph[T], n *node[T]) {
	x, y := n.in[0], n.out
	C := x.Dim(-1)
	rows := x.Len() / max(C, 1)
	log := n.ints[0] == 1
	dX, dY, Y := g.grad(x), y.Grad, y.Data
	prun2(rows, C, softmaxGrad[T]{Y, dY, dX, C, log})
}

// softmaxGrad accumulates the input gradient of rows [lo, hi) of a softmax
// (or log-softmax) with output Y.
type softmaxGrad[T Float] struct {
	Y, dY, dX []T
	C         int
	log       bool
}

func (k *softmaxGrad[T]) Range(lo, hi int) {
	Y, dY, dX, C, log := k.Y, k.dY, k.dX, k.C, k.log
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
	prun2(rows, C, crossEntropyRows[T]{probs, lossRow, logits, targets, C, ignoreIndex})
	var s float64
	for _, l := range lossRow {
		s += float64(l)
	}
	out := g.newTensor()
	out.Data[0] = T(s / float64(max(count, 1)))
	if n := g.record(out, ruleCrossEntropy, logits); n != nil {
		n.aux[0] = probs
		n.idx = targets
		n.ints[0], n.ints[1] = ignoreIndex, count
	}
	return out
}

// crossEntropyRows writes the probabilities and the loss of rows [lo, hi) (0
// for an ignored target).
type crossEntropyRows[T Float] struct {
	probs, lossRow []T
	logits         *Tensor[T]
	targets        []int32
	C, ignoreIndex int
}

func (k *crossEntropyRows[T]) Range(lo, hi int) {
	probs, lossRow, logits, targets, C, ignoreIndex := k.probs, k.lossRow, k.logits, k.targets, k.C, k.ignoreIndex
	for r := lo; r < hi; r++ {
		lse := softmaxRow(probs[r*C:(r+1)*C], logits.Data[r*C:(r+1)*C], false)
		if t := int(targets[r]); t != ignoreIndex {
			lossRow[r] = T(lse - float64(logits.Data[r*C+t]))
		} else {
			lossRow[r] = 0
		}
	}
}

func crossEntropyBackward[T Float](g *Graph[T], n *node[T]) {
	logits := n.in[0]
	C := logits.Dim(-1)
	rows := logits.Len() / max(C, 1)
	ignore, count := n.ints[0], n.ints[1]
	scale := n.out.Grad[0] / T(max(count, 1))
	probs, dX := n.aux[0], g.grad(logits)
	prun2(rows, C, crossEntropyGrad[T]{probs, dX, n, C, ignore, scale})
}

// crossEntropyGrad accumulates the logits' gradient of rows [lo, hi), scaled
// by scale.
type crossEntropyGrad[T Float] struct {
	probs, dX []T
	n         *node[T]
	C, ignore int
	scale     T
}

func (k *crossEntropyGrad[T]) Range(lo, hi int) {
	probs, dX, n, C, ignore, scale := k.probs, k.dX, k.n, k.C, k.ignore, k.scale
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
}

// KL returns the mean over rows of KL(softmax(p) ‖ softmax(q)), the
// divergence between two sets of logits of the same shape [..., C]. Both
// sides receive gradients when they require them; pass a tensor that does
// not (or compute it under NoGrad) to hold one side fixed.
//
// The value and both gradients stay exact as the two distributions meet
// (relative error about 1e-7 in float32, 1e-15 in float64, at any distance;
// see MeanKL for the form). With the D, x, c and y of MeanKL the gradients
// are ∂KL/∂p_i = P_i·(D_i − Σ_j P_j D_j) = −P_i·(x_i − c) and ∂KL/∂q_i =
// Q_i − P_i = P_i·(expm1(x_i) − y)/(1 + y): neither subtracts two nearly
// equal probabilities.
func (g *Graph[T]) KL(p, q *Tensor[T]) *Tensor[T] {
	if !sameDims(p.Shape(), q.Shape()) {
		panic(shapeErr("KL", p.Shape(), q.Shape()))
	}
	C := p.Dim(-1)
	rows := p.Len() / max(C, 1)
	wantP, wantQ := g.needsGrad(p), g.needsGrad(q)
	w := g.bufNoZero(p.Len())
	var dp, dq []T // ∂KL_row/∂p and ∂KL_row/∂q, kept for the backward pass
	if wantP {
		dp = g.bufNoZero(p.Len())
	}
	if wantQ {
		dq = g.bufNoZero(q.Len())
	}
	klr := g.bufNoZero(rows)
	prun2(rows, 4*C, klRows[T]{dp, dq, w, klr, p, q, C})
	var s float64
	for _, v := range klr {
		s += float64(v)
	}
	out := g.newTensor()
	out.Data[0] = T(s / float64(max(rows, 1)))
	if n := g.record(out, ruleKL, p, q); n != nil {
		n.aux[0], n.aux[1] = dp, dq
	}
	return out
}

// klRows writes the KL divergence of rows [lo, hi) into klr and its
// gradients into dp and dq when they are not nil.
type klRows[T Float] struct {
	dp, dq, w, klr []T
	p, q           *Tensor[T]
	C              int
}

func (k *klRows[T]) Range(lo, hi int) {
	dp, dq, w, klr, p, q, C := k.dp, k.dq, k.w, k.klr, k.p, k.q, k.C
	for r := lo; r < hi; r++ {
		s := r * C
		var gp, gq []T
		if dp != nil {
			gp = dp[s : s+C]
		}
		if dq != nil {
			gq = dq[s : s+C]
		}
		kl, _ := klRow(p.Data[s:s+C], q.Data[s:s+C], w[s:s+C], gp, gq, false)
		klr[r] = T(kl)
	}
}

func klBackward[T Float](g *Graph[T], n *node[T]) {
	p := n.in[0]
	C := p.Dim(-1)
	rows := p.Len() / max(C, 1)
	scale := n.out.Grad[0] / T(max(rows, 1))
	for i, d := range n.aux[:2] {
		if d == nil || !n.wants(i) {
			continue
		}
		dX := g.grad(n.in[i])
		prun(len(d), addScaled[T]{dX, d, scale})
	}
}

// addScaled adds scale·d into dX for elements [lo, hi).
type addScaled[T Float] struct {
	dX, d []T
	scale T
}

func (k *addScaled[T]) Range(lo, hi int) {
	dX, d, scale := k.dX, k.d, k.scale
	for j := lo; j < hi; j++ {
		dX[j] += scale * d[j]
	}
}

// MeanKL returns the mean over rows of KL(softmax(p) ‖ softmax(q)) for two
// row-major logit matrices with the given number of classes: the value of
// Graph.KL, without a graph. Rows run in parallel; their values are summed
// in row order, so the result does not depend on the thread count.
//
// Each row is computed in a form that stays exact as the distributions
// meet. With D_i = p_i − q_i and P = softmax(p), for any constant m,
//
//	KL(P‖Q) = Σ P_i D_i + log Σ P_i e^{−D_i} = log Σ P_i e^{x_i} − Σ P_i x_i,  x_i = m − D_i
//	        = log1p(y) − c,  c = Σ P_i x_i,  y = Σ P_i expm1(x_i) = c + Σ P_i h(x_i),
//
// h(x) = e^x − 1 − x. m is the D of the most probable class, so that the
// x_i are differences of logit changes, as small as the change itself, and
// h comes from its Taylor series near 0. Near coincidence the value is
// evaluated as Σ P_i h(x_i) + (log1p(y) − y), two terms of order x² that
// are each computed to full relative precision (the second from its series
// when y is small): KL ≈ ½·Var_P(D) keeps its
// precision however small it is, and identical rows give exactly 0. P comes
// from one single-precision exponential per class (float32), corrected for
// the rounding of its argument, and every sum is accumulated in float64:
// the relative error is about 1e-8 for float32 logits (1e-15 for float64),
// at every distance. A uniform shift of either row, which softmax ignores,
// cancels in x.
func MeanKL[T Float](p, q []T, classes int) float64 {
	return meanKL(p, q, classes, false)
}

// MeanSymmetricKL returns the mean over rows of KL(P ‖ Q) + KL(Q ‖ P), P =
// softmax(p), Q = softmax(q), in one pass over the rows and with the
// precision of MeanKL: the sum is Σ_i (P_i − Q_i)(D_i − D̄), D̄ = Σ P_i D_i,
// with P_i − Q_i = P_i·(expm1(x_i) − y)/(1 + y) in MeanKL's notation, which
// leaves (Σ P_i x_i·expm1(x_i) − c·y)/(1 + y): no nearly equal
// probabilities are subtracted.
func MeanSymmetricKL[T Float](p, q []T, classes int) float64 {
	return meanKL(p, q, classes, true)
}

func meanKL[T Float](p, q []T, classes int, symmetric bool) float64 {
	if len(p) != len(q) || classes <= 0 || len(p)%classes != 0 {
		panic(fmt.Sprintf("autograd: MeanKL of %d and %d values, %d classes", len(p), len(q), classes))
	}
	rows := len(p) / classes
	per := make([]float64, rows)
	pfor2(rows, 4*classes, func(lo, hi int) {
		w := make([]T, classes)
		for r := lo; r < hi; r++ {
			s := r * classes
			kl, sym := klRow(p[s:s+classes], q[s:s+classes], w, nil, nil, symmetric)
			if symmetric {
				kl = sym
			}
			per[r] = kl
		}
	})
	var total float64
	for _, v := range per {
		total += v
	}
	return total / float64(max(rows, 1))
}

// klRow returns KL(softmax(a) ‖ softmax(b)) of one row in the form of
// MeanKL, and when symmetric is set the symmetric sum as well, using w
// (len(a)) as scratch. When da or db is not nil it receives the gradient
// of the row's KL with respect to a or b.
func klRow[T Float](a, b, w, da, db []T, symmetric bool) (kl, sym float64) {
	b, w = b[:len(a)], w[:len(a)]
	mx, r := a[0], 0
	for i, v := range a {
		if v > mx {
			mx, r = v, i
		}
	}
	i := 0
	if is32[T]() { // a·1 + (−mx) is a − mx exactly
		i = affineVec(as32(w), as32(a), 1, float32(-mx))
	}
	for ; i < len(a); i++ {
		w[i] = a[i] - mx
	}
	expSliceT(w, w)
	// One pass: the weights e_i = e^{a_i − max}, corrected for the rounding
	// of the exponential's argument (float32: e^ε ≈ 1 + ε, |ε| ≤ 1e-6), and
	// the sums S = Σ e, Σ e·x, Σ e·h(x) (and Σ e·x·expm1(x)).
	mx64 := float64(mx)
	m := float64(a[r]) - float64(b[r])
	grad := da != nil || db != nil
	var se, sx, sh, sxe float64
	for i, v := range a {
		la := float64(v) - mx64
		e := float64(w[i]) * (1 + (la - float64(v-mx)))
		x := m - (float64(v) - float64(b[i]))
		var h, eh float64 // h(x), e·h(x)
		switch {
		case x > -0.25 && x < 0.25:
			h = expm1mx0(x)
			eh = e * h
		case x <= farX:
			h = math.Exp(x) - 1 - x
			eh = e * h
		default: // e^x may overflow where the weight underflowed: e^{la+x}
			eh = math.Exp(la+x) - e*(1+x)
		}
		se += e
		sx += e * x
		sh += eh
		if symmetric { // e·x·expm1(x)
			sxe += x * (e*x + eh)
		}
		if grad {
			w[i] = T(e)
			if da != nil {
				da[i] = T(x)
			}
			if db != nil {
				db[i] = T(x + h) // expm1(x) (x ≤ farX), finished below
			}
		}
	}
	c, hs := sx/se, sh/se
	y := c + hs
	if y > -0.5 && y < 0.5 {
		kl = hs + log1pmx(y)
	} else {
		kl = math.Log1p(y) - c
	}
	if symmetric {
		sym = (sxe/se - c*y) / (1 + y)
	}
	if grad {
		inv, invY := 1/se, 1/(1+y)
		for i, v := range a {
			pi := float64(w[i]) * inv
			if da != nil { // P_i·(D_i − D̄) = −P_i·(x_i − c)
				da[i] = T(-pi * (float64(da[i]) - c))
			}
			if db == nil {
				continue
			}
			// Q_i − P_i = P_i·(expm1(x_i) − y)/(1 + y)
			if x := m - (float64(v) - float64(b[i])); x > farX {
				db[i] = T(math.Exp(float64(v)-mx64+x-math.Log(se)-math.Log1p(y)) - pi)
			} else {
				db[i] = T(pi * (float64(db[i]) - y) * invY)
			}
		}
	}
	return kl, sym
}

// farX bounds the x = m − D of klRow for which e^x is formed alone; above
// it the weight's exponent is added first, so that neither overflows.
const farX = 30

// log1pmx returns log(1 + y) − y for |y| < 1/2: its series below 1/64
// (relative error below 1e-16), the difference above (1e-16/|y|).
func log1pmx(y float64) float64 {
	if y > -1.0/64 && y < 1.0/64 {
		return -y * y * (1.0/2 - y*(1.0/3-y*(1.0/4-y*(1.0/5-y*(1.0/6-y*(1.0/7-y*(1.0/8-y/9)))))))
	}
	return math.Log1p(y) - y
}

// expm1mx0 returns e^x − 1 − x for |x| < 1/4 from its Taylor series
// (relative error below 1e-13).
func expm1mx0(x float64) float64 {
	const (
		c2  = 1.0 / 2
		c3  = 1.0 / 6
		c4  = 1.0 / 24
		c5  = 1.0 / 120
		c6  = 1.0 / 720
		c7  = 1.0 / 5040
		c8  = 1.0 / 40320
		c9  = 1.0 / 362880
		c10 = 1.0 / 3628800
	)
	return x * x * (c2 + x*(c3+x*(c4+x*(c5+x*(c6+x*(c7+x*(c8+x*(c9+x*c10))))))))
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
