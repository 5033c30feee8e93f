package autograd

import (
	"fmt"
	"slices"

	"github.com/tramlab/tram/tensor"
)

// Reshape returns x with a new shape of the same number of elements. One
// dimension may be -1 and is then inferred. The data is copied, so the
// result can be used independently.
func (g *Graph[T]) Reshape(x *Tensor[T], shape ...int) *Tensor[T] {
	var sh [tensor.MaxDims]int
	nd := copy(sh[:], shape)
	infer, known := -1, 1
	for i, d := range sh[:nd] {
		if d == -1 {
			if infer >= 0 {
				panic(fmt.Sprintf("autograd: Reshape %v → %v: more than one -1", x.Shape(), slices.Clone(shape)))
			}
			infer = i
		} else {
			known *= d
		}
	}
	if infer >= 0 && known > 0 {
		sh[infer] = x.Len() / known
		known *= sh[infer]
	}
	if known != x.Len() {
		panic(fmt.Sprintf("autograd: Reshape: shapes %v and %v differ in size", x.Shape(), slices.Clone(shape)))
	}
	out := g.newTensor(sh[:nd]...)
	copy(out.Data, x.Data)
	g.record(out, ruleReshape, x)
	return out
}

func reshapeBackward[T Float](g *Graph[T], n *node[T]) {
	dX, fresh := g.gradInto(n.in[0], n.out)
	if fresh {
		if &dX[0] != &n.out.Grad[0] {
			copy(dX, n.out.Grad)
		}
		return
	}
	addTo(dX, n.out.Grad)
}

// Permute reorders x's dimensions: output dimension i is input dimension
// perm[i].
func (g *Graph[T]) Permute(x *Tensor[T], perm ...int) *Tensor[T] {
	nd := x.Dims()
	if len(perm) != nd {
		panic(fmt.Sprintf("autograd: Permute: perm %v for shape %v", slices.Clone(perm), x.Shape()))
	}
	var sh [tensor.MaxDims]int
	seen := 0
	for i, p := range perm {
		if p < 0 || p >= nd || seen&(1<<p) != 0 {
			panic(fmt.Sprintf("autograd: Permute: %v is not a permutation of the dimensions of %v", slices.Clone(perm), x.Shape()))
		}
		seen |= 1 << p
		sh[i] = x.Dim(p)
	}
	out := g.newTensor(sh[:nd]...)
	permuteCopy(out.Data, x.Data, x.Shape(), perm, false)
	if n := g.record(out, rulePermute, x); n != nil {
		copy(n.ints[:], perm)
	}
	return out
}

// Transpose swaps the last two dimensions of x.
func (g *Graph[T]) Transpose(x *Tensor[T]) *Tensor[T] {
	var p [tensor.MaxDims]int
	nd := x.Dims()
	for i := range nd {
		p[i] = i
	}
	p[nd-2], p[nd-1] = nd-1, nd-2
	return g.Permute(x, p[:nd]...)
}

// permuteCopy writes the permutation of src (shape inShape) into dst; with
// add, it adds dst's elements back into src's layout instead (the adjoint):
// src[in] += dst[out].
func permuteCopy[T Float](dst, src []T, inShape []int, perm []int, add bool) {
	nd := len(inShape)
	var inStride [tensor.MaxDims]int
	s := 1
	for i := nd - 1; i >= 0; i-- {
		inStride[i] = s
		s *= inShape[i]
	}
	var oshape, ostr [tensor.MaxDims]int
	for i, p := range perm {
		oshape[i] = inShape[p]
		ostr[i] = inStride[p]
	}
	var idx [tensor.MaxDims]int
	off := 0
	for o := range dst {
		if add {
			src[off] += dst[o]
		} else {
			dst[o] = src[off]
		}
		for d := nd - 1; d >= 0; d-- {
			idx[d]++
			off += ostr[d]
			if idx[d] < oshape[d] {
				break
			}
			off -= ostr[d] * oshape[d]
			idx[d] = 0
		}
	}
}

func permuteBackward[T Float](g *Graph[T], n *node[T]) {
	x := n.in[0]
	permuteCopy(n.out.Grad, g.grad(x), x.Shape(), n.ints[:x.Dims()], true)
}

// Slice returns x restricted to indices [lo, hi) along dimension dim.
func (g *Graph[T]) Slice(x *Tensor[T], dim, lo, hi int) *Tensor[T] {
	if dim < 0 {
		dim += x.Dims()
	}
	if dim < 0 || dim >= x.Dims() || lo < 0 || hi > x.Dim(dim) || lo > hi {
		panic(fmt.Sprintf("autograd: Slice(dim=%d, %d:%d) out of range for shape %v", dim, lo, hi, x.Shape()))
	}
	sh, nd := shapeOf(x)
	sh[dim] = hi - lo
	out := g.newTensor(sh[:nd]...)
	outer, inner := splitAt(x.Shape(), dim)
	w := (hi - lo) * inner
	for o := 0; o < outer; o++ {
		copy(out.Data[o*w:(o+1)*w], x.Data[(o*x.Dim(dim)+lo)*inner:])
	}
	if n := g.record(out, ruleSlice, x); n != nil {
		n.ints[0], n.ints[1], n.ints[2] = dim, lo, hi
	}
	return out
}

