package autograd

import (
	"fmt"
	"math"

	"github.com/tramlab/tram/tensor"
)

// Binary ops broadcast like NumPy: shapes are aligned at their last
// dimension and a dimension of size 1 (or a missing leading one) repeats.

type binKind int

const (
	opAdd binKind = iota
	opSub
	opMul
	opDiv
)

var binNames = [...]string{"Add", "Sub", "Mul", "Div"}

// Add returns a + b (broadcasting).
func (g *Graph[T]) Add(a, b *Tensor[T]) *Tensor[T] { return g.binary(opAdd, a, b) }

// Sub returns a − b (broadcasting).
func (g *Graph[T]) Sub(a, b *Tensor[T]) *Tensor[T] { return g.binary(opSub, a, b) }

// Mul returns a ⊙ b (broadcasting).
func (g *Graph[T]) Mul(a, b *Tensor[T]) *Tensor[T] { return g.binary(opMul, a, b) }

// Div returns a ⊘ b (broadcasting).
func (g *Graph[T]) Div(a, b *Tensor[T]) *Tensor[T] { return g.binary(opDiv, a, b) }

// bcast describes how two shapes broadcast to an output shape: per output
// dimension, the strides of a and b (0 where the operand repeats).
type bcast struct {
	shape  [tensor.MaxDims]int
	sa, sb [tensor.MaxDims]int
	nd     int
	n      int
}

func broadcast[T Float](op string, a, b *Tensor[T]) bcast {
	var bc bcast
	nd := max(a.Dims(), b.Dims())
	bc.nd = nd
	stA, stB := 1, 1
	bc.n = 1
	for i := nd - 1; i >= 0; i-- {
		da, db := 1, 1
		if j := i - (nd - a.Dims()); j >= 0 {
			da = a.Dim(j)
		}
		if j := i - (nd - b.Dims()); j >= 0 {
			db = b.Dim(j)
		}
		d := da
		switch {
		case da == db:
		case da == 1:
			d = db
		case db == 1:
		default:
			panic(shapeErr(op, a.Shape(), b.Shape()))
		}
		bc.shape[i] = d
		if da != 1 || d == 1 {
			bc.sa[i] = stA
		}
		if db != 1 || d == 1 {
			bc.sb[i] = stB
		}
		stA *= da
		stB *= db
		bc.n *= d
	}
	return bc
}

// each calls fn(o, ia, ib) for every output element o with the offsets of
// the corresponding elements of a and b, in row-major order over [lo, hi).
func (bc *bcast) each(lo, hi int, fn func(o, ia, ib int)) {
	var idx [tensor.MaxDims]int
	rem := lo
	ia, ib := 0, 0
	for d := bc.nd - 1; d >= 0; d-- {
		idx[d] = rem % bc.shape[d]
		rem /= bc.shape[d]
		ia += idx[d] * bc.sa[d]
		ib += idx[d] * bc.sb[d]
	}
	for o := lo; o < hi; o++ {
		fn(o, ia, ib)
		for d := bc.nd - 1; d >= 0; d-- {
			idx[d]++
			ia += bc.sa[d]
			ib += bc.sb[d]
			if idx[d] < bc.shape[d] {
				break
			}
			ia -= bc.sa[d] * bc.shape[d]
			ib -= bc.sb[d] * bc.shape[d]
			idx[d] = 0
		}
	}
}

func (g *Graph[T]) binary(op binKind, a, b *Tensor[T]) *Tensor[T] {
	var out *Tensor[T]
	if tensor.SameShape(a, b) {
		out = g.newTensor(a.Shape()...)
		A, B, O := a.Data, b.Data, out.Data
		prun(len(O), binarySame[T]{A, B, O, op})
	} else if isSuffix(b, a) {
		// b repeats over a's leading dimensions (a bias or position table).
		out = g.newTensor(a.Shape()...)
		A, B, O, nb := a.Data, b.Data, out.Data, b.Len()
		prun(len(O), binaryRepeat[T]{A, B, O, nb, op})
	} else {
		bc := broadcast(binNames[op], a, b)
		out = g.newTensor(bc.shape[:bc.nd]...)
		A, B, O := a.Data, b.Data, out.Data
		bc.each(0, bc.n, func(o, ia, ib int) {
			switch op {
			case opAdd:
				O[o] = A[ia] + B[ib]
			case opSub:
				O[o] = A[ia] - B[ib]
			case opMul:
				O[o] = A[ia] * B[ib]
			case opDiv:
				O[o] = A[ia] / B[ib]
			}
		})
	}
	if n := g.record(out, ruleBinary, a, b); n != nil {
		n.ints[0] = int(op)
	}
	return out
}

