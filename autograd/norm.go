package autograd

import (
	"fmt"
	"math"
)

// LayerNorm normalizes x over its last dimension and applies the affine map
// γ ⊙ x̂ + β: y = γ·(x − μ)/√(σ² + eps) + β with the biased variance σ².
// gamma and beta have shape [D].
func (g *Graph[T]) LayerNorm(x, gamma, beta *Tensor[T], eps float64) *Tensor[T] {
	D := x.Dim(-1)
	if gamma.Len() != D || beta.Len() != D {
		panic(fmt.Sprintf("autograd: LayerNorm: x %v with gamma %v and beta %v", x.Shape(), gamma.Shape(), beta.Shape()))
	}
	rows := x.Len() / max(D, 1)
	out := g.newTensor(x.Shape()...)
	stats := g.bufNoZero(2 * rows) // mean, rstd per row
	X, Y, G, B := x.Data, out.Data, gamma.Data, beta.Data
	prun2(rows, D, layerNormRows[T]{X, Y, G, B, stats, D, eps})
	if n := g.record(out, ruleLayerNorm, x, gamma, beta); n != nil {
		n.aux[0] = stats
	}
	return out
}

// layerNormRows normalizes rows [lo, hi) of X into Y and saves their mean
// and 1/σ in stats.
type layerNormRows[T Float] struct {
	X, Y, G, B, stats []T
	D                 int
	eps               float64
}

func (k *layerNormRows[T]) Range(lo, hi int) {
	X, Y, G, B, stats, D, eps := k.X, k.Y, k.G, k.B, k.stats, k.D, k.eps
	for r := lo; r < hi; r++ {
		xr, yr := X[r*D:(r+1)*D], Y[r*D:(r+1)*D]
		var s float64
		for _, v := range xr {
			s += float64(v)
		}
		mean := s / float64(D)
		var v2 float64
		for _, v := range xr {
			d := float64(v) - mean
			v2 += d * d
		}
		rstd := 1 / math.Sqrt(v2/float64(D)+eps)
		m, rs := T(mean), T(rstd)
		i := 0
		if is32[T]() {
			i = layerNormOutVec(as32(yr), as32(xr), as32(G), as32(B), float32(m), float32(rs))
		}
		layerNormOutRange(yr, xr, G, B, m, rs, i)
		stats[2*r], stats[2*r+1] = m, rs
	}
}

// layerNormOutRange sets yr[i] = (xr[i] − m)·rs·G[i] + B[i] for i ≥ from:
// layerNormRows' Go path, the reference of lnOutAVX2 and its tail.
func layerNormOutRange[T Float](yr, xr, G, B []T, m, rs T, from int) {
	for i := from; i < len(xr); i++ {
		yr[i] = (xr[i]-m)*rs*G[i] + B[i]
	}
}

func layerNormBackward[T Float](g *Graph[T], n *node[T]) {
	x, gamma, beta := n.in[0], n.in[1], n.in[2]
	D := x.Dim(-1)
	rows := x.Len() / max(D, 1)
	X, G, dY, stats := x.Data, gamma.Data, n.out.Grad, n.aux[0]
	if n.wants(1) || n.wants(2) {
		var dG, dB []T
		if n.wants(1) {
			dG = g.grad(gamma)
		}
		if n.wants(2) {
			dB = g.grad(beta)
		}
		// Parallel over features; each sums its rows in order.
		prun2(D, rows, layerNormParamGrads[T]{X, dY, stats, dG, dB, D, rows})
	}
	if !n.wants(0) {
		return
	}
	dX, fresh := g.gradInto(x, n.out)
	prun2(rows, D, layerNormInputGrad[T]{X, dY, dX, G, stats, D, fresh})
}

// layerNormParamGrads accumulates dγ and dβ of features [lo, hi), each
// summed over the rows in order (either may be nil).
type layerNormParamGrads[T Float] struct {
	X, dY, stats, dG, dB []T
	D, rows              int
}

