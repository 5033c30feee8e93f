package autograd

import (
	"fmt"
	"math"
)

// Attention is fused multi-head scaled dot-product self-attention.
//
// qkv is [B, T, 3·C]: queries, keys and values side by side, as GPT-2's
// c_attn produces them; head h uses columns h·C/heads … (h+1)·C/heads of
// each. The result is [B, T, C] with the heads concatenated:
//
//	out_h = softmax(Q_h·K_hᵀ/√d + mask) · V_h,   d = C/heads.
//
// With causal, position i attends to positions ≤ i. keep, when not nil, has
// B·T entries and masks out keys whose entry is false (padding); every query
// row must keep at least one key. keep must stay unchanged until Backward
// has run. Only the attention probabilities are saved for the backward pass.
func (g *Graph[T]) Attention(qkv *Tensor[T], heads int, causal bool, keep []bool) *Tensor[T] {
	if qkv.Dims() != 3 || heads < 1 || qkv.Dim(2)%(3*heads) != 0 {
		panic(fmt.Sprintf("autograd: Attention(heads=%d): qkv shape %v is not [B, T, 3·C] with C divisible by heads", heads, qkv.Shape()))
	}
	B, Tn, C3 := qkv.Dim(0), qkv.Dim(1), qkv.Dim(2)
	C := C3 / 3
	if keep != nil && len(keep) != B*Tn {
		panic(fmt.Sprintf("autograd: Attention: key mask of length %d for qkv %v", len(keep), qkv.Shape()))
	}
	hd := C / heads
	scale := 1 / math.Sqrt(float64(hd))
	probs := g.bufNoZero(B * heads * Tn * Tn) // [B, H, T, T]
	out := g.newTensor(B, Tn, C)
	X := qkv.Data
	for b := 0; b < B; b++ {
		base := X[b*Tn*C3:]
		P := probs[b*heads*Tn*Tn:]
		// S_h = Q_h·K_hᵀ·scale for all heads of this batch element.
		headsGemm(false, true, Tn, Tn, hd, T(scale), base, C3, hd, base[C:], C3, hd, 0, P, Tn, Tn*Tn, heads)
		var km []bool
		if keep != nil {
			km = keep[b*Tn : (b+1)*Tn]
		}
		pfor2(heads*Tn, Tn, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				maskedSoftmax(P[r*Tn:(r+1)*Tn], r%Tn, causal, km)
			}
		})
		headsGemm(false, false, Tn, hd, Tn, 1, P, Tn, Tn*Tn, base[2*C:], C3, hd, 0, out.Data[b*Tn*C:], C, hd, heads)
	}
	if n := g.record(out, attentionBackward[T], qkv); n != nil {
		n.aux[0] = probs
		n.ints[0], n.ints[1] = heads, boolInt(causal)
		n.mask = keep
	}
	return out
}

// maskedSoftmax replaces row (the scores of query i) by its softmax over the
// keys that are visible: j ≤ i when causal, and keep[j] when keep is given.
func maskedSoftmax[T Float](row []T, i int, causal bool, keep []bool) {
	n := len(row)
	if causal {
		n = i + 1
	}
	mx := T(math.Inf(-1))
	for j := 0; j < n; j++ {
		if (keep == nil || keep[j]) && row[j] > mx {
			mx = row[j]
		}
	}
	vis := row[:n]
	for j := range vis {
		vis[j] -= mx
	}
	expSliceT(vis, vis)
	var s float64
	for j := range vis {
		if keep != nil && !keep[j] {
			vis[j] = 0
		}
		s += float64(vis[j])
	}
	inv := T(1 / s)
	for j := range vis {
		vis[j] *= inv
	}
	clear(row[n:])
}

func attentionBackward[T Float](g *Graph[T], n *node[T]) {
	qkv, out := n.in[0], n.out
	heads := n.ints[0]
	B, Tn, C3 := qkv.Dim(0), qkv.Dim(1), qkv.Dim(2)
	C := C3 / 3
	hd := C / heads
	scale := T(1 / math.Sqrt(float64(hd)))
	probs, dOut, X, dX := n.aux[0], out.Grad, qkv.Data, g.grad(qkv)
	dP := g.bufNoZero(heads * Tn * Tn)
	for b := 0; b < B; b++ {
		base, dbase := X[b*Tn*C3:], dX[b*Tn*C3:]
		P := probs[b*heads*Tn*Tn:]
		dO := dOut[b*Tn*C:]
		// dV_h += P_hᵀ·dO_h
		headsGemm(true, false, Tn, hd, Tn, 1, P, Tn, Tn*Tn, dO, C, hd, 1, dbase[2*C:], C3, hd, heads)
		// dP_h = dO_h·V_hᵀ
		headsGemm(false, true, Tn, Tn, hd, 1, dO, C, hd, base[2*C:], C3, hd, 0, dP, Tn, Tn*Tn, heads)
		// dS = P ⊙ (dP − Σ_j P·dP), times the score scale.
		pfor2(heads*Tn, Tn, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				pr, dr := P[r*Tn:(r+1)*Tn], dP[r*Tn:(r+1)*Tn]
				var s float64
				for j := range pr {
					s += float64(pr[j]) * float64(dr[j])
				}
				for j := range pr {
					dr[j] = pr[j] * (dr[j] - T(s)) * scale
				}
			}
		})
		// dQ_h += dS_h·K_h ; dK_h += dS_hᵀ·Q_h
		headsGemm(false, false, Tn, hd, Tn, 1, dP, Tn, Tn*Tn, base[C:], C3, hd, 1, dbase, C3, hd, heads)
		headsGemm(true, false, Tn, hd, Tn, 1, dP, Tn, Tn*Tn, base, C3, hd, 1, dbase[C:], C3, hd, heads)
	}
}

// headsGemm runs one product per head. The heads' matrices interleave as
// column blocks of shared rows (stride hd, row stride 3·C or C), which a
// batched GEMM's contiguous-batch contract does not cover, so each head is
// its own call.
func headsGemm[T Float](ta, tb bool, m, n, k int, alpha T, a []T, lda, sa int, b []T, ldb, sb int, beta T, c []T, ldc, sc int, heads int) {
	for h := 0; h < heads; h++ {
		mm(ta, tb, m, n, k, alpha, a[h*sa:], lda, b[h*sb:], ldb, beta, c[h*sc:], ldc)
	}
}