// binarySame applies op to elements [lo, hi) of A and B of one shape.
type binarySame[T Float] struct {
	A, B, O []T
	op      binKind
}

func (k *binarySame[T]) Range(lo, hi int) {
	A, B, O, op := k.A, k.B, k.O, k.op
	switch op {
	case opAdd:
		for i := lo; i < hi; i++ {
			O[i] = A[i] + B[i]
		}
	case opSub:
		for i := lo; i < hi; i++ {
			O[i] = A[i] - B[i]
		}
	case opMul:
		for i := lo; i < hi; i++ {
			O[i] = A[i] * B[i]
		}
	case opDiv:
		for i := lo; i < hi; i++ {
			O[i] = A[i] / B[i]
		}
	}
}

// binaryRepeat applies op to elements [lo, hi) of A and of B repeated (B's
// length nb divides A's).
type binaryRepeat[T Float] struct {
	A, B, O []T
	nb      int
	op      binKind
}

func (k *binaryRepeat[T]) Range(lo, hi int) {
	A, B, O, nb, op := k.A, k.B, k.O, k.nb, k.op
	for i := lo; i < hi; i++ {
		bv := B[i%nb]
		switch op {
		case opAdd:
			O[i] = A[i] + bv
		case opSub:
			O[i] = A[i] - bv
		case opMul:
			O[i] = A[i] * bv
		case opDiv:
			O[i] = A[i] / bv
		}
	}
}

func binaryBackward[T Float](g *Graph[T], n *node[T]) {
	a, b, out := n.in[0], n.in[1], n.out
	op := binKind(n.ints[0])
	dO := out.Grad
	var dA, dB []T
	freshA, freshB := false, false
	if op == opAdd && n.wants(0) && a.Grad == nil && tensor.SameShape(a, out) {
		// a's gradient is exactly out's, which no node reads after this
		// one: hand the buffer over instead of copying it. a's part is
		// then done (dA stays nil below); if b is a, it adds onto it.
		a.Grad = dO
	} else if n.wants(0) {
		dA, freshA = g.gradFresh(a)
	}
	if n.wants(1) {
		dB, freshB = g.gradFresh(b)
	}
	A, B := a.Data, b.Data
	if tensor.SameShape(a, b) && op == opAdd && (freshA || freshB) {
		// The first gradient to reach a fresh buffer writes it (a and b may
		// be one tensor: then only dA is fresh, and it is written first).
		prun(len(dO), addGradsFresh[T]{dO, dA, dB, freshA, freshB})
		return
	}
	// Other cases accumulate: clear what was attached fresh.
	if freshA {
		clear(dA)
	}
	if freshB {
		clear(dB)
	}
	if tensor.SameShape(a, b) {
		prun(len(dO), binaryGrads[T]{dO, dA, dB, A, B, op})
		return
	}
	if isSuffix(b, a) && op == opAdd {
		if dA != nil {
			prun(len(dO), addGrad[T]{dA, dO})
		}
		if dB != nil {
			nb := len(dB)
			sumRows(dB, dO, len(dO)/max(nb, 1), nb)
		}
		return
	}
	// Broadcast case: sequential so that reductions into repeated
	// elements are deterministic.
	bc := broadcast(binNames[op], a, b)
	bc.each(0, bc.n, func(o, ia, ib int) {
		d := dO[o]
		switch op {
		case opAdd:
			if dA != nil {
				dA[ia] += d
			}
			if dB != nil {
				dB[ib] += d
			}
		case opSub:
			if dA != nil {
				dA[ia] += d
			}
			if dB != nil {
				dB[ib] -= d
			}
		case opMul:
			if dA != nil {
				dA[ia] += d * B[ib]
			}
			if dB != nil {
				dB[ib] += d * A[ia]
			}
		case opDiv:
			if dA != nil {
				dA[ia] += d / B[ib]
			}
			if dB != nil {
				dB[ib] -= d * A[ia] / (B[ib] * B[ib])
			}
		}
	})
}

