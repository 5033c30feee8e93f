package bert

import (
	"fmt"
	"testing"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/tensor"
)

// hiddenConcat is Hidden as it was computed before the fused QKV
// projection: three Linear ops whose outputs are concatenated (two Concat
// copies forward, two splits backward). It is kept here, in test code only,
// as the reference the fused path must match bit for bit and as the
// baseline of BenchmarkBERTStep.
func (m *Model) hiddenConcat(p *nn.Pass, b *Batch) *nn.Tensor {
	cfg, g := m.Config, p.G
	x := m.embed(p, b)
	for _, l := range m.Layers {
		qkv := g.Concat(g.Concat(l.Q.Forward(p, x), l.K.Forward(p, x), 2), l.V.Forward(p, x), 2)
		a := nn.Attention(p, qkv, cfg.NumHeads, false, b.Attend, cfg.AttnDropout)
		x = l.AttnLN.Forward(p, g.Add(x, nn.Dropout(p, l.AttnOut.Forward(p, a), cfg.HiddenDropout)))
		h := m.act(p, l.Intermediate.Forward(p, x))
		x = l.OutLN.Forward(p, g.Add(x, nn.Dropout(p, l.Out.Forward(p, h), cfg.HiddenDropout)))
	}
	return x
}

// benchModel is the bench package's bert workload (bench/models.go: hidden
// 256, 4 layers, 4 heads, intermediate 1024, 8 labels, 32×64 tokens).
func benchModel(tb testing.TB) (*Model, *Batch, []int32) {
	labels := map[string]string{}
	for i := range 8 {
		labels[fmt.Sprint(i)] = fmt.Sprintf("LABEL_%d", i)
	}
	cfg := Config{ModelType: "bert", VocabSize: 8192, HiddenSize: 256, NumLayers: 4, NumHeads: 4,
		IntermediateSize: 1024, HiddenAct: "gelu", MaxPositions: 64, TypeVocabSize: 2, LayerNormEps: 1e-12,
		InitRange: 0.02, ID2Label: labels}
	m, err := New(cfg, Classification, 0)
	if err != nil {
		tb.Fatal(err)
	}
	b := &Batch{B: 32, T: 64, IDs: make([]int32, 32*64)}
	rng := tensor.NewRNG(0)
	for i := range b.IDs {
		b.IDs[i] = int32(rng.IntN(8192))
	}
	y := make([]int32, 32)
	for i := range y {
		y[i] = int32(rng.IntN(8))
	}
	return m, b, y
}

// step runs one forward and backward pass of the classification loss with
// the given encoder and returns the loss.
func step(m *Model, g *autograd.Graph[float32], p *nn.Pass, b *Batch, y []int32, hidden func(*nn.Pass, *Batch) *nn.Tensor) float32 {
	g.Reset()
	m.Params().ZeroGrad()
	logits := m.Classifier.Forward(p, m.Pooled(p, hidden(p, b)))
	loss := g.CrossEntropy(logits, y, -1)
	g.Backward(loss)
	return loss.Item()
}

// TestFusedQKVMatchesConcat: the fused QKV projection gives the same
// hidden states, loss and parameter gradients, bit for bit, as three
// Linear ops and two Concats, with a padding mask and with every dropout
// on (the same seed draws the same masks).
func TestFusedQKVMatchesConcat(t *testing.T) {
	for _, typ := range []string{"bert", "roberta"} {
		cfg := Config{ModelType: typ, VocabSize: 40, HiddenSize: 24, NumLayers: 2, NumHeads: 3, IntermediateSize: 48,
			MaxPositions: 16, TypeVocabSize: 2, HiddenAct: "gelu", PadTokenID: 1, HiddenDropout: 0.1, AttnDropout: 0.2}
		m, err := New(cfg, NoHead, 5)
		if err != nil {
			t.Fatal(err)
		}
		b := &Batch{B: 3, T: 7, IDs: []int32{2, 5, 9, 3, 7, 4, 8, 6, 2, 3, 11, 12, 1, 1, 30, 21, 22, 23, 24, 25, 26},
			Attend: []bool{true, true, true, true, true, true, true, true, true, true, true, true, false, false,
				true, true, true, true, true, true, true}}
		run := func(hidden func(*nn.Pass, *Batch) *nn.Tensor) ([]float32, []float32) {
			g := autograd.NewGraph[float32]()
			p := &nn.Pass{G: g, Train: true, RNG: tensor.NewRNG(9)}
			m.Params().ZeroGrad()
			h := hidden(p, b)
			g.Backward(g.Sum(g.Mul(h, g.Tanh(h))))
			return append([]float32(nil), h.Data...), append([]float32(nil), m.Params().Grad...)
		}
		h0, g0 := run(m.hiddenConcat)
		h1, g1 := run(m.Hidden)
		if i := firstDiff(h0, h1); i >= 0 {
			t.Fatalf("%s: hidden state %d: fused %v, concatenated %v", typ, i, h1[i], h0[i])
		}
		if i := firstDiff(g0, g1); i >= 0 {
			t.Fatalf("%s: gradient element %d: fused %v, concatenated %v", typ, i, g1[i], g0[i])
		}
	}
}

// TestFusedQKVMatchesConcatBenchShape: the same at the bench workload's
// shapes (2048 tokens, hidden 256), where the products run on the packed,
// multi-threaded GEMM paths.
func TestFusedQKVMatchesConcatBenchShape(t *testing.T) {
	if testing.Short() {
		t.Skip("two steps of the bench workload")
	}
	m, b, y := benchModel(t)
	g := autograd.NewGraph[float32]()
	p := &nn.Pass{G: g, Train: true}
	l0 := step(m, g, p, b, y, m.hiddenConcat)
	g0 := append([]float32(nil), m.Params().Grad...)
	l1 := step(m, g, p, b, y, m.Hidden)
	if l0 != l1 {
		t.Fatalf("loss: fused %v, concatenated %v", l1, l0)
	}
	if i := firstDiff(g0, m.Params().Grad); i >= 0 {
		t.Fatalf("gradient element %d: fused %v, concatenated %v", i, m.Params().Grad[i], g0[i])
	}
}

func firstDiff(a, b []float32) int {
	for i := range a {
		if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
			return i
		}
	}
	return -1
}

// BenchmarkBERTStep: one forward and backward pass (no optimizer) of the
// bench package's bert workload, with the fused QKV projection (fused) and
// with the former three projections and two concatenations (concat).
func BenchmarkBERTStep(b *testing.B) {
	m, batch, y := benchModel(b)
	for _, c := range []struct {
		name   string
		hidden func(*nn.Pass, *Batch) *nn.Tensor
	}{{"concat", m.hiddenConcat}, {"fused", m.Hidden}} {
		b.Run(c.name, func(b *testing.B) {
			g := autograd.NewGraph[float32]()
			p := &nn.Pass{G: g, Train: true}
			step(m, g, p, batch, y, c.hidden) // warm-up: the graph's pools
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				step(m, g, p, batch, y, c.hidden)
			}
		})
	}
}
