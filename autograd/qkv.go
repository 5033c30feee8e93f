package autograd

import "fmt"

// LinearQKV returns the three projections x·W_j + bias_j (j = query, key,
// value) of x [..., in] side by side, [..., 3·out]: the qkv layout that
// Attention takes. Each projection is computed as Linear computes it (one
// matrix product with the bias fused, see mmBias) directly into its column
// block of the result, so the result is bit-identical to three Linear ops
// and two Concats, without the concatenation copies, and the backward pass
// reads each block of the result's gradient in place (strided) instead of
// splitting it into three buffers.
//
// The weights keep their own storage and layout (transW as in Linear: true
// for PyTorch's [out, in]), so separately named parameters (BERT's query,
// key and value) need not be adjacent. bias_j may be nil. Gradients reach
// x in the order value, key, query, as from three Linear ops recorded in
// the order query, key, value.
func (g *Graph[T]) LinearQKV(x *Tensor[T], w, bias [3]*Tensor[T], transW bool) *Tensor[T] {
	in, out := w[0].Dim(0), w[0].Dim(1)
	if transW {
		in, out = out, in
	}
	for j := range w {
		wi, wo := w[j].Dim(0), w[j].Dim(1)
		if transW {
			wi, wo = wo, wi
		}
		b := bias[j]
		if w[j].Dims() != 2 || wi != in || wo != out || x.Dim(-1) != in || (b != nil && (b.Dims() != 1 || b.Dim(0) != out)) {
			bs := []int(nil)
			if b != nil {
				bs = b.Shape()
			}
			panic(fmt.Sprintf("autograd: LinearQKV(transW=%v): x %v, weight %d %v, bias %v do not fit", transW, x.Shape(), j, w[j].Shape(), bs))
		}
	}
	rows, ld := x.Len()/in, 3*out
	sh, nd := shapeOf(x)
	sh[nd-1] = ld
	y := g.newTensor(sh[:nd]...)
	for j := range w {
		if bias[j] != nil {
			mmBias(false, transW, rows, out, in, 1, x.Data, in, w[j].Data, w[j].Dim(1), bias[j].Data, y.Data[j*out:], ld)
		} else {
			mm(false, transW, rows, out, in, 1, x.Data, in, w[j].Data, w[j].Dim(1), 0, y.Data[j*out:], ld)
		}
	}
	// One node per projection, all with output y: Backward runs them in
	// reverse (value, key, query), each on its column block of y's gradient.
	for j := range w {
		if n := g.record(y, ruleLinearCols, x, w[j], bias[j]); n != nil {
			n.ints[0], n.ints[1], n.ints[2], n.ints[3] = rows, in, out, boolInt(transW)
			n.ints[4], n.ints[5] = j*out, ld
		}
	}
	return y
}

// linearColsBackward is Linear's backward rule for a projection whose
// output is the column block [col, col+out) of rows of length ld.
func linearColsBackward[T Float](g *Graph[T], nd *node[T]) {
	x, w, b, y := nd.in[0], nd.in[1], nd.in[2], nd.out
	rows, in, out, transW := nd.ints[0], nd.ints[1], nd.ints[2], nd.ints[3] == 1
	col, ld := nd.ints[4], nd.ints[5]
	dY := y.Grad[col:]
	if nd.wants(0) {
		// dX = dY·op(W)ᵀ, written when it is the first gradient to reach x
		dX, fresh := g.gradFresh(x)
		var beta T = 1
		if fresh {
			beta = 0
		}
		mm(false, !transW, rows, in, out, 1, dY, ld, w.Data, w.Dim(1), beta, dX, in)
	}
	if nd.wants(1) {
		if !transW { // dW[in,out] += Xᵀ·dY
			mm(true, false, in, out, rows, 1, x.Data, in, dY, ld, 1, g.grad(w), out)
		} else { // dW[out,in] += dYᵀ·X
			mm(true, false, out, in, rows, 1, dY, ld, x.Data, in, 1, g.grad(w), in)
		}
	}
	if nd.wants(2) {
		db := g.grad(b)
		// Column sums in row order, as sumRows, over the strided block.
		prun2(out, rows, sumCols[T]{db, dY, rows, ld})
	}
}
