package autograd

import (
	"fmt"
	"math"

	"github.com/tramlab/tram/internal/parallel"
)

// Conv2d convolves x [N, C, H, W] with w [O, C, KH, KW] (cross-correlation,
// as PyTorch) at the given stride and zero padding, adding bias [O] when it
// is not nil. The result is [N, O, OH, OW] with OH = (H + 2·pad − KH)/stride + 1.
//
// It runs as im2col and a matrix product per group of a few images
// (convPlan), so the column matrix of a group stays in cache instead of
// being materialized for the whole batch; groups are split across threads.
// Only x is kept for the backward pass, which rebuilds each group's
// columns. The weight gradient sums the groups of each thread's share in
// order and then the threads' partial sums in order: deterministic for a
// given thread count.
func (g *Graph[T]) Conv2d(x, w, bias *Tensor[T], stride, pad int) *Tensor[T] {
	if x.Dims() != 4 || w.Dims() != 4 || x.Dim(1) != w.Dim(1) || stride < 1 || pad < 0 ||
		(bias != nil && bias.Len() != w.Dim(0)) {
		panic(fmt.Sprintf("autograd: Conv2d(stride=%d, pad=%d): x %v and weight %v do not fit", stride, pad, x.Shape(), w.Shape()))
	}
	geo := convGeometry(x.Shape(), w.Shape(), stride, pad)
	if geo.oh <= 0 || geo.ow <= 0 {
		panic(fmt.Sprintf("autograd: Conv2d: kernel %v larger than padded input %v", w.Shape(), x.Shape()))
	}
	out := g.newTensor(geo.n, geo.o, geo.oh, geo.ow)
	pl := geo.plan()
	P, K, O := geo.oh*geo.ow, geo.kk(), geo.o
	// Per chunk: the group's columns [K, G·P] and, for groups of more than
	// one image, the product [O, G·P] before it is scattered into out.
	per := K * pl.gp
	if pl.g > 1 {
		per += O * pl.gp
	}
	ws := g.workspace(pl.chunks * per)
	X, W, Y := x.Data, w.Data, out.Data
	parallel.Run(pl.chunks, 1, convChunks[T]{ws, X, W, Y, bias, geo, pl, per, K, P, O})
	if n := g.record(out, ruleConv2d, x, w, bias); n != nil {
		n.ints[0], n.ints[1] = stride, pad
	}
	return out
}

// convChunks computes the output of the image groups of chunks [lo, hi) of
// plan pl, with each chunk's columns and product in its part (per elements)
// of ws.
type convChunks[T Float] struct {
	ws, X, W, Y  []T
	bias         *Tensor[T]
	geo          convGeo
	pl           convPlan
	per, K, P, O int
}

func (k *convChunks[T]) Range(lo, hi int) {
	ws, X, W, Y, bias, geo, pl, per, K, P, O := k.ws, k.X, k.W, k.Y, k.bias, k.geo, k.pl, k.per, k.K, k.P, k.O
	for ch := lo; ch < hi; ch++ {
		cols := ws[ch*per : ch*per+K*pl.gp]
		tmp := ws[ch*per+K*pl.gp : (ch+1)*per]
		g0, g1 := pl.groups(ch)
		for gr := g0; gr < g1; gr++ {
			n0, gn := pl.group(gr, geo.n)
			gp := gn * P
			cols := cols[:K*gp]
			im2col(cols, X, geo, n0, gn)
			if gn == 1 {
				mm(false, false, O, P, K, 1, W, K, cols, P, 0, Y[n0*O*P:], P)
			} else {
				mm(false, false, O, gp, K, 1, W, K, cols, gp, 0, tmp, gp)
				for m := 0; m < gn; m++ {
					for o := 0; o < O; o++ {
						copy(Y[((n0+m)*O+o)*P:((n0+m)*O+o+1)*P], tmp[o*gp+m*P:])
					}
				}
			}
			if bias != nil {
				for m := 0; m < gn; m++ {
					for o, b := range bias.Data {
						addScalar(Y[((n0+m)*O+o)*P:((n0+m)*O+o+1)*P], b)
					}
				}
			}
		}
	}
}

