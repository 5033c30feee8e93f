package autograd

import (
	"math"
	"testing"

	"github.com/tramlab/tram/internal/parallel"
	"github.com/tramlab/tram/tensor"
)

// TestGradCheckLinearQKV: finite-difference checks of LinearQKV alone (both
// weight layouts, with and without biases), in a post-LN BERT attention
// block (x also feeds the residual, so x's gradient accumulates; masked
// attention with and without dropout writes a fresh qkv gradient), and of
// an attention whose input gradient is accumulated (one qkv, two
// attentions).
func TestGradCheckLinearQKV(t *testing.T) {
	keep := []bool{true, true, false, true, true, true, true, false}
	qkv := func(in []*t64, transW bool) func(g *Graph[float64]) *t64 {
		return func(g *Graph[float64]) *t64 {
			return g.LinearQKV(in[0], [3]*t64{in[1], in[2], in[3]}, [3]*t64{in[4], in[5], in[6]}, transW)
		}
	}
	cases := []struct {
		name   string
		inputs []*t64
		f      func(g *Graph[float64], in []*t64) *t64
	}{
		{"out-in layout", []*t64{rnd(1, 2, 3, 4), rnd(2, 6, 4), rnd(3, 6, 4), rnd(4, 6, 4), rnd(5, 6), rnd(6, 6), rnd(7, 6)},
			func(g *Graph[float64], in []*t64) *t64 { return qkv(in, true)(g) }},
		{"in-out layout", []*t64{rnd(1, 5, 4), rnd(2, 4, 3), rnd(3, 4, 3), rnd(4, 4, 3), rnd(5, 3), rnd(6, 3), rnd(7, 3)},
			func(g *Graph[float64], in []*t64) *t64 { return qkv(in, false)(g) }},
		{"no key bias", []*t64{rnd(1, 2, 3, 4), rnd(2, 6, 4), rnd(3, 6, 4), rnd(4, 6, 4), rnd(5, 6), nil, rnd(7, 6)},
			func(g *Graph[float64], in []*t64) *t64 { return qkv(in, true)(g) }},
		{"post-LN BERT attention block", []*t64{rnd(1, 2, 4, 4), rnd(2, 4, 4), rnd(3, 4, 4), rnd(4, 4, 4), rnd(5, 4), rnd(6, 4), rnd(7, 4), rnd(8, 4, 4), rnd(9, 4), rnd(10, 4)},
			func(g *Graph[float64], in []*t64) *t64 {
				x := g.Tanh(in[0]) // an intermediate, as the previous layer's output
				a := g.Attention(qkv([]*t64{x, in[1], in[2], in[3], in[4], in[5], in[6]}, true)(g), 2, false, keep)
				return g.LayerNorm(g.Add(x, g.Linear(a, in[7], nil, true)), in[8], in[9], 1e-5)
			}},
		{"attention dropout on LinearQKV", []*t64{rnd(1, 2, 4, 4), rnd(2, 4, 4), rnd(3, 4, 4), rnd(4, 4, 4), rnd(5, 4), rnd(6, 4), rnd(7, 4)},
			func(g *Graph[float64], in []*t64) *t64 {
				return g.AttentionDropout(qkv(in, true)(g), 2, false, keep, 0.3, tensor.NewRNG(4))
			}},
		{"two attentions on one qkv", []*t64{rnd(1, 2, 4, 12)}, func(g *Graph[float64], in []*t64) *t64 {
			z := g.Tanh(in[0])
			return g.Add(g.Attention(z, 2, true, nil), g.AttentionDropout(z, 1, false, keep, 0.2, tensor.NewRNG(8)))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ins []*t64
			for _, in := range tc.inputs {
				if in != nil {
					ins = append(ins, in)
				}
			}
			f := func(g *Graph[float64]) *t64 {
				y := tc.f(g, tc.inputs)
				return project(g, y)
			}
			if err := GradCheck(f, ins, 1e-6, 1e-7, 1e-5); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLinearQKVMatchesLinearConcat: in float32, LinearQKV is three Linear
// ops and two Concats bit for bit, forward and backward (the gradient of x
// accumulating onto an earlier one, as a residual gives it), at any thread
// count, with shapes large enough for the packed, parallel GEMM paths.
func TestLinearQKVMatchesLinearConcat(t *testing.T) {
	const rows, in, out = 384, 96, 192
	rng := tensor.NewRNG(1)
	x := tensor.Randn[float32](rng, 1, 4, rows/4, in)
	var w, b [3]*Tensor[float32]
	for j := range w {
		w[j] = tensor.Randn[float32](rng, 0.1, out, in).SetRequiresGrad(true)
		b[j] = tensor.Randn[float32](rng, 1, out).SetRequiresGrad(true)
	}
	dy := tensor.Randn[float32](rng, 1, 4, rows/4, 3*out)
	run := func(fused bool, threads int) (y, grads []float32) {
		defer parallel.SetThreads(parallel.SetThreads(threads))
		g := NewGraph[float32]()
		for j := range w {
			w[j].ZeroGrad()
			b[j].ZeroGrad()
		}
		h := g.Tanh(x.SetRequiresGrad(true))
		var qkv *Tensor[float32]
		if fused {
			qkv = g.LinearQKV(h, w, b, true)
		} else {
			qkv = g.Concat(g.Concat(g.Linear(h, w[0], b[0], true), g.Linear(h, w[1], b[1], true), 2), g.Linear(h, w[2], b[2], true), 2)
		}
		loss := g.Add(g.Sum(g.Mul(qkv, dy)), g.Sum(g.Mul(h, h))) // h's gradient starts from the second term
		g.Backward(loss)
		grads = append(grads, x.Grad...)
		for j := range w {
			grads = append(append(grads, w[j].Grad...), b[j].Grad...)
		}
		x.ZeroGrad()
		return append([]float32(nil), qkv.Data...), grads
	}
	y0, g0 := run(false, 1)
	for _, threads := range []int{1, 2, 3} {
		y, gr := run(true, threads)
		for i := range y0 {
			if math.Float32bits(y[i]) != math.Float32bits(y0[i]) {
				t.Fatalf("threads=%d: output %d: %v, Linear+Concat %v", threads, i, y[i], y0[i])
			}
		}
		for i := range g0 {
			if math.Float32bits(gr[i]) != math.Float32bits(g0[i]) {
				t.Fatalf("threads=%d: gradient element %d: %v, Linear+Concat %v", threads, i, gr[i], g0[i])
			}
		}
	}
}

// TestLinearQKVShapeErrors: mismatched weights or biases panic with the op's
// name.
func TestLinearQKVShapeErrors(t *testing.T) {
	g := NewGraph[float32]()
	x := tensor.New[float32](2, 4)
	w := tensor.New[float32](3, 4)
	b := tensor.New[float32](3)
	for name, c := range map[string]struct{ w, b [3]*Tensor[float32] }{
		"weight": {[3]*Tensor[float32]{w, tensor.New[float32](3, 5), w}, [3]*Tensor[float32]{b, b, b}},
		"bias":   {[3]*Tensor[float32]{w, w, w}, [3]*Tensor[float32]{b, b, tensor.New[float32](4)}},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			g.LinearQKV(x, c.w, c.b, true)
		}()
	}
}

// BenchmarkLinearQKV: forward and backward of BERT-bench-sized QKV
// projections (2048 tokens, hidden 256) fused and as three Linear ops and
// two Concats.
func BenchmarkLinearQKV(b *testing.B) {
	rng := tensor.NewRNG(1)
	x := tensor.Randn[float32](rng, 1, 32, 64, 256).SetRequiresGrad(true)
	var w, bs [3]*Tensor[float32]
	for j := range w {
		w[j] = tensor.Randn[float32](rng, 0.05, 256, 256).SetRequiresGrad(true)
		bs[j] = tensor.Randn[float32](rng, 1, 256).SetRequiresGrad(true)
	}
	dy := tensor.Randn[float32](rng, 1, 32, 64, 768)
	for _, fused := range []bool{false, true} {
		name := "concat"
		if fused {
			name = "fused"
		}
		b.Run(name, func(b *testing.B) {
			g := NewGraph[float32]()
			b.ReportAllocs()
			for b.Loop() {
				g.Reset()
				var qkv *Tensor[float32]
				if fused {
					qkv = g.LinearQKV(x, w, bs, true)
				} else {
					qkv = g.Concat(g.Concat(g.Linear(x, w[0], bs[0], true), g.Linear(x, w[1], bs[1], true), 2), g.Linear(x, w[2], bs[2], true), 2)
				}
				g.Backward(g.Sum(g.Mul(qkv, dy)))
			}
		})
	}
}
