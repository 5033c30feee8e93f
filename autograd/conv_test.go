package autograd

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/tramlab/tram/internal/parallel"
	"github.com/tramlab/tram/tensor"
)

// convCase is one convolution shape: x [n, c, h, w], weight [o, c, kh, kw].
type convCase struct {
	n, c, h, w, o, kh, kw, stride, pad int
	bias                               bool
}

func (k convCase) String() string {
	return fmt.Sprintf("x%dx%dx%dx%d_w%dx%dx%d_s%d_p%d_b%v", k.n, k.c, k.h, k.w, k.o, k.kh, k.kw, k.stride, k.pad, k.bias)
}

// convCases cover one image per group (≥ convGroupCols positions), groups
// of several images with a smaller last one, strides with and without
// padding, 1×1 kernels and kernels that do not fit every position.
var convCases = []convCase{
	{3, 2, 17, 17, 4, 3, 3, 1, 1, true},  // 289 positions: a group per image
	{25, 2, 5, 5, 3, 3, 3, 1, 1, false},  // groups of 11, 11, 3
	{30, 3, 9, 8, 4, 3, 3, 2, 1, true},   // strided, padded: groups of 13, 13, 4
	{9, 4, 8, 8, 5, 1, 1, 2, 0, false},   // 1×1 downsample
	{7, 2, 5, 7, 3, 2, 3, 3, 2, true},    // stride 3, padding 2, non-square kernel
	{2, 1, 28, 28, 3, 3, 3, 1, 1, false}, // one input channel
	{40, 2, 4, 4, 2, 3, 3, 1, 0, true},   // 2×2 outputs: groups of 64 → one group
	{4, 3, 6, 6, 2, 5, 5, 1, 2, true},    // "same" 5×5
	{5, 3, 4, 4, 2, 1, 1, 1, 0, false},   // "same" 1×1
	{3, 2, 3, 3, 2, 7, 7, 1, 3, false},   // "same", kernel larger than the image
	{2, 1, 1, 2, 2, 9, 9, 1, 4, false},   // "same", shifts past the whole image
}

// directConv computes the convolution and its gradients by definition, in
// float64: y[n,o,oy,ox] = b[o] + Σ w[o,c,i,j]·x[n,c,oy·s+i−p,ox·s+j−p], and
// for the output gradient dy, dx, dw and db.
func directConv(k convCase, x, w, b, dy []float64) (y, dx, dw, db []float64) {
	oh, ow := (k.h+2*k.pad-k.kh)/k.stride+1, (k.w+2*k.pad-k.kw)/k.stride+1
	y = make([]float64, k.n*k.o*oh*ow)
	dx, dw, db = make([]float64, len(x)), make([]float64, len(w)), make([]float64, k.o)
	for n := 0; n < k.n; n++ {
		for o := 0; o < k.o; o++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					yi := ((n*k.o+o)*oh+oy)*ow + ox
					s := 0.0
					if b != nil {
						s = b[o]
						db[o] += dy[yi]
					}
					for c := 0; c < k.c; c++ {
						for i := 0; i < k.kh; i++ {
							for j := 0; j < k.kw; j++ {
								yy, xx := oy*k.stride+i-k.pad, ox*k.stride+j-k.pad
								if yy < 0 || yy >= k.h || xx < 0 || xx >= k.w {
									continue
								}
								xi := ((n*k.c+c)*k.h+yy)*k.w + xx
								wi := ((o*k.c+c)*k.kh+i)*k.kw + j
								s += w[wi] * x[xi]
								dx[xi] += w[wi] * dy[yi]
								dw[wi] += x[xi] * dy[yi]
							}
						}
					}
					y[yi] = s
				}
			}
		}
	}
	return y, dx, dw, db
}

func maxRelErr(got, want []float64) float64 {
	var num, den float64
	for i := range want {
		num = math.Max(num, math.Abs(got[i]-want[i]))
		den = math.Max(den, math.Abs(want[i]))
	}
	return num / math.Max(den, 1e-300)
}