func (k *layerNormParamGrads[T]) Range(lo, hi int) {
	X, dY, stats, dG, dB, D, rows := k.X, k.dY, k.stats, k.dG, k.dB, k.D, k.rows
	for r := 0; r < rows; r++ {
		m, rs := stats[2*r], stats[2*r+1]
		xr, dyr := X[r*D:(r+1)*D], dY[r*D:(r+1)*D]
		gLo, bLo := lo, lo
		if is32[T]() {
			if dG != nil {
				gLo += layerNormDGVec(as32(dG[lo:hi]), as32(dyr[lo:hi]), as32(xr[lo:hi]), float32(m), float32(rs))
			}
			if dB != nil {
				bLo += addVec(as32(dB[lo:hi]), as32(dyr[lo:hi]))
			}
		}
		layerNormParamGradRange(dG, dB, xr, dyr, m, rs, gLo, bLo, hi)
	}
}

// layerNormParamGradRange adds one row's terms into dG[gLo:hi] and
// dB[bLo:hi] (either may be nil): layerNormParamGrads' Go path, the
// reference of lnDGAVX2 and addAVX2 there and their tails.
func layerNormParamGradRange[T Float](dG, dB, xr, dyr []T, m, rs T, gLo, bLo, hi int) {
	if dG != nil {
		for i := gLo; i < hi; i++ {
			dG[i] += dyr[i] * (xr[i] - m) * rs
		}
	}
	if dB != nil {
		for i := bLo; i < hi; i++ {
			dB[i] += dyr[i]
		}
	}
}

// layerNormInputGrad writes (fresh) or adds the gradient of rows [lo, hi) of
// X into dX.
type layerNormInputGrad[T Float] struct {
	X, dY, dX, G, stats []T
	D                   int
	fresh               bool
}

func (k *layerNormInputGrad[T]) Range(lo, hi int) {
	X, dY, dX, G, stats, D, fresh := k.X, k.dY, k.dX, k.G, k.stats, k.D, k.fresh
	for r := lo; r < hi; r++ {
		m, rs := stats[2*r], stats[2*r+1]
		xr, dyr, dxr := X[r*D:(r+1)*D], dY[r*D:(r+1)*D], dX[r*D:(r+1)*D]
		// dx = rstd·(dn − mean(dn) − x̂·mean(dn·x̂)), dn = dy·γ
		var s1, s2 float64
		for i := range xr {
			dn := float64(dyr[i] * G[i])
			s1 += dn
			s2 += dn * float64((xr[i]-m)*rs)
		}
		s1 /= float64(D)
		s2 /= float64(D)
		i := 0
		if is32[T]() {
			i = layerNormInGradVec(as32(dxr), as32(dyr), as32(xr), as32(G), float32(m), float32(rs), s1, s2, !fresh)
		}
		layerNormInGradRange(dxr, dyr, xr, G, m, rs, s1, s2, fresh, i)
	}
}

// layerNormInGradRange writes (fresh) or adds dx[i] = rs·(dy[i]·G[i] − s1 −
// x̂[i]·s2) for i ≥ from: layerNormInputGrad's Go path, the reference of
// lnInGradAVX2 and its tail.
func layerNormInGradRange[T Float](dxr, dyr, xr, G []T, m, rs T, s1, s2 float64, fresh bool, from int) {
	for i := from; i < len(xr); i++ {
		xh := float64((xr[i] - m) * rs)
		d := T(float64(rs) * (float64(dyr[i]*G[i]) - s1 - xh*s2))
		if fresh {
			dxr[i] = d
		} else {
			dxr[i] += d
		}
	}
}

// BatchNormMode selects how BatchNorm normalizes.
type BatchNormMode int

const (
	// BatchStatsUpdate normalizes with the batch's statistics and updates
	// the running ones (training, and pass 1 of a two-pass step).
	BatchStatsUpdate BatchNormMode = iota
	// BatchStats normalizes with the batch's statistics without touching
	// the running ones (pass 2 and extra forwards of a two-pass step).
	BatchStats
	// RunningStats normalizes with the running statistics (evaluation).
	RunningStats
)