func sliceBackward[T Float](g *Graph[T], n *node[T]) {
	x := n.in[0]
	dim, lo, hi := n.ints[0], n.ints[1], n.ints[2]
	outer, inner := splitAt(x.Shape(), dim)
	dX, dY := g.grad(x), n.out.Grad
	w := (hi - lo) * inner
	for o := 0; o < outer; o++ {
		dst := dX[(o*x.Dim(dim)+lo)*inner:]
		for i, d := range dY[o*w : (o+1)*w] {
			dst[i] += d
		}
	}
}

// splitAt returns the product of the dimensions before dim and after dim.
func splitAt(shape []int, dim int) (outer, inner int) {
	outer, inner = 1, 1
	for i, d := range shape {
		if i < dim {
			outer *= d
		} else if i > dim {
			inner *= d
		}
	}
	return
}

// Concat joins a and b along dimension dim; all other dimensions must match.
func (g *Graph[T]) Concat(a, b *Tensor[T], dim int) *Tensor[T] {
	if dim < 0 {
		dim += a.Dims()
	}
	ok := a.Dims() == b.Dims() && dim >= 0 && dim < a.Dims()
	for i := 0; ok && i < a.Dims(); i++ {
		ok = i == dim || a.Dim(i) == b.Dim(i)
	}
	if !ok {
		panic(shapeErr(fmt.Sprintf("Concat(dim=%d)", dim), a.Shape(), b.Shape()))
	}
	sh, nd := shapeOf(a)
	sh[dim] += b.Dim(dim)
	out := g.newTensor(sh[:nd]...)
	outer, inner := splitAt(a.Shape(), dim)
	wa, wb := a.Dim(dim)*inner, b.Dim(dim)*inner
	prun2(outer, wa+wb, concatRows[T]{out.Data, a.Data, b.Data, wa, wb})
	if n := g.record(out, ruleConcat, a, b); n != nil {
		n.ints[0], n.ints[1], n.ints[2] = outer, wa, wb
	}
	return out
}

func concatBackward[T Float](g *Graph[T], n *node[T]) {
	outer, wa, wb := n.ints[0], n.ints[1], n.ints[2]
	dY := n.out.Grad
	// A fresh gradient buffer (the first gradient to reach the input) is
	// written, not accumulated. a and b may be one tensor; its first half
	// is then handled first.
	if n.wants(0) {
		dA, fresh := g.gradFresh(n.in[0])
		prun2(outer, wa, concatGrad[T]{dA, dY, 0, wa, wa + wb, fresh})
	}
	if n.wants(1) {
		dB, fresh := g.gradFresh(n.in[1])
		prun2(outer, wb, concatGrad[T]{dB, dY, wa, wb, wa + wb, fresh})
	}
}

// concatRows writes rows [lo, hi) of out, each a row of a (wa elements)
// followed by a row of b (wb elements).
type concatRows[T Float] struct {
	out, a, b []T
	wa, wb    int
}

func (k *concatRows[T]) Range(lo, hi int) {
	wa, wb := k.wa, k.wb
	for o := lo; o < hi; o++ {
		copy(k.out[o*(wa+wb):], k.a[o*wa:(o+1)*wa])
		copy(k.out[o*(wa+wb)+wa:], k.b[o*wb:(o+1)*wb])
	}
}

// concatGrad writes (fresh) or adds into rows [lo, hi) of dst (w elements
// each) the columns [off, off+w) of the rows of dY (ld elements each).
type concatGrad[T Float] struct {
	dst, dY    []T
	off, w, ld int
	fresh      bool
}

func (k *concatGrad[T]) Range(lo, hi int) {
	for o := lo; o < hi; o++ {
		src, dst := k.dY[o*k.ld+k.off:o*k.ld+k.off+k.w], k.dst[o*k.w:(o+1)*k.w]
		if k.fresh {
			copy(dst, src)
		} else {
			addTo(dst, src)
		}
	}
}

// Embedding gathers rows of table [V, D] for the given ids, returning
// [len(ids), D] reshaped to shape (whose product must be len(ids)·D; nil
// means [len(ids), D]). The backward pass scatter-adds into the table's
// gradient. ids must stay unchanged until Backward has run.
func (g *Graph[T]) Embedding(table *Tensor[T], ids []int32, shape ...int) *Tensor[T] {
	if table.Dims() != 2 {
		panic(fmt.Sprintf("autograd: Embedding: table shape %v is not [vocab, dim]", table.Shape()))
	}
	V, D := table.Dim(0), table.Dim(1)
	var out *Tensor[T]
	if len(shape) == 0 {
		out = g.newTensor(len(ids), D)
	} else {
		out = g.newTensor(shape...)
		if out.Len() != len(ids)*D {
			panic(fmt.Sprintf("autograd: Embedding: %d ids × dim %d do not fill shape %v", len(ids), D, slices.Clone(shape)))
		}
	}
	for i, id := range ids {
		if id < 0 || int(id) >= V {
			panic(fmt.Sprintf("autograd: Embedding: id %d at position %d out of range [0, %d)", id, i, V))
		}
		copy(out.Data[i*D:(i+1)*D], table.Data[int(id)*D:])
	}
	if n := g.record(out, ruleEmbedding, table); n != nil {
		n.idx = ids
	}
	return out
}

func embeddingBackward[T Float](g *Graph[T], n *node[T]) {
	table := n.in[0]
	D := table.Dim(1)
	dT, dY := g.grad(table), n.out.Grad
	for i, id := range n.idx {
		row := dT[int(id)*D : int(id+1)*D]
		for j, d := range dY[i*D : (i+1)*D] {
			row[j] += d
		}
	}
}
