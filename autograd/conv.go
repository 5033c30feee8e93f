package autograd

import (
	"fmt"
	"math"
)

// Conv2d convolves x [N, C, H, W] with w [O, C, KH, KW] (cross-correlation,
// as PyTorch) at the given stride and zero padding, adding bias [O] when it
// is not nil. The result is [N, O, OH, OW] with OH = (H + 2·pad − KH)/stride + 1.
// It runs as im2col followed by one matrix product for the whole batch.
func (g *Graph[T]) Conv2d(x, w, bias *Tensor[T], stride, pad int) *Tensor[T] {
	if x.Dims() != 4 || w.Dims() != 4 || x.Dim(1) != w.Dim(1) || stride < 1 || pad < 0 ||
		(bias != nil && bias.Len() != w.Dim(0)) {
		panic(fmt.Sprintf("autograd: Conv2d(stride=%d, pad=%d): x %v and weight %v do not fit", stride, pad, x.Shape(), w.Shape()))
	}
	geo := convGeometry(x.Shape(), w.Shape(), stride, pad)
	if geo.oh <= 0 || geo.ow <= 0 {
		panic(fmt.Sprintf("autograd: Conv2d: kernel %v larger than padded input %v", w.Shape(), x.Shape()))
	}
	P := geo.oh * geo.ow
	K := geo.c * geo.kh * geo.kw
	cols := g.bufNoZero(K * geo.n * P) // [K, N·P]
	im2col(cols, x.Data, geo)
	tmp := g.bufNoZero(geo.o * geo.n * P) // [O, N·P]
	mm(false, false, geo.o, geo.n*P, K, 1, w.Data, K, cols, geo.n*P, 0, tmp, geo.n*P)
	out := g.newTensor(geo.n, geo.o, geo.oh, geo.ow)
	for o := 0; o < geo.o; o++ {
		var b T
		if bias != nil {
			b = bias.Data[o]
		}
		for nn := 0; nn < geo.n; nn++ {
			src, dst := tmp[(o*geo.n+nn)*P:], out.Data[(nn*geo.o+o)*P:(nn*geo.o+o+1)*P]
			for i := range dst {
				dst[i] = src[i] + b
			}
		}
	}
	if n := g.record(out, conv2dBackward[T], x, w, bias); n != nil {
		n.aux[0], n.aux[1] = cols, tmp
		n.ints[0], n.ints[1] = stride, pad
	}
	return out
}

type convGeo struct{ n, c, h, w, o, kh, kw, stride, pad, oh, ow int }

func convGeometry(xs, ws []int, stride, pad int) convGeo {
	g := convGeo{n: xs[0], c: xs[1], h: xs[2], w: xs[3], o: ws[0], kh: ws[2], kw: ws[3], stride: stride, pad: pad}
	g.oh = (g.h+2*pad-g.kh)/stride + 1
	g.ow = (g.w+2*pad-g.kw)/stride + 1
	return g
}

// im2col writes cols[(c·KH+i)·KW+j][n·P + oy·OW + ox] = x[n][c][oy·s+i−p][ox·s+j−p].
func im2col[T Float](cols, x []T, g convGeo) {
	P := g.oh * g.ow
	NP := g.n * P
	pfor2(g.c*g.kh*g.kw, NP, func(lo, hi int) {
		for row := lo; row < hi; row++ {
			c, i, j := row/(g.kh*g.kw), row/g.kw%g.kh, row%g.kw
			dst := cols[row*NP : (row+1)*NP]
			for nn := 0; nn < g.n; nn++ {
				img := x[(nn*g.c+c)*g.h*g.w:]
				for oy := 0; oy < g.oh; oy++ {
					y := oy*g.stride + i - g.pad
					d := dst[nn*P+oy*g.ow : nn*P+(oy+1)*g.ow]
					if y < 0 || y >= g.h {
						clear(d)
						continue
					}
					for ox := range d {
						xx := ox*g.stride + j - g.pad
						if xx < 0 || xx >= g.w {
							d[ox] = 0
						} else {
							d[ox] = img[y*g.w+xx]
						}
					}
				}
			}
		}
	})
}

// col2im adds cols back into dx (the adjoint of im2col). Parallel over
// channels, whose image regions are disjoint.
func col2im[T Float](dx, cols []T, g convGeo) {
	P := g.oh * g.ow
	NP := g.n * P
	pfor2(g.c, g.kh*g.kw*NP, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			for i := 0; i < g.kh; i++ {
				for j := 0; j < g.kw; j++ {
					src := cols[((c*g.kh+i)*g.kw+j)*NP:]
					for nn := 0; nn < g.n; nn++ {
						img := dx[(nn*g.c+c)*g.h*g.w:]
						for oy := 0; oy < g.oh; oy++ {
							y := oy*g.stride + i - g.pad
							if y < 0 || y >= g.h {
								continue
							}
							s := src[nn*P+oy*g.ow:]
							for ox := 0; ox < g.ow; ox++ {
								if xx := ox*g.stride + j - g.pad; xx >= 0 && xx < g.w {
									img[y*g.w+xx] += s[ox]
								}
							}
						}
					}
				}
			}
		}
	})
}

func conv2dBackward[T Float](g *Graph[T], n *node[T]) {
	x, w, bias, out := n.in[0], n.in[1], n.in[2], n.out
	geo := convGeometry(x.Shape(), w.Shape(), n.ints[0], n.ints[1])
	P := geo.oh * geo.ow
	K := geo.c * geo.kh * geo.kw
	NP := geo.n * P
	cols, dTmp := n.aux[0], n.aux[1] // reuse tmp's buffer for dOut as [O, N·P]
	dY := out.Grad
	for o := 0; o < geo.o; o++ {
		for nn := 0; nn < geo.n; nn++ {
			copy(dTmp[(o*geo.n+nn)*P:(o*geo.n+nn+1)*P], dY[(nn*geo.o+o)*P:])
		}
	}
	if n.wants(2) {
		dB := g.grad(bias)
		for o := 0; o < geo.o; o++ {
			var s float64
			for _, v := range dTmp[o*NP : (o+1)*NP] {
				s += float64(v)
			}
			dB[o] += T(s)
		}
	}
	if n.wants(1) { // dW[O, K] += dOut[O, NP] · colsᵀ
		mm(false, true, geo.o, K, NP, 1, dTmp, NP, cols, NP, 1, g.grad(w), K)
	}
	if n.wants(0) { // dcols[K, NP] = Wᵀ · dOut
		mm(true, false, K, NP, geo.o, 1, w.Data, K, dTmp, NP, 0, cols, NP)
		col2im(g.grad(x), cols, geo)
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
	pfor2(N*C, OH*OW*k*k, func(lo, hi int) {
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
	})
	if n := g.record(out, poolBackward[T], x); n != nil {
		n.aux[0] = arg
		n.ints[0], n.ints[1] = k, stride
	}
	return out
}

func poolBackward[T Float](g *Graph[T], n *node[T]) {
	x := n.in[0]
	k, stride := n.ints[0], n.ints[1]
	N, C, H, W := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	OH, OW := n.out.Dim(2), n.out.Dim(3)
	dX, dY, arg := g.grad(x), n.out.Grad, n.aux[0]
	pfor2(N*C, OH*OW*k*k, func(lo, hi int) {
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
	})
}