// BatchNorm normalizes x of shape [N, C] or [N, C, H, W] per channel C and
// applies γ ⊙ x̂ + β. runMean and runVar ([C]) hold the running statistics;
// in BatchStatsUpdate mode they move as r ← (1−momentum)·r + momentum·s with
// the unbiased batch variance, as PyTorch does.
func (g *Graph[T]) BatchNorm(x, gamma, beta, runMean, runVar *Tensor[T], mode BatchNormMode, momentum, eps float64) *Tensor[T] {
	if x.Dims() != 2 && x.Dims() != 4 {
		panic(fmt.Sprintf("autograd: BatchNorm: x shape %v is neither [N, C] nor [N, C, H, W]", x.Shape()))
	}
	N, C := x.Dim(0), x.Dim(1)
	HW := x.Len() / max(1, N*C)
	for _, t := range []*Tensor[T]{gamma, beta, runMean, runVar} {
		if t.Len() != C {
			panic(fmt.Sprintf("autograd: BatchNorm: x %v with per-channel tensor %v", x.Shape(), t.Shape()))
		}
	}
	M := N * HW
	out := g.newTensor(x.Shape()...)
	stats := g.bufNoZero(2 * C) // mean, rstd per channel as used
	X, Y := x.Data, out.Data
	prun2(C, M, batchNormChannels[T]{X, Y, stats, gamma, beta, runMean, runVar, mode, momentum, eps, N, C, HW, M})
	if n := g.record(out, ruleBatchNorm, x, gamma, beta); n != nil {
		n.aux[0] = stats
		n.ints[0] = int(mode)
	}
	return out
}

// batchNormChannels normalizes channels [lo, hi) of X into Y, saving the
// mean and 1/σ used in stats and, in BatchStatsUpdate mode, updating the
// running statistics.
type batchNormChannels[T Float] struct {
	X, Y, stats                  []T
	gamma, beta, runMean, runVar *Tensor[T]
	mode                         BatchNormMode
	momentum, eps                float64
	N, C, HW, M                  int
}

func (k *batchNormChannels[T]) Range(lo, hi int) {
	X, Y, stats, gamma, beta, runMean, runVar, mode, momentum, eps, N, C, HW, M := k.X, k.Y, k.stats, k.gamma, k.beta, k.runMean, k.runVar, k.mode, k.momentum, k.eps, k.N, k.C, k.HW, k.M
	for c := lo; c < hi; c++ {
		var mean, rstd float64
		if mode == RunningStats {
			mean = float64(runMean.Data[c])
			rstd = 1 / math.Sqrt(float64(runVar.Data[c])+eps)
		} else {
			// One pass over the channel: sums of x − s and (x − s)² in
			// float64, shifted by the channel's first element s so that
			// E[(x−s)²] − E[x−s]² does not cancel.
			shift := float64(X[c*HW])
			var s1, s2 float64
			for nn := 0; nn < N; nn++ {
				a, b := sumShifted(X[(nn*C+c)*HW:(nn*C+c+1)*HW], shift)
				s1 += a
				s2 += b
			}
			d := s1 / float64(M)
			mean = shift + d
			v2 := max(s2-s1*d, 0) // Σ(x − mean)²
			rstd = 1 / math.Sqrt(v2/float64(M)+eps)
			if mode == BatchStatsUpdate {
				unbiased := v2 / float64(max(M-1, 1))
				runMean.Data[c] = T((1-momentum)*float64(runMean.Data[c]) + momentum*mean)
				runVar.Data[c] = T((1-momentum)*float64(runVar.Data[c]) + momentum*unbiased)
			}
		}
		// y = (x − mean)·rstd·γ + β = a·x + b
		a := rstd * float64(gamma.Data[c])
		A, B := T(a), T(float64(beta.Data[c])-mean*a)
		for nn := 0; nn < N; nn++ {
			o := (nn*C + c) * HW
			y, xs := Y[o:o+HW], X[o:o+HW]
			i := 0
			if is32[T]() {
				i = affineVec(as32(y), as32(xs), float32(A), float32(B))
			}
			for ; i < len(xs); i++ {
				y[i] = xs[i]*A + B
			}
		}
		stats[2*c], stats[2*c+1] = T(mean), T(rstd)
	}
}

func batchNormBackward[T Float](g *Graph[T], n *node[T]) {
	x, gamma, beta := n.in[0], n.in[1], n.in[2]
	N, C := x.Dim(0), x.Dim(1)
	HW := x.Len() / max(1, N*C)
	M := float64(N * HW)
	useBatch := BatchNormMode(n.ints[0]) != RunningStats
	X, dY, stats := x.Data, n.out.Grad, n.aux[0]
	var dX, dG, dB []T
	fresh := false
	if n.wants(0) {
		dX, fresh = g.gradInto(x, n.out)
	}
	if n.wants(1) {
		dG = g.grad(gamma)
	}
	if n.wants(2) {
		dB = g.grad(beta)
	}
	prun2(C, N*HW, batchNormGrads[T]{X, dY, stats, dX, dG, dB, gamma, M, N, C, HW, useBatch, fresh})
}