func addScalar[T Float](x []T, b T) {
	for i := range x {
		x[i] += b
	}
}

type convGeo struct{ n, c, h, w, o, kh, kw, stride, pad, oh, ow int }

func convGeometry(xs, ws []int, stride, pad int) convGeo {
	g := convGeo{n: xs[0], c: xs[1], h: xs[2], w: xs[3], o: ws[0], kh: ws[2], kw: ws[3], stride: stride, pad: pad}
	g.oh = (g.h+2*pad-g.kh)/stride + 1
	g.ow = (g.w+2*pad-g.kw)/stride + 1
	return g
}

// kk is the length of a column: C·KH·KW.
func (g convGeo) kk() int { return g.c * g.kh * g.kw }

// convPlan splits a batch into groups of g images (the last may be
// smaller) and the groups into chunks, one per thread.
type convPlan struct {
	g, gp   int // images per group, and columns per group (g·OH·OW)
	ngroups int
	chunks  int
}

// convGroupCols is the number of output positions a group aims for: enough
// columns for an efficient matrix product (the weight gradient's inner
// dimension is the group's column count), few enough that a group's
// column matrix stays in the per-core caches.
const convGroupCols = 256

// plan groups images so that a group has about convGroupCols output
// positions (at least one image), and deals the groups to
// min(threads, groups) chunks of consecutive groups. The split depends
// only on the shapes and the thread count.
func (g convGeo) plan() convPlan {
	P := g.oh * g.ow
	G := max(1, min(g.n, (convGroupCols+P-1)/P))
	pl := convPlan{g: G, gp: G * P, ngroups: (g.n + G - 1) / G}
	pl.chunks = max(1, min(parallel.Threads(), pl.ngroups))
	return pl
}

// groups returns chunk ch's groups [g0, g1).
func (pl convPlan) groups(ch int) (g0, g1 int) {
	return ch * pl.ngroups / pl.chunks, (ch + 1) * pl.ngroups / pl.chunks
}

// group returns the first image of group gr and its number of images.
func (pl convPlan) group(gr, n int) (n0, gn int) {
	n0 = gr * pl.g
	return n0, min(pl.g, n-n0)
}

// im2col writes the columns of images n0 … n0+gn−1 of x:
// cols[(c·KH+i)·KW+j][m·P + oy·OW + ox] = x[n0+m][c][oy·s+i−p][ox·s+j−p]
// (0 outside the image), P = OH·OW.
func im2col[T Float](cols, x []T, g convGeo, n0, gn int) {
	P := g.oh * g.ow
	ld := gn * P
	HW := g.h * g.w
	if g.stride == 1 && g.oh == g.h && g.ow == g.w {
		im2colSame(cols, x, g, n0, gn)
		return
	}
	for c := 0; c < g.c; c++ {
		for i := 0; i < g.kh; i++ {
			for j := 0; j < g.kw; j++ {
				row := cols[((c*g.kh+i)*g.kw+j)*ld : ((c*g.kh+i)*g.kw+j+1)*ld]
				lo, hi := validRange(g.ow, g.w, g.stride, j-g.pad)
				for m := 0; m < gn; m++ {
					img := x[((n0+m)*g.c+c)*HW : ((n0+m)*g.c+c+1)*HW]
					for oy := 0; oy < g.oh; oy++ {
						d := row[m*P+oy*g.ow : m*P+(oy+1)*g.ow]
						y := oy*g.stride + i - g.pad
						if y < 0 || y >= g.h || lo >= hi {
							clear(d)
							continue
						}
						clear(d[:lo])
						clear(d[hi:])
						src := img[y*g.w+lo*g.stride+j-g.pad:]
						if g.stride == 1 {
							copy(d[lo:hi], src)
						} else {
							dd := d[lo:hi]
							src = src[:(len(dd)-1)*g.stride+1]
							for k := range dd {
								dd[k] = src[k*g.stride]
							}
						}
					}
				}
			}
		}
	}
}