// addGradsFresh hands dO to elements [lo, hi) of dA and dB (either may be
// nil), written where fresh, else added.
type addGradsFresh[T Float] struct {
	dO, dA, dB     []T
	freshA, freshB bool
}

func (k *addGradsFresh[T]) Range(lo, hi int) {
	dO, dA, dB, freshA, freshB := k.dO, k.dA, k.dB, k.freshA, k.freshB
	d := dO[lo:hi]
	if dA != nil {
		if freshA {
			copy(dA[lo:hi], d)
		} else {
			addTo(dA[lo:hi], d)
		}
	}
	if dB != nil {
		if freshB {
			copy(dB[lo:hi], d)
		} else {
			addTo(dB[lo:hi], d)
		}
	}
}

// binaryGrads accumulates the gradients of op's operands of one shape
// (either may be nil) for elements [lo, hi).
type binaryGrads[T Float] struct {
	dO, dA, dB, A, B []T
	op               binKind
}

func (k *binaryGrads[T]) Range(lo, hi int) {
	dO, dA, dB, A, B, op := k.dO, k.dA, k.dB, k.A, k.B, k.op
	for i := lo; i < hi; i++ {
		d := dO[i]
		switch op {
		case opAdd:
			if dA != nil {
				dA[i] += d
			}
			if dB != nil {
				dB[i] += d
			}
		case opSub:
			if dA != nil {
				dA[i] += d
			}
			if dB != nil {
				dB[i] -= d
			}
		case opMul:
			if dA != nil {
				dA[i] += d * B[i]
			}
			if dB != nil {
				dB[i] += d * A[i]
			}
		case opDiv:
			if dA != nil {
				dA[i] += d / B[i]
			}
			if dB != nil {
				dB[i] -= d * A[i] / (B[i] * B[i])
			}
		}
	}
}

// addGrad adds elements [lo, hi) of dO into dA.
type addGrad[T Float] struct {
	dA, dO []T
}

func (k *addGrad[T]) Range(lo, hi int) {
	dA, dO := k.dA, k.dO
	for i := lo; i < hi; i++ {
		dA[i] += dO[i]
	}
}

// addTo sets dst[i] += src[i] (eight lanes at a time in float32 with AVX2;
// the same sums either way).
func addTo[T Float](dst, src []T) {
	dst = dst[:len(src)]
	i := 0
	if is32[T]() {
		i = addVec(as32(dst), as32(src))
	}
	for ; i < len(src); i++ {
		dst[i] += src[i]
	}
}

// Scale returns s·x + c for scalars s and c.
func (g *Graph[T]) Scale(x *Tensor[T], s, c float64) *Tensor[T] {
	out := g.newTensor(x.Shape()...)
	X, O, S, C := x.Data, out.Data, T(s), T(c)
	prun(len(O), scaleShift[T]{X, O, S, C})
	if n := g.record(out, ruleScale, x); n != nil {
		n.fl[0] = s
	}
	return out
}

// scaleShift writes S·X + C for elements [lo, hi).
type scaleShift[T Float] struct {
	X, O []T
	S, C T
}

func (k *scaleShift[T]) Range(lo, hi int) {
	X, O, S, C := k.X, k.O, k.S, k.C
	for i := lo; i < hi; i++ {
		O[i] = S*X[i] + C
	}
}

func scaleBackward[T Float](g *Graph[T], n *node[T]) {
	dO, S := n.out.Grad, T(n.fl[0])
	dX, fresh := g.gradInto(n.in[0], n.out)
	prun(len(dO), scaleGrad[T]{dO, dX, S, fresh})
}

