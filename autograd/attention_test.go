package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tramlab/tram/internal/parallel"
	"github.com/tramlab/tram/tensor"
)

// referenceAttention is attention with dropout written out plainly in
// float64, drawing the dropout mask in the order AttentionDropout documents:
// (batch, head, query i, key j) row-major, keys j ≤ i only when causal.
func referenceAttention(qkv []float64, B, T, C, heads int, causal bool, keep []bool, p float64, rng *rand.Rand) []float64 {
	hd := C / heads
	out := make([]float64, B*T*C)
	at := func(b, t, part, h, k int) float64 { return qkv[(b*T+t)*3*C+part*C+h*hd+k] }
	for b := 0; b < B; b++ {
		for h := 0; h < heads; h++ {
			for i := 0; i < T; i++ {
				n := T
				if causal {
					n = i + 1
				}
				drop := make([]float64, T)
				for j := 0; j < n; j++ {
					drop[j] = 1 / (1 - p)
					if p > 0 && rng.Float64() < p {
						drop[j] = 0
					}
				}
				s := make([]float64, n)
				mx := math.Inf(-1)
				for j := 0; j < n; j++ {
					for k := 0; k < hd; k++ {
						s[j] += at(b, i, 0, h, k) * at(b, j, 1, h, k)
					}
					s[j] /= math.Sqrt(float64(hd))
					if keep == nil || keep[b*T+j] {
						mx = math.Max(mx, s[j])
					}
				}
				var z float64
				for j := 0; j < n; j++ {
					if keep != nil && !keep[b*T+j] {
						s[j] = 0
						continue
					}
					s[j] = math.Exp(s[j] - mx)
					z += s[j]
				}
				for j := 0; j < n; j++ {
					w := s[j] / z * drop[j]
					for k := 0; k < hd; k++ {
						out[(b*T+i)*C+h*hd+k] += w * at(b, j, 2, h, k)
					}
				}
			}
		}
	}
	return out
}

func TestAttentionDropoutMatchesReference(t *testing.T) {
	B, T, C, heads := 2, 5, 6, 3
	qkv := rnd(7, B, T, 3*C)
	keep := []bool{true, true, true, false, false, true, false, true, true, true}
	for _, c := range []struct {
		name   string
		causal bool
		keep   []bool
		p      float64
	}{
		{"causal", true, nil, 0.3},
		{"padding", false, keep, 0.5},
		{"causal+padding", true, keep, 0.2},
		{"no dropout", true, keep, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := NewGraph[float64]()
			got := g.AttentionDropout(qkv, heads, c.causal, c.keep, c.p, tensor.NewRNG(11))
			want := referenceAttention(qkv.Data, B, T, C, heads, c.causal, c.keep, c.p, tensor.NewRNG(11))
			for i := range want {
				if math.Abs(got.Data[i]-want[i]) > 1e-12 {
					t.Fatalf("element %d: %v, reference %v", i, got.Data[i], want[i])
				}
			}
		})
	}
}

// TestAttentionDropoutZeroIsAttention: p = 0 is today's attention bit for
// bit, forward and backward, draws nothing from the RNG and takes no more
// buffers from the graph.
func TestAttentionDropoutZeroIsAttention(t *testing.T) {
	x := tensor.Randn[float32](tensor.NewRNG(3), 1, 2, 7, 24)
	keep := make([]bool, 14)
	for i := range keep {
		keep[i] = i%5 != 3
	}
	w := tensor.Randn[float32](tensor.NewRNG(4), 1, 2, 7, 8)
	run := func(dropout bool, causal bool, keep []bool) (out, grad []float32, buffers int, rng *rand.Rand) {
		g := NewGraph[float32]()
		x.SetRequiresGrad(true)
		x.ZeroGrad()
		rng = tensor.NewRNG(9)
		var y *Tensor[float32]
		if dropout {
			y = g.AttentionDropout(x, 2, causal, keep, 0, rng)
		} else {
			y = g.Attention(x, 2, causal, keep)
		}
		buffers = len(g.used)
		g.Backward(g.Sum(g.Mul(y, w)))
		return append([]float32(nil), y.Data...), append([]float32(nil), x.Grad...), buffers, rng
	}
	for _, c := range []struct {
		causal bool
		keep   []bool
	}{{true, nil}, {false, keep}, {true, keep}} {
		o1, g1, b1, _ := run(false, c.causal, c.keep)
		o2, g2, b2, rng := run(true, c.causal, c.keep)
		for i := range o1 {
			if math.Float32bits(o1[i]) != math.Float32bits(o2[i]) {
				t.Fatalf("causal=%v: output %d differs: %v vs %v", c.causal, i, o1[i], o2[i])
			}
		}
		for i := range g1 {
			if math.Float32bits(g1[i]) != math.Float32bits(g2[i]) {
				t.Fatalf("causal=%v: gradient %d differs: %v vs %v", c.causal, i, g1[i], g2[i])
			}
		}
		if b1 != b2 {
			t.Fatalf("p = 0 took %d buffers, Attention %d", b2, b1)
		}
		if rng.Uint64() != tensor.NewRNG(9).Uint64() {
			t.Fatal("p = 0 drew from the RNG")
		}
	}
}