// im2colSame is im2col for stride 1 and outputs as large as the input
// ("same" padding): the block of one image and kernel offset (i, j) is the
// channel's image shifted by (i−p)·W + (j−p), so it is one contiguous copy,
// after which the rows outside the image and the columns that wrapped
// around from the neighbouring row are zeroed.
func im2colSame[T Float](cols, x []T, g convGeo, n0, gn int) {
	HW := g.h * g.w
	ld := gn * HW
	for c := 0; c < g.c; c++ {
		for i := 0; i < g.kh; i++ {
			sy := i - g.pad
			y0, y1 := max(0, -sy), min(g.h, g.h-sy) // output rows inside the image
			for j := 0; j < g.kw; j++ {
				sx := j - g.pad
				row := cols[((c*g.kh+i)*g.kw+j)*ld : ((c*g.kh+i)*g.kw+j+1)*ld]
				for m := 0; m < gn; m++ {
					img := x[((n0+m)*g.c+c)*HW : ((n0+m)*g.c+c+1)*HW]
					d := row[m*HW : (m+1)*HW]
					if y0 >= y1 {
						clear(d)
						continue
					}
					// d[oy·W + ox] = img[(oy+sy)·W + ox + sx] for oy in [y0, y1),
					// clipped to the image's data at both ends.
					lo, hi := y0*g.w, y1*g.w
					slo, shi := lo+sy*g.w+sx, hi+sy*g.w+sx
					if slo < 0 {
						lo -= slo
						slo = 0
					}
					if shi > HW {
						hi -= shi - HW
						shi = HW
					}
					if lo >= hi { // shifted entirely off the image
						clear(d)
						continue
					}
					clear(d[:lo])
					copy(d[lo:hi], img[slo:shi])
					clear(d[hi:])
					// Columns whose source wrapped into a neighbouring row.
					if sx < 0 {
						for oy := y0; oy < y1; oy++ {
							for ox := 0; ox < min(-sx, g.w); ox++ {
								d[oy*g.w+ox] = 0
							}
						}
					} else if sx > 0 {
						for oy := y0; oy < y1; oy++ {
							for ox := max(g.w-sx, 0); ox < g.w; ox++ {
								d[oy*g.w+ox] = 0
							}
						}
					}
				}
			}
		}
	}
}

