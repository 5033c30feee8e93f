package autograd

import "fmt"

// MatMul returns op(a)·op(b), op(x) = x or xᵀ of its last two dimensions.
//
// Shapes: a is [..., m, k] (or [..., k, m] with transA), b is [..., k, n]
// (or [..., n, k] with transB). Leading (batch) dimensions must match, or b
// may be 2-D and is then shared by every batch element. The result is
// [..., m, n].
func (g *Graph[T]) MatMul(a, b *Tensor[T], transA, transB bool) *Tensor[T] {
	if a.Dims() < 2 || b.Dims() < 2 {
		panic(shapeErr("MatMul (need ≥2 dims)", a.Shape(), b.Shape()))
	}
	m, k := a.Dim(-2), a.Dim(-1)
	if transA {
		m, k = k, m
	}
	k2, n := b.Dim(-2), b.Dim(-1)
	if transB {
		k2, n = n, k2
	}
	batch := a.Len() / max(1, a.Dim(-1)*a.Dim(-2))
	bBatch := b.Len() / max(1, b.Dim(-1)*b.Dim(-2))
	if k != k2 || (b.Dims() > 2 && (b.Dims() != a.Dims() || !sameDims(a.Shape()[:a.Dims()-2], b.Shape()[:b.Dims()-2]))) {
		panic(shapeErr(fmt.Sprintf("MatMul(transA=%v, transB=%v)", transA, transB), a.Shape(), b.Shape()))
	}
	sh, nd := shapeOf(a)
	sh[nd-2], sh[nd-1] = m, n
	out := g.newTensor(sh[:nd]...)
	sb := k * n
	if bBatch == 1 && b.Dims() == 2 {
		sb = 0
	}
	gemmBatched(transA, transB, m, n, k, 1, a.Data, a.Dim(-1), m*k, b.Data, b.Dim(-1), sb, 0, out.Data, n, m*n, batch)
	if rec := g.record(out, ruleMatMul, a, b); rec != nil {
		rec.ints = [8]int{m, n, k, batch, boolInt(transA), boolInt(transB), sb}
	}
	return out
}

func matmulBackward[T Float](g *Graph[T], nd *node[T]) {
	a, b, out := nd.in[0], nd.in[1], nd.out
	m, n, k, batch := nd.ints[0], nd.ints[1], nd.ints[2], nd.ints[3]
	ta, tb, sb := nd.ints[4] == 1, nd.ints[5] == 1, nd.ints[6]
	dC := out.Grad
	lda, ldb := a.Dim(-1), b.Dim(-1)
	if nd.wants(0) {
		dA, fresh := g.gradFresh(a)
		var beta T = 1
		if fresh {
			beta = 0 // the first gradient to reach a: written, not accumulated
		}
		// C = A·B: dA = dC·Bᵀ ; with A stored transposed (k×m): dAᵀ = B·dCᵀ.
		if !ta {
			gemmBatched(false, !tb, m, k, n, 1, dC, n, m*n, b.Data, ldb, sb, beta, dA, lda, m*k, batch)
		} else {
			gemmBatched(tb, true, k, m, n, 1, b.Data, ldb, sb, dC, n, m*n, beta, dA, lda, m*k, batch)
		}
	}
	if nd.wants(1) {
		dB := g.grad(b)
		// dB = op(A)ᵀ·dC ; with B stored transposed (n×k): dBᵀ = dCᵀ·op(A).
		if sb == 0 {
			// Shared B: sum over the batch by treating the batch as extra rows
			// when A is not transposed (rows of all batch elements are contiguous).
			if !ta {
				if !tb {
					mm(true, false, k, n, batch*m, 1, a.Data, lda, dC, n, 1, dB, ldb)
				} else {
					mm(true, false, n, k, batch*m, 1, dC, n, a.Data, lda, 1, dB, ldb)
				}
				return
			}
			for i := 0; i < batch; i++ {
				ai, ci := a.Data[i*m*k:], dC[i*m*n:]
				if !tb {
					mm(false, false, k, n, m, 1, ai, lda, ci, n, 1, dB, ldb)
				} else {
					mm(true, true, n, k, m, 1, ci, n, ai, lda, 1, dB, ldb)
				}
			}
			return
		}
		if !tb {
			gemmBatched(!ta, false, k, n, m, 1, a.Data, lda, m*k, dC, n, m*n, 1, dB, ldb, k*n, batch)
		} else {
			gemmBatched(true, ta, n, k, m, 1, dC, n, m*n, a.Data, lda, m*k, 1, dB, ldb, k*n, batch)
		}
	}
}