// TestAttentionDropoutDeterministic: the mask depends on the seed only, not
// on the thread count; another seed gives another mask; about p of the
// visible probabilities are dropped.
func TestAttentionDropoutDeterministic(t *testing.T) {
	x := tensor.Randn[float32](tensor.NewRNG(5), 1, 3, 16, 48)
	w := tensor.Randn[float32](tensor.NewRNG(6), 1, 3, 16, 16)
	run := func(threads int, seed uint64) (out, grad []float32, mask []float32) {
		defer parallel.SetThreads(parallel.SetThreads(threads))
		g := NewGraph[float32]()
		x.SetRequiresGrad(true)
		x.ZeroGrad()
		y := g.AttentionDropout(x, 4, true, nil, 0.25, tensor.NewRNG(seed))
		mask = append([]float32(nil), g.nodes[len(g.nodes)-1].aux[1]...)
		g.Backward(g.Sum(g.Mul(y, w)))
		return append([]float32(nil), y.Data...), append([]float32(nil), x.Grad...), mask
	}
	o1, g1, m1 := run(1, 1)
	for _, threads := range []int{2, 3} {
		o, gr, _ := run(threads, 1)
		for i := range o1 {
			if math.Float32bits(o1[i]) != math.Float32bits(o[i]) {
				t.Fatalf("threads=%d: output %d differs", threads, i)
			}
		}
		for i := range g1 {
			if math.Float32bits(g1[i]) != math.Float32bits(gr[i]) {
				t.Fatalf("threads=%d: gradient %d differs", threads, i)
			}
		}
	}
	_, _, m2 := run(1, 2)
	same, dropped, visible := true, 0, 0
	for r := 0; r < len(m1)/16; r++ {
		for j := 0; j < 16; j++ {
			v := m1[r*16+j]
			if j > r%16 {
				if v != 0 {
					t.Fatalf("mask entry above the diagonal: %v", v)
				}
				continue
			}
			visible++
			switch v {
			case 0:
				dropped++
			case 1 / 0.75:
			default:
				t.Fatalf("mask entry %v is neither 0 nor 1/(1−p)", v)
			}
			same = same && v == m2[r*16+j]
		}
	}
	if same {
		t.Fatal("seeds 1 and 2 drew the same mask")
	}
	if f := float64(dropped) / float64(visible); math.Abs(f-0.25) > 0.05 {
		t.Fatalf("dropped %.3f of %d visible probabilities, want about 0.25", f, visible)
	}
}

// BenchmarkAttention: forward and backward of GPT-2-small-like attention
// (one batch of 4×128 tokens, 4 heads of 64), without and with dropout.
func BenchmarkAttention(b *testing.B) {
	for _, p := range []float64{0, 0.1} {
		b.Run(fmt.Sprintf("p=%g", p), func(b *testing.B) {
			x := tensor.Randn[float32](tensor.NewRNG(1), 1, 4, 128, 3*256)
			w := tensor.Randn[float32](tensor.NewRNG(2), 1, 4, 128, 256)
			x.SetRequiresGrad(true)
			g := NewGraph[float32]()
			rng := tensor.NewRNG(3)
			for b.Loop() {
				g.Reset()
				x.ZeroGrad()
				y := g.AttentionDropout(x, 4, true, nil, p, rng)
				g.Backward(g.Sum(g.Mul(y, w)))
			}
		})
	}
}