// scaleGrad writes (fresh) or adds S·dO into dX for elements [lo, hi).
type scaleGrad[T Float] struct {
	dO, dX []T
	S      T
	fresh  bool
}

func (k *scaleGrad[T]) Range(lo, hi int) {
	dO, dX, S, fresh := k.dO, k.dX, k.S, k.fresh
	if fresh {
		for i := lo; i < hi; i++ {
			dX[i] = S * dO[i]
		}
		return
	}
	for i := lo; i < hi; i++ {
		dX[i] += S * dO[i]
	}
}

// Unary elementwise functions. Each has a forward f(x) and a derivative
// expressed through x and y = f(x).
type unaryKind int

const (
	opExp unaryKind = iota
	opLog
	opTanh
	opReLU
	opGELU
	opSigmoid
	opSqrt
	opSquare
	opAbs
	opGELUErf
)

// Exp returns eˣ elementwise.
func (g *Graph[T]) Exp(x *Tensor[T]) *Tensor[T] { return g.unary(opExp, x) }

// Log returns ln x elementwise.
func (g *Graph[T]) Log(x *Tensor[T]) *Tensor[T] { return g.unary(opLog, x) }

// Tanh returns tanh x elementwise.
func (g *Graph[T]) Tanh(x *Tensor[T]) *Tensor[T] { return g.unary(opTanh, x) }

// ReLU returns max(x, 0) elementwise (derivative 0 at 0).
func (g *Graph[T]) ReLU(x *Tensor[T]) *Tensor[T] { return g.unary(opReLU, x) }

// GELU returns the tanh approximation of the Gaussian error linear unit,
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as GPT-2 uses.
func (g *Graph[T]) GELU(x *Tensor[T]) *Tensor[T] { return g.unary(opGELU, x) }

// GELUErf returns the exact Gaussian error linear unit x·Φ(x) =
// 0.5·x·(1 + erf(x/√2)), as BERT's "gelu" activation.
func (g *Graph[T]) GELUErf(x *Tensor[T]) *Tensor[T] { return g.unary(opGELUErf, x) }

// Sigmoid returns 1/(1+e⁻ˣ) elementwise.
func (g *Graph[T]) Sigmoid(x *Tensor[T]) *Tensor[T] { return g.unary(opSigmoid, x) }

// Sqrt returns √x elementwise.
func (g *Graph[T]) Sqrt(x *Tensor[T]) *Tensor[T] { return g.unary(opSqrt, x) }

// Square returns x² elementwise.
func (g *Graph[T]) Square(x *Tensor[T]) *Tensor[T] { return g.unary(opSquare, x) }

// Abs returns |x| elementwise (derivative 0 at 0).
func (g *Graph[T]) Abs(x *Tensor[T]) *Tensor[T] { return g.unary(opAbs, x) }

const geluC = 0.7978845608028654 // √(2/π)

func (g *Graph[T]) unary(op unaryKind, x *Tensor[T]) *Tensor[T] {
	switch op {
	case opGELU:
		return g.gelu(x)
	case opGELUErf:
		return g.geluErf(x)
	}
	out := g.newTensor(x.Shape()...)
	X, Y := x.Data, out.Data
	prun(len(Y), unaryMap[T]{X, Y, op})
	if n := g.record(out, ruleUnary, x); n != nil {
		n.ints[0] = int(op)
	}
	return out
}

// unaryMap applies op to elements [lo, hi) of X.
type unaryMap[T Float] struct {
	X, Y []T
	op   unaryKind
}

func (k *unaryMap[T]) Range(lo, hi int) {
	X, Y, op := k.X, k.Y, k.op
	switch op { // hot ops get their own loops
	case opReLU:
		if is32[T]() {
			lo += reluVec(as32(Y[lo:hi]), as32(X[lo:hi]))
		}
		for i, v := range X[lo:hi] {
			Y[lo+i] = max(v, 0)
		}
	case opExp:
		expSliceT(Y[lo:hi], X[lo:hi])
	default:
		for i := lo; i < hi; i++ {
			Y[i] = unaryF(op, X[i])
		}
	}
}