// Linear returns x·W + bias for x of shape [..., in].
//
// With transW false, W is stored [in, out] (GPT-2's Conv1D layout); with
// transW true it is stored [out, in] (PyTorch's nn.Linear layout) and used
// transposed. bias, of shape [out], may be nil. The bias add is fused into
// the matrix product.
func (g *Graph[T]) Linear(x, w, bias *Tensor[T], transW bool) *Tensor[T] {
	in, out := w.Dim(0), w.Dim(1)
	if transW {
		in, out = out, in
	}
	if w.Dims() != 2 || x.Dim(-1) != in || (bias != nil && (bias.Dims() != 1 || bias.Dim(0) != out)) {
		bs := []int(nil)
		if bias != nil {
			bs = bias.Shape()
		}
		panic(fmt.Sprintf("autograd: Linear(transW=%v): x %v, weight %v, bias %v do not fit", transW, x.Shape(), w.Shape(), bs))
	}
	rows := x.Len() / in
	sh, nd := shapeOf(x)
	sh[nd-1] = out
	y := g.newTensor(sh[:nd]...)
	if bias != nil {
		mmBias(false, transW, rows, out, in, 1, x.Data, in, w.Data, w.Dim(1), bias.Data, y.Data, out)
	} else {
		mm(false, transW, rows, out, in, 1, x.Data, in, w.Data, w.Dim(1), 0, y.Data, out)
	}
	if n := g.record(y, ruleLinear, x, w, bias); n != nil {
		n.ints[0], n.ints[1], n.ints[2], n.ints[3] = rows, in, out, boolInt(transW)
	}
	return y
}

func linearBackward[T Float](g *Graph[T], nd *node[T]) {
	x, w, b, y := nd.in[0], nd.in[1], nd.in[2], nd.out
	rows, in, out, transW := nd.ints[0], nd.ints[1], nd.ints[2], nd.ints[3] == 1
	dY := y.Grad
	if nd.wants(0) {
		// dX = dY·op(W)ᵀ, written when it is the first gradient to reach x
		dX, fresh := g.gradFresh(x)
		var beta T = 1
		if fresh {
			beta = 0
		}
		mm(false, !transW, rows, in, out, 1, dY, out, w.Data, w.Dim(1), beta, dX, in)
	}
	if nd.wants(1) {
		if !transW { // dW[in,out] += Xᵀ·dY
			mm(true, false, in, out, rows, 1, x.Data, in, dY, out, 1, g.grad(w), out)
		} else { // dW[out,in] += dYᵀ·X
			mm(true, false, out, in, rows, 1, dY, out, x.Data, in, 1, g.grad(w), in)
		}
	}
	if nd.wants(2) {
		db := g.grad(b)
		sumRows(db, dY, rows, out)
	}
}

// sumRows adds the column sums of the rows×cols matrix x into dst, in
// parallel over columns (deterministic: each column sums in row order).
func sumRows[T Float](dst, x []T, rows, cols int) {
	prun2(cols, rows, sumCols[T]{dst, x, rows, cols})
}

// sumCols adds columns [lo, hi) of x (rows of stride ld) summed in row order
// into dst.
type sumCols[T Float] struct {
	dst, x   []T
	rows, ld int
}

func (k *sumCols[T]) Range(lo, hi int) {
	dst, x, ld := k.dst, k.x, k.ld
	for r := 0; r < k.rows; r++ {
		row := x[r*ld:]
		j := lo
		if is32[T]() { // eight columns at a time, each still summed in row order
			j += addVec(as32(dst[lo:hi]), as32(row[lo:hi]))
		}
		for ; j < hi; j++ {
			dst[j] += row[j]
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sameDims(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
