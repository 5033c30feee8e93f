package autograd

import (
	"math"
	"strings"
	"testing"

	"github.com/tramlab/tram/internal/parallel"
	"github.com/tramlab/tram/tensor"
)

func TestShapeErrorsNameBothShapes(t *testing.T) {
	g := NewGraph[float32]()
	a, b := tensor.New[float32](2, 3), tensor.New[float32](4, 5)
	cases := []struct {
		name string
		f    func()
		want []string
	}{
		{"Add", func() { g.Add(a, b) }, []string{"Add", "[2 3]", "[4 5]"}},
		{"MatMul", func() { g.MatMul(a, b, false, false) }, []string{"MatMul", "[2 3]", "[4 5]"}},
		{"Linear", func() { g.Linear(a, b, nil, false) }, []string{"Linear", "[2 3]", "[4 5]"}},
		{"Concat", func() { g.Concat(a, b, 0) }, []string{"Concat", "[2 3]", "[4 5]"}},
		{"KL", func() { g.KL(a, b) }, []string{"KL", "[2 3]", "[4 5]"}},
		{"Reshape", func() { g.Reshape(a, 4, 2) }, []string{"Reshape", "[2 3]", "[4 2]"}},
		{"Conv2d", func() { g.Conv2d(tensor.New[float32](1, 2, 5, 5), tensor.New[float32](3, 4, 3, 3), nil, 1, 0) }, []string{"[1 2 5 5]", "[3 4 3 3]"}},
		{"CrossEntropy", func() { g.CrossEntropy(a, []int32{0}, -1) }, []string{"1 targets", "[2 3]"}},
		{"CrossEntropy target", func() { g.CrossEntropy(a, []int32{0, 7}, -1) }, []string{"target 7", "range [0, 3)"}},
		{"Embedding id", func() { g.Embedding(a, []int32{5}) }, []string{"id 5", "[0, 2)"}},
		{"Attention", func() { g.Attention(tensor.New[float32](1, 2, 10), 2, true, nil) }, []string{"[1 2 10]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				for _, w := range tc.want {
					if !strings.Contains(msg, w) {
						t.Fatalf("panic %q does not mention %q", msg, w)
					}
				}
			}()
			tc.f()
		})
	}
}

// gptLikeLoss builds a small pre-LN attention block and a loss in float32.
func gptLikeLoss(g *Graph[float32], ps *tensor.Params[float32], ids, tgt []int32) *Tensor[float32] {
	wte, wpe := ps.Get("wte"), ps.Get("wpe")
	x := g.Add(g.Embedding(wte, ids, 2, 8, 16), wpe)
	h := g.LayerNorm(x, ps.Get("ln.g"), ps.Get("ln.b"), 1e-5)
	a := g.Attention(g.Linear(h, ps.Get("attn.w"), ps.Get("attn.b"), false), 2, true, nil)
	x = g.Add(x, g.Linear(g.GELU(a), ps.Get("proj.w"), nil, false))
	logits := g.Linear(x, wte, nil, true) // tied head
	return g.CrossEntropy(logits, tgt, -1)
}

func smallModel(seed uint64) (*tensor.Params[float32], []int32, []int32) {
	var ps tensor.Params[float32]
	rng := tensor.NewRNG(seed)
	for _, p := range []struct {
		name  string
		shape []int
	}{{"wte", []int{50, 16}}, {"wpe", []int{8, 16}}, {"ln.g", []int{16}}, {"ln.b", []int{16}},
		{"attn.w", []int{16, 48}}, {"attn.b", []int{48}}, {"proj.w", []int{16, 16}}} {
		t := ps.Add(p.name, p.shape...)
		tensor.FillNormal(rng, t.Data, 0.3)
	}
	ids, tgt := make([]int32, 16), make([]int32, 16)
	for i := range ids {
		ids[i], tgt[i] = int32(rng.IntN(50)), int32(rng.IntN(50))
	}
	return &ps, ids, tgt
}

func TestDeterministicGradients(t *testing.T) {
	run := func(threads int) []float32 {
		defer parallel.SetThreads(parallel.SetThreads(threads))
		ps, ids, tgt := smallModel(3)
		g := NewGraph[float32]()
		g.Backward(gptLikeLoss(g, ps, ids, tgt))
		return append([]float32(nil), ps.Grad...)
	}
	for _, threads := range []int{1, 2, 3} {
		a, b := run(threads), run(threads)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("threads=%d: gradient %d differs between identical runs: %v vs %v", threads, i, a[i], b[i])
			}
		}
	}
}

