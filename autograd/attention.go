package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tramlab/tram/internal/parallel"
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
	return g.AttentionDropout(qkv, heads, causal, keep, 0, nil)
}

// AttentionDropout is Attention with inverted dropout on the attention
// probabilities, as Hugging Face's GPT-2 (attn_pdrop) and BERT
// (attention_probs_dropout_prob) apply it:
//
//	out_h = (softmax(Q_h·K_hᵀ/√d + mask) ⊙ M_h) · V_h,
//
// where each entry of M is 0 with probability p and 1/(1−p) otherwise. The
// mask is drawn from rng before any computation, one rng.Float64() < p
// test per (batch, head, query i, key j) in that row-major order, over the
// keys j a query can see by position (j ≤ i when causal, every j otherwise;
// padded keys are drawn too, their probability is 0 either way). The same
// rng state therefore gives the same mask at any thread count. Call it only
// in training mode. p = 0 is exactly Attention: no mask is drawn or stored
// and rng is not used; otherwise the mask is saved for the backward pass
// next to the probabilities.
func (g *Graph[T]) AttentionDropout(qkv *Tensor[T], heads int, causal bool, keep []bool, p float64, rng *rand.Rand) *Tensor[T] {
	if qkv.Dims() != 3 || heads < 1 || qkv.Dim(2)%(3*heads) != 0 {
		panic(fmt.Sprintf("autograd: Attention(heads=%d): qkv shape %v is not [B, T, 3·C] with C divisible by heads", heads, qkv.Shape()))
	}
	if !(p >= 0 && p < 1) || (p > 0 && rng == nil) {
		panic(fmt.Sprintf("autograd: Attention: dropout probability %v outside [0, 1) or without a random source", p))
	}
	B, Tn, C3 := qkv.Dim(0), qkv.Dim(1), qkv.Dim(2)
	C := C3 / 3
	if keep != nil && len(keep) != B*Tn {
		panic(fmt.Sprintf("autograd: Attention: key mask of length %d for qkv %v", len(keep), qkv.Shape()))
	}
	hd := C / heads
	scale := 1 / math.Sqrt(float64(hd))
	probs := g.bufNoZero(B * heads * Tn * Tn) // [B, H, T, T]
	var mask []T
	if p > 0 {
		mask = g.bufNoZero(len(probs))
		attentionMask(mask, Tn, causal, p, rng)
	}
	out := g.newTensor(B, Tn, C)
	X := qkv.Data
	// Batch elements are independent: chunks of them run in parallel, each
	// element's products on one thread (they are small), so the result does
	// not depend on the thread count. Under dropout each chunk needs P ⊙ M
	// of one element as scratch.
	chunks := max(1, min(parallel.Threads(), B))
	var ws []T
	if mask != nil {
		ws = g.workspace(chunks * heads * Tn * Tn)
	}
	parallel.Run(chunks, 1, attentionChunks[T]{X, probs, mask, ws, out, keep, B, Tn, C3, C, heads, hd, chunks, scale, causal})
	if n := g.record(out, ruleAttention, qkv); n != nil {
		n.aux[0], n.aux[1] = probs, mask
		n.ints[0], n.ints[1] = heads, boolInt(causal)
		n.mask = keep
	}
	return out
}

// attentionChunks computes the attention of the batch elements of chunks
// [lo, hi) (chunks of the batch's B elements), with P ⊙ M of one element
// under dropout in each chunk's part of ws.
type attentionChunks[T Float] struct {
	X, probs, mask, ws              []T
	out                             *Tensor[T]
	keep                            []bool
	B, Tn, C3, C, heads, hd, chunks int
	scale                           float64
	causal                          bool
}