func unaryF[T Float](op unaryKind, x T) T {
	v := float64(x)
	switch op {
	case opExp:
		return expT(x)
	case opLog:
		return T(math.Log(v))
	case opTanh:
		return tanhT(x)
	case opReLU:
		if x > 0 {
			return x
		}
		return 0
	case opGELU:
		return 0.5 * x * (1 + tanhT(geluC*(x+0.044715*x*x*x)))
	case opSigmoid:
		return 1 / (1 + expT(-x))
	case opSqrt:
		return T(math.Sqrt(v))
	case opSquare:
		return x * x
	case opAbs:
		if x < 0 {
			return -x
		}
		return x
	case opGELUErf:
		return T(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
	}
	panic(fmt.Sprintf("autograd: unknown unary op %d", op))
}

// unaryD returns df/dx at x, given y = f(x).
func unaryD[T Float](op unaryKind, x, y T) T {
	switch op {
	case opExp:
		return y
	case opLog:
		return 1 / x
	case opTanh:
		return 1 - y*y
	case opReLU:
		if x > 0 {
			return 1
		}
		return 0
	case opGELU:
		th := tanhT(geluC * (x + 0.044715*x*x*x))
		return 0.5*(1+th) + 0.5*x*(1-th*th)*geluC*(1+3*0.044715*x*x)
	case opSigmoid:
		return y * (1 - y)
	case opSqrt:
		return 0.5 / y
	case opSquare:
		return 2 * x
	case opAbs:
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return 0
	case opGELUErf:
		v := float64(x)
		return T(0.5*(1+math.Erf(v/math.Sqrt2)) + v*math.Exp(-0.5*v*v)/math.Sqrt(2*math.Pi))
	}
	panic(fmt.Sprintf("autograd: unknown unary op %d", op))
}

func unaryBackward[T Float](g *Graph[T], n *node[T]) {
	op := unaryKind(n.ints[0])
	X, Y, dY := n.in[0].Data, n.out.Data, n.out.Grad
	dX, fresh := g.gradInto(n.in[0], n.out)
	prun(len(dY), unaryGrad[T]{X, Y, dY, dX, op, fresh})
}

// unaryGrad writes (fresh) or adds op's input gradient for elements [lo,
// hi).
type unaryGrad[T Float] struct {
	X, Y, dY, dX []T
	op           unaryKind
	fresh        bool
}

func (k *unaryGrad[T]) Range(lo, hi int) {
	X, Y, dY, dX, op, fresh := k.X, k.Y, k.dY, k.dX, k.op, k.fresh
	if fresh { // the first gradient to arrive: write, do not accumulate
		switch op {
		case opReLU:
			reluBackward(dX[lo:hi], dY[lo:hi], X[lo:hi], true)
		case opExp:
			for i := lo; i < hi; i++ {
				dX[i] = dY[i] * Y[i]
			}
		default:
			for i := lo; i < hi; i++ {
				dX[i] = dY[i] * unaryD(op, X[i], Y[i])
			}
		}
		return
	}
	switch op {
	case opReLU:
		reluBackward(dX[lo:hi], dY[lo:hi], X[lo:hi], false)
	case opExp:
		for i := lo; i < hi; i++ {
			dX[i] += dY[i] * Y[i]
		}
	default:
		for i := lo; i < hi; i++ {
			dX[i] += dY[i] * unaryD(op, X[i], Y[i])
		}
	}
}

// reluBackward writes (set) or adds dx[i] = dy[i] where x[i] > 0 and 0
// elsewhere. In float32 it selects with a bit mask instead of a branch,
// which half the elements of a typical input would mispredict.
func reluBackward[T Float](dx, dy, x []T, set bool) {
	if is32[T]() {
		reluBackward32(as32(dx), as32(dy), as32(x), set)
		return
	}
	for i, v := range x {
		d := dy[i]
		if !(v > 0) {
			d = 0
		}
		if set {
			dx[i] = d
		} else {
			dx[i] += d
		}
	}
}

func reluBackward32(dx, dy, x []float32, set bool) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	i := reluBackVec(dx, dy, x, !set)
	for ; i < len(x); i++ {
		// All ones when x's bits minus one, unsigned, are below those of
		// +Inf: 0 < x ≤ +Inf (zeros, negative numbers and NaNs give 0).
		m := uint32((int64(math.Float32bits(x[i])-1) - 0x7f800000) >> 63)
		d := math.Float32frombits(math.Float32bits(dy[i]) & m)
		if set {
			dx[i] = d
		} else {
			dx[i] += d
		}
	}
}