// validRange returns the output columns [lo, hi) whose input column
// ox·stride + off lies inside [0, w).
func validRange(ow, w, stride, off int) (lo, hi int) {
	// ox·stride + off ≥ 0  ⇔  ox ≥ ⌈−off/stride⌉
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	// ox·stride + off ≤ w−1  ⇔  ox ≤ ⌊(w−1−off)/stride⌋
	if w-1-off < 0 {
		return 0, 0
	}
	hi = min(ow, (w-1-off)/stride+1)
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// col2im adds the columns of images n0 … n0+gn−1 back into dx (the adjoint
// of im2col); with fresh, dx's images hold garbage and are overwritten.
func col2im[T Float](dx, cols []T, g convGeo, n0, gn int, fresh bool) {
	P := g.oh * g.ow
	ld := gn * P
	HW := g.h * g.w
	if g.stride == 1 && g.oh == g.h && g.ow == g.w {
		col2imSame(dx, cols, g, n0, gn, fresh)
		return
	}
	if fresh {
		clear(dx[n0*g.c*HW : (n0+gn)*g.c*HW])
	}
	for m := 0; m < gn; m++ {
		for c := 0; c < g.c; c++ {
			img := dx[((n0+m)*g.c+c)*HW : ((n0+m)*g.c+c+1)*HW]
			for i := 0; i < g.kh; i++ {
				for j := 0; j < g.kw; j++ {
					row := cols[((c*g.kh+i)*g.kw+j)*ld:]
					lo, hi := validRange(g.ow, g.w, g.stride, j-g.pad)
					if lo >= hi {
						continue
					}
					for oy := 0; oy < g.oh; oy++ {
						y := oy*g.stride + i - g.pad
						if y < 0 || y >= g.h {
							continue
						}
						s := row[m*P+oy*g.ow+lo : m*P+oy*g.ow+hi]
						dst := img[y*g.w+lo*g.stride+j-g.pad:]
						if g.stride == 1 {
							dst = dst[:len(s)]
							for k, v := range s {
								dst[k] += v
							}
						} else {
							dst = dst[:(len(s)-1)*g.stride+1]
							for k, v := range s {
								dst[k*g.stride] += v
							}
						}
					}
				}
			}
		}
	}
}

// col2imSame is col2im for the geometry of im2colSame: the columns whose
// source wrapped into a neighbouring row are zeroed (in cols), then each
// block is added to the shifted image in one contiguous run. With fresh,
// the centre tap (i, j) = (pad, pad), which covers the whole image, is
// copied first instead of clearing the image.
func col2imSame[T Float](dx, cols []T, g convGeo, n0, gn int, fresh bool) {
	HW := g.h * g.w
	ld := gn * HW
	for m := 0; m < gn; m++ {
		for c := 0; c < g.c; c++ {
			img := dx[((n0+m)*g.c+c)*HW : ((n0+m)*g.c+c+1)*HW]
			if fresh {
				copy(img, cols[((c*g.kh+g.pad)*g.kw+g.pad)*ld+m*HW:])
			}
			for i := 0; i < g.kh; i++ {
				sy := i - g.pad
				y0, y1 := max(0, -sy), min(g.h, g.h-sy)
				if y0 >= y1 {
					continue
				}
				for j := 0; j < g.kw; j++ {
					if fresh && i == g.pad && j == g.pad {
						continue
					}
					sx := j - g.pad
					d := cols[((c*g.kh+i)*g.kw+j)*ld+m*HW : ((c*g.kh+i)*g.kw+j)*ld+(m+1)*HW]
					if sx < 0 {
						for oy := y0; oy < y1; oy++ {
							for ox := 0; ox < min(-sx, g.w); ox++ {
								d[oy*g.w+ox] = 0
							}
						}
					} else if sx > 0 {
						for oy := y0; oy < y1; oy++ {
							for ox := max(g.w-sx, 0); ox < g.w; ox++ {
								d[oy*g.w+ox] = 0
							}
						}
					}
					lo, hi := y0*g.w, y1*g.w
					slo, shi := lo+sy*g.w+sx, hi+sy*g.w+sx
					if slo < 0 {
						lo -= slo
						slo = 0
					}
					if shi > HW {
						hi -= shi - HW
						shi = HW
					}
					if lo < hi {
						addTo(img[slo:shi], d[lo:hi])
					}
				}
			}
		}
	}
}

func conv2dBackward[T Float](g *Graph[T], n *node[T]) {
	x, w, bias, out := n.in[0], n.in[1], n.in[2], n.out
	geo := convGeometry(x.Shape(), w.Shape(), n.ints[0], n.ints[1])
	P, K, O := geo.oh*geo.ow, geo.kk(), geo.o
	dY := out.Grad
	if n.wants(2) { // dB[o] += Σ_n Σ_p dY[n, o, p], parallel over channels
		dB := g.grad(bias)
		prun2(O, geo.n*P, convBiasGrad[T]{dY, dB, geo, O, P})
	}
	wantW, wantX := n.wants(1), n.wants(0)
	if !wantW && !wantX {
		return
	}
	pl := geo.plan()
	var dW, dX []T
	freshX := false
	if wantW {
		dW = g.grad(w)
	}
	if wantX {
		dX, freshX = g.gradFresh(x)
	}
	// Per chunk: the group's columns [K, G·P] (then its column gradients),
	// the group's output gradient as [O, G·P] when G > 1, and the chunk's
	// weight gradient, transposed: [K, O] (the product's rows are then the
	// K columns, which fill the kernel's row tiles better than O, often 32).
	per := K * pl.gp
	if pl.g > 1 {
		per += O * pl.gp
	}
	if wantW {
		per += O * K
	}
	ws := g.workspace(pl.chunks * per)
	X, Wd := x.Data, w.Data
	parallel.Run(pl.chunks, 1, convChunkGrads[T]{ws, dY, dX, X, Wd, geo, pl, per, K, P, O, wantW, wantX, freshX})
	if wantW { // dW[o, k] += Σ_chunks dWᵀ_chunk[k, o], in chunk order
		prun2(O, K*pl.chunks, convWeightGrad[T]{dW, ws, pl, per, K, O})
	}
}

// convBiasGrad accumulates the bias gradient of output channels [lo, hi).
type convBiasGrad[T Float] struct {
	dY, dB []T
	geo    convGeo
	O, P   int
}

func (k *convBiasGrad[T]) Range(lo, hi int) {
	dY, dB, geo, O, P := k.dY, k.dB, k.geo, k.O, k.P
	for o := lo; o < hi; o++ {
		var s float64
		for nn := 0; nn < geo.n; nn++ {
			for _, v := range dY[(nn*O+o)*P : (nn*O+o+1)*P] {
				s += float64(v)
			}
		}
		dB[o] += T(s)
	}
}

// convChunkGrads computes the input gradient (into dX) and the chunk's
// weight gradient (transposed, at the end of its part of ws) of the image
// groups of chunks [lo, hi).
type convChunkGrads[T Float] struct {
	ws, dY, dX, X, Wd    []T
	geo                  convGeo
	pl                   convPlan
	per, K, P, O         int
	wantW, wantX, freshX bool
}

func (k *convChunkGrads[T]) Range(lo, hi int) {
	ws, dY, dX, X, Wd, geo, pl, per, K, P, O, wantW, wantX, freshX := k.ws, k.dY, k.dX, k.X, k.Wd, k.geo, k.pl, k.per, k.K, k.P, k.O, k.wantW, k.wantX, k.freshX
	for ch := lo; ch < hi; ch++ {
		buf := ws[ch*per : (ch+1)*per]
		cols, rest := buf[:K*pl.gp], buf[K*pl.gp:]
		var dYg, dWc []T
		if pl.g > 1 {
			dYg, rest = rest[:O*pl.gp], rest[O*pl.gp:]
		}
		if wantW {
			dWc = rest[:O*K]
		}
		g0, g1 := pl.groups(ch)
		for gr := g0; gr < g1; gr++ {
			n0, gn := pl.group(gr, geo.n)
			gp := gn * P
			cols := cols[:K*gp]
			dy := dY[n0*O*P : (n0+gn)*O*P] // [O, P] when gn = 1
			if gn > 1 {
				dy = dYg[:O*gp]
				for m := 0; m < gn; m++ {
					for o := 0; o < O; o++ {
						copy(dy[o*gp+m*P:o*gp+(m+1)*P], dY[((n0+m)*O+o)*P:])
					}
				}
			}
			if wantW { // dWᵀ[K, O] += cols_g · dY_gᵀ
				im2col(cols, X, geo, n0, gn)
				var beta T = 1
				if gr == g0 {
					beta = 0
				}
				mm(false, true, K, O, gp, 1, cols, gp, dy, gp, beta, dWc, O)
			}
			if wantX { // dcols[K, G·P] = Wᵀ · dY_g, then added back into dX
				mm(true, false, K, gp, O, 1, Wd, K, dy, gp, 0, cols, gp)
				col2im(dX, cols, geo, n0, gn, freshX)
			}
		}
	}
}

// convWeightGrad adds the chunks' weight gradients of output channels [lo,
// hi) into dW, in chunk order.
type convWeightGrad[T Float] struct {
	dW, ws    []T
	pl        convPlan
	per, K, O int
}

func (k *convWeightGrad[T]) Range(lo, hi int) {
	dW, ws, pl, per, K, O := k.dW, k.ws, k.pl, k.per, k.K, k.O
	for o := lo; o < hi; o++ {
		row := dW[o*K : (o+1)*K]
		for ch := 0; ch < pl.chunks; ch++ {
			p := ws[(ch+1)*per-O*K : (ch+1)*per]
			for k := range row {
				row[k] += p[k*O+o]
			}
		}
	}
}

// MaxPool2d takes the maximum over k×k windows of x [N, C, H, W] at the
// given stride (no padding). The gradient flows to the first maximal
// element of each window.
func (g *Graph[T]) MaxPool2d(x *Tensor[T], k, stride int) *Tensor[T] {
	return g.pool(x, k, stride, true)
}

// AvgPool2d averages over k×k windows of x [N, C, H, W] at the given stride
// (no padding).
func (g *Graph[T]) AvgPool2d(x *Tensor[T], k, stride int) *Tensor[T] {
	return g.pool(x, k, stride, false)
}

func (g *Graph[T]) pool(x *Tensor[T], k, stride int, isMax bool) *Tensor[T] {
	if x.Dims() != 4 || k < 1 || stride < 1 || x.Dim(2) < k || x.Dim(3) < k {
		panic(fmt.Sprintf("autograd: pool(k=%d, stride=%d) on shape %v", k, stride, x.Shape()))
	}
	N, C, H, W := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	OH, OW := (H-k)/stride+1, (W-k)/stride+1
	out := g.newTensor(N, C, OH, OW)
	var arg []T
	if isMax {
		arg = g.bufNoZero(out.Len())
	}
	prun2(N*C, OH*OW*k*k, poolWindows[T]{x, out, arg, H, W, OH, OW, k, stride, isMax})
	if n := g.record(out, rulePool, x); n != nil {
		n.aux[0] = arg
		n.ints[0], n.ints[1] = k, stride
	}
	return out
}

// poolWindows writes the max (with its argmax into arg) or mean of the k×k
// windows of planes [lo, hi) of x.
type poolWindows[T Float] struct {
	x, out                  *Tensor[T]
	arg                     []T
	H, W, OH, OW, k, stride int
	isMax                   bool
}

func (pk *poolWindows[T]) Range(lo, hi int) {
	x, out, arg, H, W, OH, OW, k, stride, isMax := pk.x, pk.out, pk.arg, pk.H, pk.W, pk.OH, pk.OW, pk.k, pk.stride, pk.isMax
	for p := lo; p < hi; p++ {
		img := x.Data[p*H*W : (p+1)*H*W]
		for oy := 0; oy < OH; oy++ {
			for ox := 0; ox < OW; ox++ {
				o := (p*OH+oy)*OW + ox
				best, bi := math.Inf(-1), 0
				var s float64
				for i := 0; i < k; i++ {
					for j := 0; j < k; j++ {
						v := float64(img[(oy*stride+i)*W+ox*stride+j])
						s += v
						if v > best || (i == 0 && j == 0) {
							best, bi = v, i*k+j
						}
					}
				}
				if isMax {
					out.Data[o], arg[o] = T(best), T(bi)
				} else {
					out.Data[o] = T(s / float64(k*k))
				}
			}
		}
	}
}

func poolBackward[T Float](g *Graph[T], n *node[T]) {
	x := n.in[0]
	k, stride := n.ints[0], n.ints[1]
	N, C, H, W := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	OH, OW := n.out.Dim(2), n.out.Dim(3)
	dX, dY, arg := g.grad(x), n.out.Grad, n.aux[0]
	prun2(N*C, OH*OW*k*k, poolGrad[T]{dX, dY, arg, H, W, OH, OW, k, stride})
}

// poolGrad accumulates the input gradient of planes [lo, hi) of a pool (max
// when arg is not nil, else mean).
type poolGrad[T Float] struct {
	dX, dY, arg             []T
	H, W, OH, OW, k, stride int
}

func (pk *poolGrad[T]) Range(lo, hi int) {
	dX, dY, arg, H, W, OH, OW, k, stride := pk.dX, pk.dY, pk.arg, pk.H, pk.W, pk.OH, pk.OW, pk.k, pk.stride
	for p := lo; p < hi; p++ {
		img := dX[p*H*W : (p+1)*H*W]
		for oy := 0; oy < OH; oy++ {
			for ox := 0; ox < OW; ox++ {
				o := (p*OH+oy)*OW + ox
				if arg != nil {
					bi := int(arg[o])
					img[(oy*stride+bi/k)*W+ox*stride+bi%k] += dY[o]
					continue
				}
				d := dY[o] / T(k*k)
				for i := 0; i < k; i++ {
					for j := 0; j < k; j++ {
						img[(oy*stride+i)*W+ox*stride+j] += d
					}
				}
			}
		}
	}
}