func (k *attentionChunks[T]) Range(lo, hi int) {
	X, probs, mask, ws, out, keep, B, Tn, C3, C, heads, hd, chunks, scale, causal := k.X, k.probs, k.mask, k.ws, k.out, k.keep, k.B, k.Tn, k.C3, k.C, k.heads, k.hd, k.chunks, k.scale, k.causal
	for ch := lo; ch < hi; ch++ {
		for b := ch * B / chunks; b < (ch+1)*B/chunks; b++ {
			base := X[b*Tn*C3:]
			P := probs[b*heads*Tn*Tn : (b+1)*heads*Tn*Tn]
			// S_h = Q_h·K_hᵀ·scale for all heads of this batch element.
			headsGemm(false, true, Tn, Tn, hd, T(scale), base, C3, hd, base[C:], C3, hd, 0, P, Tn, Tn*Tn, heads)
			var km []bool
			if keep != nil {
				km = keep[b*Tn : (b+1)*Tn]
			}
			A := P // what multiplies V
			for r := 0; r < heads*Tn; r++ {
				maskedSoftmax(P[r*Tn:(r+1)*Tn], r%Tn, causal, km)
			}
			if mask != nil {
				M := mask[b*heads*Tn*Tn:]
				A = ws[ch*heads*Tn*Tn : (ch+1)*heads*Tn*Tn]
				for r := 0; r < heads*Tn; r++ {
					dropRow(A[r*Tn:(r+1)*Tn], P[r*Tn:(r+1)*Tn], M[r*Tn:(r+1)*Tn])
				}
			}
			headsGemm(false, false, Tn, hd, Tn, 1, A, Tn, Tn*Tn, base[2*C:], C3, hd, 0, out.Data[b*Tn*C:], C, hd, heads)
		}
	}
}

// attentionMask fills mask ([B, H, T, T] rows of length T) with inverted
// dropout factors, drawing in row-major order over the keys each query can
// see by position; entries past a causal row's end are 0.
func attentionMask[T Float](mask []T, Tn int, causal bool, p float64, rng *rand.Rand) {
	kept := T(1 / (1 - p))
	for r := 0; r < len(mask)/Tn; r++ {
		row := mask[r*Tn : (r+1)*Tn]
		n := Tn
		if causal {
			n = r%Tn + 1
		}
		for j := range row[:n] {
			if rng.Float64() < p {
				row[j] = 0
			} else {
				row[j] = kept
			}
		}
		clear(row[n:])
	}
}

// dropRow writes dst = p ⊙ m.
func dropRow[T Float](dst, p, m []T) {
	m = m[:len(p)]
	dst = dst[:len(p)]
	for j, v := range p {
		dst[j] = v * m[j]
	}
}