// isSuffix reports whether b's shape equals the trailing dimensions of a's
// (so b repeats over a's leading dimensions), with b smaller than a.
func isSuffix[T Float](b, a *Tensor[T]) bool {
	if b.Dims() > a.Dims() || b.Len() == 0 || b.Len() == a.Len() {
		return false
	}
	off := a.Dims() - b.Dims()
	for i := 0; i < b.Dims(); i++ {
		if b.Dim(i) != a.Dim(off+i) {
			return false
		}
	}
	return true
}

// gelu computes GELU keeping tanh(u) for the backward pass, so the
// derivative costs no second tanh.
func (g *Graph[T]) gelu(x *Tensor[T]) *Tensor[T] {
	out := g.newTensor(x.Shape()...)
	rec := g.needsGrad(x)
	var th []T
	if rec {
		th = g.bufNoZero(x.Len())
	}
	X, Y := x.Data, out.Data
	prun(len(Y), geluTanhMap[T]{X, Y, th})
	if n := g.record(out, ruleGelu, x); n != nil {
		n.aux[0] = th
	}
	return out
}

// geluTanhMap computes GELU (tanh form) of elements [lo, hi) of X, saving
// tanh u in th when th is not nil.
type geluTanhMap[T Float] struct {
	X, Y, th []T
}

func (k *geluTanhMap[T]) Range(lo, hi int) {
	X, Y, th := k.X, k.Y, k.th
	if is32[T]() {
		var t []float32
		if th != nil {
			t = as32(th[lo:hi])
		}
		lo += geluTanhVec(as32(Y[lo:hi]), t, as32(X[lo:hi]))
	}
	geluTanhRange(X, Y, th, lo, hi)
}

// geluTanhRange is geluTanhMap's Go path: the reference that geluTanhAVX2
// reproduces bit for bit, and its tail (fewer than 8 elements, where
// expSliceT takes exp32 as it does past the vector prefix of a whole
// chunk).
func geluTanhRange[T Float](X, Y, th []T, lo, hi int) {
	// 0.5·(1 + tanh u) = σ(2u) = 1/(1 + e^{−2u}): one exponential per
	// element, computed for the whole chunk at once.
	for i := lo; i < hi; i++ {
		v := X[i]
		Y[i] = -2 * geluC * (v + 0.044715*v*v*v)
	}
	expSliceT(Y[lo:hi], Y[lo:hi])
	for i := lo; i < hi; i++ {
		s := 1 / (1 + Y[i])
		Y[i] = X[i] * s
		if th != nil {
			th[i] = 2*s - 1 // tanh u, for the backward pass
		}
	}
}

func geluBackward[T Float](g *Graph[T], n *node[T]) {
	X, th, dY := n.in[0].Data, n.aux[0], n.out.Grad
	dX, fresh := g.gradInto(n.in[0], n.out)
	prun(len(dY), geluTanhGrad[T]{X, th, dY, dX, fresh})
}

// geluTanhGrad writes (fresh) or adds GELU's (tanh form) input gradient for
// elements [lo, hi).
type geluTanhGrad[T Float] struct {
	X, th, dY, dX []T
	fresh         bool
}

func (k *geluTanhGrad[T]) Range(lo, hi int) {
	X, th, dY, dX, fresh := k.X, k.th, k.dY, k.dX, k.fresh
	if is32[T]() {
		lo += geluTanhBackVec(as32(dX[lo:hi]), as32(dY[lo:hi]), as32(X[lo:hi]), as32(th[lo:hi]), !fresh)
	}
	geluTanhGradRange(X, th, dY, dX, fresh, lo, hi)
}