// TestConv2dMatchesDefinition checks the grouped im2col forward and the
// backward (gradients written into fresh buffers and accumulated into
// existing ones) against the definition, at 1, 2 and 3 threads.
func TestConv2dMatchesDefinition(t *testing.T) {
	for _, k := range convCases {
		for _, threads := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%v/threads%d", k, threads), func(t *testing.T) {
				defer parallel.SetThreads(parallel.SetThreads(threads))
				x := rnd(1, k.n, k.c, k.h, k.w).SetRequiresGrad(true)
				w := rnd(2, k.o, k.c, k.kh, k.kw).SetRequiresGrad(true)
				var b *t64
				var bd []float64
				if k.bias {
					b = rnd(3, k.o).SetRequiresGrad(true)
					bd = b.Data
				}
				g := NewGraph[float64]()
				// x0 is an intermediate, so its gradient buffer is attached
				// fresh by the convolution; x, a leaf, accumulates.
				x0 := g.Scale(x, 1, 0)
				y := g.Conv2d(x0, w, b, k.stride, k.pad)
				dy := rnd(4, y.Shape()...)
				wantY, wantDX, wantDW, wantDB := directConv(k, x.Data, w.Data, bd, dy.Data)
				if e := maxRelErr(y.Data, wantY); e > 1e-13 {
					t.Fatalf("forward: relative error %.3g", e)
				}
				for i := range x.Grad {
					x.Grad[i] = 1 // accumulates onto what is there
				}
				g.Backward(g.Sum(g.Mul(y, dy)))
				for i := range wantDX {
					wantDX[i]++
				}
				for name, c := range map[string][2][]float64{"x": {x.Grad, wantDX}, "w": {w.Grad, wantDW}} {
					if e := maxRelErr(c[0], c[1]); e > 1e-13 {
						t.Errorf("gradient of %s: relative error %.3g", name, e)
					}
				}
				if b != nil {
					if e := maxRelErr(b.Grad, wantDB); e > 1e-13 {
						t.Errorf("gradient of the bias: relative error %.3g", e)
					}
				}
			})
		}
	}
}

// TestConv2dDeterministic: float32 results are bit-identical between runs
// at a given thread count, and agree closely across thread counts.
func TestConv2dDeterministic(t *testing.T) {
	run := func(threads int) (y, dx, dw []float32) {
		defer parallel.SetThreads(parallel.SetThreads(threads))
		rng := tensor.NewRNG(7)
		x := tensor.Randn[float32](rng, 1, 24, 8, 14, 14).SetRequiresGrad(true)
		w := tensor.Randn[float32](rng, 0.1, 16, 8, 3, 3).SetRequiresGrad(true)
		g := NewGraph[float32]()
		out := g.Conv2d(g.Scale(x, 1, 0), w, nil, 1, 1)
		proj := tensor.Randn[float32](rng, 1, out.Shape()...)
		g.Backward(g.Sum(g.Mul(out, proj)))
		return append([]float32(nil), out.Data...), append([]float32(nil), x.Grad...), append([]float32(nil), w.Grad...)
	}
	var ref [3][]float32
	for _, threads := range []int{1, 2, 3, 4} {
		a0, a1, a2 := run(threads)
		b0, b1, b2 := run(threads)
		for j, pair := range [][2][]float32{{a0, b0}, {a1, b1}, {a2, b2}} {
			for i := range pair[0] {
				if math.Float32bits(pair[0][i]) != math.Float32bits(pair[1][i]) {
					t.Fatalf("threads=%d: result %d element %d differs between identical runs", threads, j, i)
				}
			}
		}
		if ref[0] == nil {
			ref = [3][]float32{a0, a1, a2}
			continue
		}
		for j, got := range [][]float32{a0, a1, a2} {
			var num, den float64
			for i := range got {
				num = math.Max(num, math.Abs(float64(got[i]-ref[j][i])))
				den = math.Max(den, math.Abs(float64(ref[j][i])))
			}
			if num/den > 1e-5 {
				t.Errorf("threads=%d: result %d differs from 1 thread by %.3g (relative)", threads, j, num/den)
			}
		}
	}
}