func TestGradientsAccumulateAndNoGrad(t *testing.T) {
	ps, ids, tgt := smallModel(4)
	g := NewGraph[float32]()
	g.Backward(gptLikeLoss(g, ps, ids, tgt))
	once := append([]float32(nil), ps.Grad...)
	g.Reset()
	g.Backward(gptLikeLoss(g, ps, ids, tgt))
	for i := range once {
		if d := ps.Grad[i] - 2*once[i]; math.Abs(float64(d)) > 1e-5*(1+math.Abs(float64(once[i]))) {
			t.Fatalf("gradient %d: second Backward gave %v, want 2×%v", i, ps.Grad[i], once[i])
		}
	}
	g.Reset()
	before := g.Len()
	g.NoGrad(func() {
		loss := gptLikeLoss(g, ps, ids, tgt)
		if loss.RequiresGrad() {
			t.Fatal("loss computed under NoGrad requires a gradient")
		}
	})
	if g.Len() != before {
		t.Fatalf("NoGrad recorded %d nodes", g.Len()-before)
	}
}

// TestFloat32MatchesFloat64 runs the same block in both precisions: the
// float32 hot path (assembly GEMM, fast exp/tanh) must agree with float64.
func TestFloat32MatchesFloat64(t *testing.T) {
	ps, ids, tgt := smallModel(5)
	g := NewGraph[float32]()
	loss := gptLikeLoss(g, ps, ids, tgt)
	g.Backward(loss)

	var p64 tensor.Params[float64]
	for _, p := range ps.List() {
		q := p64.Add(p.Name(), p.Shape()...)
		for i, v := range p.Data {
			q.Data[i] = float64(v)
		}
	}
	g64 := NewGraph[float64]()
	x := g64.Add(g64.Embedding(p64.Get("wte"), ids, 2, 8, 16), p64.Get("wpe"))
	h := g64.LayerNorm(x, p64.Get("ln.g"), p64.Get("ln.b"), 1e-5)
	a := g64.Attention(g64.Linear(h, p64.Get("attn.w"), p64.Get("attn.b"), false), 2, true, nil)
	x = g64.Add(x, g64.Linear(g64.GELU(a), p64.Get("proj.w"), nil, false))
	loss64 := g64.CrossEntropy(g64.Linear(x, p64.Get("wte"), nil, true), tgt, -1)
	g64.Backward(loss64)
	if d := math.Abs(float64(loss.Item()) - loss64.Item()); d > 1e-5*math.Abs(loss64.Item()) {
		t.Fatalf("loss float32 %v vs float64 %v", loss.Item(), loss64.Item())
	}
	var num, den float64
	for i, v := range ps.Grad {
		d := float64(v) - p64.Grad[i]
		num += d * d
		den += p64.Grad[i] * p64.Grad[i]
	}
	if rel := math.Sqrt(num / den); rel > 1e-5 {
		t.Fatalf("gradient relative error float32 vs float64: %.3g", rel)
	}
}

func TestStepAllocatesAlmostNothing(t *testing.T) {
	ps, ids, tgt := smallModel(6)
	g := NewGraph[float32]()
	step := func() {
		g.Reset()
		ps.ZeroGrad()
		g.Backward(gptLikeLoss(g, ps, ids, tgt))
	}
	step()
	allocs := testing.AllocsPerRun(10, step)
	// Closures handed to the parallel loops are the only allocations left:
	// a few per op, no buffers.
	if allocs > 150 {
		t.Fatalf("%.0f allocations per step after warm-up; buffers are not being reused", allocs)
	}
	t.Logf("%.0f allocations per step", allocs)
}

func TestSizeClassBoundsWaste(t *testing.T) {
	prev := -1
	for n := 0; n <= 1<<16; n++ {
		c := sizeClass(n)
		if c < prev {
			t.Fatalf("sizeClass(%d) = %d < sizeClass(%d) = %d: classes must not decrease with size", n, c, n-1, prev)
		}
		prev = c
		size := classSize(c)
		if size < n {
			t.Fatalf("classSize(sizeClass(%d)) = %d: smaller than asked", n, size)
		}
		if n > 8 && 4*size > 5*n+3 {
			t.Fatalf("classSize(sizeClass(%d)) = %d: more than 1/4 larger than asked", n, size)
		}
		if sizeClass(size) != c {
			t.Fatalf("class %d's size %d is in class %d", c, size, sizeClass(size))
		}
	}
}

// Steps whose shapes vary (text batches padded to their longest sequence)
// must reuse each other's buffers rather than keep one set per length.
func TestVaryingShapesReuseBuffers(t *testing.T) {
	g := NewGraph[float32]()
	step := func(n int) {
		g.Reset()
		x := g.Buffer(n)
		if len(x) != n || cap(x) != n {
			t.Fatalf("Buffer(%d): len %d cap %d", n, len(x), cap(x))
		}
		for i := range x {
			if x[i] != 0 {
				t.Fatalf("Buffer(%d)[%d] = %v, want a zeroed buffer", n, i, x[i])
			}
			x[i] = 1
		}
	}
	step(1000)
	var free int
	for n := 1000; n >= 500; n-- {
		step(n)
	}
	g.Reset()
	for _, fl := range g.free {
		free += len(fl)
	}
	if free != 1 {
		t.Fatalf("%d buffers kept after steps of 1000…500 elements, want the one the largest step made", free)
	}
}