// geluTanhGradRange is geluTanhGrad's Go path, the reference of
// geluTanhBackAVX2 and its tail.
func geluTanhGradRange[T Float](X, th, dY, dX []T, fresh bool, lo, hi int) {
	for i := lo; i < hi; i++ {
		x, t := X[i], th[i]
		d := dY[i] * (0.5*(1+t) + 0.5*x*(1-t*t)*geluC*(1+3*0.044715*x*x))
		if fresh {
			dX[i] = d
		} else {
			dX[i] += d
		}
	}
}

// geluErf computes x·Φ(x) keeping Φ(x) for the backward pass, whose
// derivative Φ(x) + x·φ(x) then costs one exponential.
func (g *Graph[T]) geluErf(x *Tensor[T]) *Tensor[T] {
	out := g.newTensor(x.Shape()...)
	var cdf []T
	if g.needsGrad(x) {
		cdf = g.bufNoZero(x.Len())
	}
	X, Y := x.Data, out.Data
	prun(len(Y), geluErfMap[T]{X, Y, cdf})
	if n := g.record(out, ruleGeluErf, x); n != nil {
		n.aux[0] = cdf
	}
	return out
}

// geluErfMap computes x·Φ(x) for elements [lo, hi) of X, saving Φ(x) in cdf
// when cdf is not nil.
type geluErfMap[T Float] struct {
	X, Y, cdf []T
}

func (k *geluErfMap[T]) Range(lo, hi int) {
	X, Y, cdf := k.X, k.Y, k.cdf
	if is32[T]() {
		var c []float32
		if cdf != nil {
			c = as32(cdf[lo:hi])
		}
		lo += geluErfVec(as32(Y[lo:hi]), c, as32(X[lo:hi]))
	}
	for i := lo; i < hi; i++ {
		c := normCDF(X[i])
		Y[i] = X[i] * c
		if cdf != nil {
			cdf[i] = c
		}
	}
}

func geluErfBackward[T Float](g *Graph[T], n *node[T]) {
	X, cdf, dY := n.in[0].Data, n.aux[0], n.out.Grad
	dX, fresh := g.gradInto(n.in[0], n.out)
	prun(len(dY), geluErfGrad[T]{X, cdf, dY, dX, fresh})
}

// geluErfGrad writes (fresh) or adds x·Φ(x)'s input gradient for elements
// [lo, hi).
type geluErfGrad[T Float] struct {
	X, cdf, dY, dX []T
	fresh          bool
}

func (k *geluErfGrad[T]) Range(lo, hi int) {
	X, cdf, dY, dX, fresh := k.X, k.cdf, k.dY, k.dX, k.fresh
	if is32[T]() {
		// The vector prefix, a multiple of 8, is the whole 256-element
		// blocks of geluErfGradRange and the vector prefix of its last
		// one, exactly the elements whose exponential it takes from
		// expAVX2; the rest (fewer than 8) goes, as there, through exp32.
		lo += geluErfBackVec(as32(dX[lo:hi]), as32(dY[lo:hi]), as32(X[lo:hi]), as32(cdf[lo:hi]), !fresh)
	}
	geluErfGradRange(X, cdf, dY, dX, fresh, lo, hi)
}

// geluErfGradRange is geluErfGrad's Go path, the reference of
// geluErfBackAVX2 and its tail.
func geluErfGradRange[T Float](X, cdf, dY, dX []T, fresh bool, lo, hi int) {
	const invSqrt2Pi = 0.3989422804014327 // 1/√(2π)
	// φ(x) = e^{−x²/2}/√(2π), the exponentials a block at a time.
	var tmp [256]T
	for b := lo; b < hi; b += len(tmp) {
		t := tmp[:min(len(tmp), hi-b)]
		x := X[b : b+len(t)]
		for i, v := range x {
			t[i] = -0.5 * v * v
		}
		expSliceT(t, t)
		c, dy, dx := cdf[b:b+len(t)], dY[b:b+len(t)], dX[b:b+len(t)]
		for i, v := range x {
			d := dy[i] * (c[i] + v*t[i]*invSqrt2Pi)
			if fresh {
				dx[i] = d
			} else {
				dx[i] += d
			}
		}
	}
}