// TestConv2dNoAllocations: after a warm-up step, forward and backward take
// every buffer from the graph.
func TestConv2dNoAllocations(t *testing.T) {
	rng := tensor.NewRNG(3)
	x := tensor.Randn[float32](rng, 1, 32, 8, 28, 28) // 800 KB; the columns of the batch would be 7 MB
	w := tensor.Randn[float32](rng, 0.1, 8, 8, 3, 3).SetRequiresGrad(true)
	w2 := tensor.Randn[float32](rng, 0.1, 8, 8, 3, 3).SetRequiresGrad(true)
	g := NewGraph[float32]()
	step := func() {
		g.Reset()
		y := g.Conv2d(g.Conv2d(x, w, nil, 1, 1), w2, nil, 2, 1)
		g.Backward(g.Sum(g.ReLU(y)))
	}
	step()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 5 {
		step()
	}
	runtime.ReadMemStats(&after)
	// What is left is small: closures of the parallel loops, pooled
	// objects that a garbage collection dropped.
	if n := (after.TotalAlloc - before.TotalAlloc) / 5; n > 64<<10 {
		t.Errorf("%d bytes allocated per step after warm-up", n)
	}
}

// The convolutions of the cnn workload of `tram bench` (batch 128) and of
// evaluation (batch 256, no gradient).
func BenchmarkConv2d(b *testing.B) {
	for _, k := range []convCase{
		{128, 32, 28, 28, 32, 3, 3, 1, 1, false},
		{128, 32, 28, 28, 64, 3, 3, 2, 1, false},
		{128, 64, 14, 14, 64, 3, 3, 1, 1, false},
		{128, 64, 14, 14, 128, 1, 1, 2, 0, false},
		{128, 128, 7, 7, 128, 3, 3, 1, 1, false},
	} {
		rng := tensor.NewRNG(1)
		x := tensor.Randn[float32](rng, 1, k.n, k.c, k.h, k.w).SetRequiresGrad(true)
		w := tensor.Randn[float32](rng, 0.1, k.o, k.c, k.kh, k.kw).SetRequiresGrad(true)
		g := NewGraph[float32]()
		b.Run(k.String()+"/train", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g.Reset()
				g.Backward(g.Sum(g.Conv2d(x, w, nil, k.stride, k.pad)))
			}
		})
		x2 := tensor.Randn[float32](rng, 1, 2*k.n, k.c, k.h, k.w)
		b.Run(k.String()+"/eval256", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g.Reset()
				g.NoGrad(func() { g.Conv2d(x2, w, nil, k.stride, k.pad) })
			}
		})
	}
}

func BenchmarkIm2col(b *testing.B) {
	for _, k := range []convCase{
		{128, 32, 28, 28, 32, 3, 3, 1, 1, false},
		{128, 32, 28, 28, 64, 3, 3, 2, 1, false},
		{128, 64, 14, 14, 64, 3, 3, 1, 1, false},
		{128, 128, 7, 7, 128, 3, 3, 1, 1, false},
	} {
		geo := convGeometry([]int{k.n, k.c, k.h, k.w}, []int{k.o, k.c, k.kh, k.kw}, k.stride, k.pad)
		pl := geo.plan()
		x := tensor.Randn[float32](tensor.NewRNG(1), 1, k.n, k.c, k.h, k.w).Data
		cols := make([]float32, geo.kk()*pl.gp)
		dx := make([]float32, len(x))
		b.Run(k.String(), func(b *testing.B) {
			for b.Loop() {
				for gr := 0; gr < pl.ngroups; gr++ {
					n0, gn := pl.group(gr, k.n)
					im2col(cols, x, geo, n0, gn)
				}
			}
		})
		b.Run(k.String()+"/col2im", func(b *testing.B) {
			for b.Loop() {
				for gr := 0; gr < pl.ngroups; gr++ {
					n0, gn := pl.group(gr, k.n)
					col2im(dx, cols, geo, n0, gn, false)
				}
			}
		})
	}
}