// maskedSoftmax replaces row (the scores of query i) by its softmax over the
// keys that are visible: j ≤ i when causal, and keep[j] when keep is given.
//
// In float32 the maximum (without keep), the subtraction and the scaling
// run eight lanes at a time with the scalar loops' results; see softmaxRow
// for why a vector maximum that differs in the sign of a zero, or by
// skipping a NaN, leaves the output bits unchanged.
func maskedSoftmax[T Float](row []T, i int, causal bool, keep []bool) {
	n := len(row)
	if causal {
		n = i + 1
	}
	vis := row[:n]
	mx, j := T(math.Inf(-1)), 0
	if keep == nil && is32[T]() {
		var m float32
		if j, m = maxVec(as32(vis)); j > 0 {
			mx = T(m)
		}
	}
	for ; j < n; j++ {
		if (keep == nil || keep[j]) && row[j] > mx {
			mx = row[j]
		}
	}
	j = 0
	if is32[T]() { // v·1 + (−mx) is v − mx exactly
		j = affineVec(as32(vis), as32(vis), 1, float32(-mx))
	}
	for ; j < n; j++ {
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
	j = 0
	if is32[T]() { // v·inv + (−0) is v·inv exactly
		j = affineVec(as32(vis), as32(vis), float32(inv), negZero32)
	}
	for ; j < n; j++ {
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
	probs, mask, dOut, X := n.aux[0], n.aux[1], out.Grad, qkv.Data
	// Every element of dX is written by exactly one of the products below
	// (dQ, dK, dV of each batch element and head), so a fresh gradient
	// buffer is written (β = 0) instead of cleared and accumulated into.
	dX, fresh := g.gradFresh(qkv)
	var beta T = 1
	if fresh {
		beta = 0
	}
	// Per chunk of batch elements (as in the forward pass): dP and, under
	// dropout, P ⊙ M of one element.
	chunks := max(1, min(parallel.Threads(), B))
	per := heads * Tn * Tn
	if mask != nil {
		per *= 2
	}
	ws := g.workspace(chunks * per)
	parallel.Run(chunks, 1, attentionGrads[T]{X, dX, probs, mask, dOut, ws, B, Tn, C3, C, heads, hd, chunks, per, scale, beta})
}

// attentionGrads computes dQ, dK and dV of the batch elements of chunks [lo,
// hi) into dX (written with beta = 0), with dP and, under dropout, P ⊙ M in
// each chunk's part (per elements) of ws.
type attentionGrads[T Float] struct {
	X, dX, probs, mask, dOut, ws         []T
	B, Tn, C3, C, heads, hd, chunks, per int
	scale, beta                          T
}

func (k *attentionGrads[T]) Range(lo, hi int) {
	X, dX, probs, mask, dOut, ws, B, Tn, C3, C, heads, hd, chunks, per, scale, beta := k.X, k.dX, k.probs, k.mask, k.dOut, k.ws, k.B, k.Tn, k.C3, k.C, k.heads, k.hd, k.chunks, k.per, k.scale, k.beta
	for ch := lo; ch < hi; ch++ {
		dP := ws[ch*per : ch*per+heads*Tn*Tn]
		for b := ch * B / chunks; b < (ch+1)*B/chunks; b++ {
			base, dbase := X[b*Tn*C3:], dX[b*Tn*C3:]
			P := probs[b*heads*Tn*Tn:]
			dO := dOut[b*Tn*C:]
			A := P // what multiplied V in the forward
			var M []T
			if mask != nil {
				M = mask[b*heads*Tn*Tn:]
				A = ws[ch*per+heads*Tn*Tn : (ch+1)*per]
				for r := 0; r < heads*Tn; r++ {
					dropRow(A[r*Tn:(r+1)*Tn], P[r*Tn:(r+1)*Tn], M[r*Tn:(r+1)*Tn])
				}
			}
			// dV_h += A_hᵀ·dO_h (= when fresh, as dQ_h and dK_h below)
			headsGemm(true, false, Tn, hd, Tn, 1, A, Tn, Tn*Tn, dO, C, hd, beta, dbase[2*C:], C3, hd, heads)
			// dA_h = dO_h·V_hᵀ
			headsGemm(false, true, Tn, Tn, hd, 1, dO, C, hd, base[2*C:], C3, hd, 0, dP, Tn, Tn*Tn, heads)
			// dP = dA ⊙ M under dropout (dA itself otherwise), then
			// dS = P ⊙ (dP − Σ_j P·dP), times the score scale.
			for r := 0; r < heads*Tn; r++ {
				pr, dr := P[r*Tn:(r+1)*Tn], dP[r*Tn:(r+1)*Tn]
				if M != nil {
					mr := M[r*Tn : (r+1)*Tn]
					for j := range dr {
						dr[j] *= mr[j]
					}
				}
				var s float64
				for j := range pr {
					s += float64(pr[j]) * float64(dr[j])
				}
				for j := range pr {
					dr[j] = pr[j] * (dr[j] - T(s)) * scale
				}
			}
			// dQ_h += dS_h·K_h ; dK_h += dS_hᵀ·Q_h
			headsGemm(false, false, Tn, hd, Tn, 1, dP, Tn, Tn*Tn, base[C:], C3, hd, beta, dbase, C3, hd, heads)
			headsGemm(true, false, Tn, hd, Tn, 1, dP, Tn, Tn*Tn, base, C3, hd, beta, dbase[C:], C3, hd, heads)
		}
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