// batchNormGrads accumulates dγ and dβ of channels [lo, hi) and writes
// (fresh) or adds their input gradient into dX (each may be nil).
type batchNormGrads[T Float] struct {
	X, dY, stats, dX, dG, dB []T
	gamma                    *Tensor[T]
	M                        float64
	N, C, HW                 int
	useBatch, fresh          bool
}

func (k *batchNormGrads[T]) Range(lo, hi int) {
	X, dY, stats, dX, dG, dB, gamma, M, N, C, HW, useBatch, fresh := k.X, k.dY, k.stats, k.dX, k.dG, k.dB, k.gamma, k.M, k.N, k.C, k.HW, k.useBatch, k.fresh
	for c := lo; c < hi; c++ {
		m, rs := float64(stats[2*c]), float64(stats[2*c+1])
		// Σdy and Σdy·(x − mean), then Σdy·x̂ = rstd·Σdy·(x − mean).
		var sdy, sdyxm float64
		for nn := 0; nn < N; nn++ {
			o := (nn*C + c) * HW
			a, b := dotCentered(dY[o:o+HW], X[o:o+HW], m)
			sdy += a
			sdyxm += b
		}
		sdyx := rs * sdyxm
		if dG != nil {
			dG[c] += T(sdyx)
		}
		if dB != nil {
			dB[c] += T(sdy)
		}
		if dX == nil {
			continue
		}
		// Batch statistics: dx = γ·rstd/M·(M·dy − Σdy − x̂·Σdy·x̂)
		// = a·dy + b·x + c; running statistics: dx = γ·rstd·dy.
		k := float64(gamma.Data[c]) * rs
		a, b, cc := T(k), T(0), T(0)
		if useBatch {
			b = T(-k * sdyx * rs / M)
			cc = T(-k*sdy/M + k*sdyx*rs*m/M)
		}
		for nn := 0; nn < N; nn++ {
			o := (nn*C + c) * HW
			dy, xs, dx := dY[o:o+HW], X[o:o+HW], dX[o:o+HW]
			i := 0
			if is32[T]() {
				i = bnBackVec(as32(dx), as32(dy), as32(xs), float32(a), float32(b), float32(cc), !fresh)
			}
			if fresh {
				for ; i < len(dy); i++ {
					dx[i] = a*dy[i] + b*xs[i] + cc
				}
			} else {
				for ; i < len(dy); i++ {
					dx[i] += a*dy[i] + b*xs[i] + cc
				}
			}
		}
	}
}

// sumShifted returns Σ(x − s) and Σ(x − s)² in float64, with partial sums
// in a fixed order (eight lanes with AVX2 in float32, then four at a time).
func sumShifted[T Float](x []T, s float64) (s1, s2 float64) {
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	i := 0
	if is32[T]() {
		i, a0, b0 = sumShiftedVec(as32(x), s)
	}
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(v[0])-s, float64(v[1])-s, float64(v[2])-s, float64(v[3])-s
		a0 += d0
		a1 += d1
		a2 += d2
		a3 += d3
		b0 += d0 * d0
		b1 += d1 * d1
		b2 += d2 * d2
		b3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := float64(x[i]) - s
		a0 += d
		b0 += d * d
	}
	return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)
}

// dotCentered returns Σdy and Σdy·(x − m) in float64, with partial sums in
// a fixed order (eight lanes with AVX2 in float32, then four at a time).
func dotCentered[T Float](dy, x []T, m float64) (sdy, sdyx float64) {
	x = x[:len(dy)]
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	i := 0
	if is32[T]() {
		i, a0, b0 = dotCenteredVec(as32(dy), as32(x), m)
	}
	for ; i+4 <= len(dy); i += 4 {
		d, v := dy[i:i+4:i+4], x[i:i+4:i+4]
		d0, d1, d2, d3 := float64(d[0]), float64(d[1]), float64(d[2]), float64(d[3])
		a0 += d0
		a1 += d1
		a2 += d2
		a3 += d3
		b0 += d0 * (float64(v[0]) - m)
		b1 += d1 * (float64(v[1]) - m)
		b2 += d2 * (float64(v[2]) - m)
		b3 += d3 * (float64(v[3]) - m)
	}
	for ; i < len(dy); i++ {
		d := float64(dy[i])
		a0 += d
		b0 += d * (float64(x[i]) - m)
	}
	return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)
}
