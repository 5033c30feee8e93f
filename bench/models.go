package bench

import (
	"fmt"

	"github.com/tramlab/tram/models/bert"
	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/models/vision"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/tensor"
)

type mlp struct {
	ps, bufs nn.Params
	layers   [3]*nn.Linear
	x        []float32
	y        []int32
}

func newMLP(seed uint64) *mlp {
	m := &mlp{}
	rng := tensor.NewRNG(seed)
	dims := []int{784, 512, 512, 10}
	for i := range 3 {
		m.layers[i] = nn.NewLinear(&m.ps, fmt.Sprintf("net.%d", 2*i), dims[i], dims[i+1], true, nn.OutIn)
	}
	for i, l := range m.layers {
		uniform(rng, l.W.Data, dims[i])
		uniform(rng, l.B.Data, dims[i])
	}
	m.x = tensor.Randn[float32](rng, 1, 256, 784).Data
	m.y = make([]int32, 256)
	for i := range m.y {
		m.y[i] = int32(rng.IntN(10))
	}
	return m
}

func (m *mlp) Params() *nn.Params  { return &m.ps }
func (m *mlp) Buffers() *nn.Params { return &m.bufs }
func (m *mlp) Micros() int         { return 1 }

func (m *mlp) Forward(p *nn.Pass, _ int) (*nn.Tensor, *nn.Tensor) {
	var x *nn.Tensor
	if p.InputNoise != nil {
		x = p.G.Constant(m.x, 256, 784)
		p.InputNoise(x.Data)
	} else {
		x = tensor.FromSlice(m.x, 256, 784)
	}
	h := p.G.ReLU(m.layers[0].Forward(p, x))
	h = p.G.ReLU(m.layers[1].Forward(p, h))
	logits := m.layers[2].Forward(p, h)
	if p.LogitsOnly {
		return logits, nil
	}
	return logits, p.G.CrossEntropy(logits, m.y, -1)
}

// gpt is the anchor's GPT-2-layout decoder with an untied LM head. Weights
// use GPT-2's Conv1D layout [in, out].
type gpt struct {
	ps, bufs         nn.Params
	V, D, L, H, T, B int
	wte, wpe         *nn.Embedding
	blocks           []gptBlock
	lnf              *nn.LayerNorm
	head             *nn.Linear
	idx, tgt         []int32
}

type gptBlock struct {
	ln1, ln2           *nn.LayerNorm
	attn, proj, fc, mp *nn.Linear
}

func newGPT(seed uint64) *gpt {
	m := &gpt{V: 4096, D: 256, L: 4, H: 4, T: 128, B: 16}
	rng := tensor.NewRNG(seed)
	D, ps := m.D, &m.ps
	m.wte = nn.NewEmbedding(ps, "wte", m.V, D)
	m.wpe = nn.NewEmbedding(ps, "wpe", m.T, D)
	tensor.FillNormal(rng, m.wte.W.Data, 1)
	tensor.FillNormal(rng, m.wpe.W.Data, 1)
	for l := range m.L {
		p := fmt.Sprintf("h.%d.", l)
		b := gptBlock{
			ln1:  nn.NewLayerNorm(ps, p+"ln_1", D, 1e-5),
			attn: nn.NewLinear(ps, p+"attn.c_attn", D, 3*D, true, nn.InOut),
			proj: nn.NewLinear(ps, p+"attn.c_proj", D, D, true, nn.InOut),
			ln2:  nn.NewLayerNorm(ps, p+"ln_2", D, 1e-5),
			fc:   nn.NewLinear(ps, p+"mlp.c_fc", D, 4*D, true, nn.InOut),
			mp:   nn.NewLinear(ps, p+"mlp.c_proj", 4*D, D, true, nn.InOut),
		}
		for _, lin := range []*nn.Linear{b.attn, b.proj, b.fc, b.mp} {
			fanIn := lin.W.Dim(0)
			uniform(rng, lin.W.Data, fanIn)
			uniform(rng, lin.B.Data, fanIn)
		}
		m.blocks = append(m.blocks, b)
	}
	m.lnf = nn.NewLayerNorm(ps, "ln_f", D, 1e-5)
	m.head = nn.NewLinear(ps, "lm_head", D, m.V, false, nn.OutIn)
	uniform(rng, m.head.W.Data, D)
	m.idx = make([]int32, m.B*m.T)
	m.tgt = make([]int32, m.B*m.T)
	for i := range m.idx {
		m.idx[i] = int32(rng.IntN(m.V))
		m.tgt[i] = int32(rng.IntN(m.V))
	}
	return m
}

func (m *gpt) Params() *nn.Params  { return &m.ps }
func (m *gpt) Buffers() *nn.Params { return &m.bufs }
func (m *gpt) Micros() int         { return 1 }

func (m *gpt) Forward(p *nn.Pass, _ int) (*nn.Tensor, *nn.Tensor) {
	g := p.G
	x := m.wte.Forward(p, m.idx, m.B, m.T, m.D)
	if p.InputNoise != nil {
		p.InputNoise(x.Data)
	}
	x = g.Add(x, m.wpe.W)
	for _, b := range m.blocks {
		a := g.Attention(b.attn.Forward(p, b.ln1.Forward(p, x)), m.H, true, nil)
		x = g.Add(x, b.proj.Forward(p, a))
		h := g.GELU(b.fc.Forward(p, b.ln2.Forward(p, x)))
		x = g.Add(x, b.mp.Forward(p, h))
	}
	logits := m.head.Forward(p, m.lnf.Forward(p, x))
	if p.LogitsOnly {
		return logits, nil
	}
	return logits, g.CrossEntropy(logits, m.tgt, -1)
}

// gpt2Workload runs the anchor's GPT shapes through models/gpt2.
type gpt2Workload struct {
	*gpt2.Model
	idx, tgt []int32
}

func newGPT2(seed uint64) *gpt2Workload {
	m, err := gpt2.New(gpt2.Small(4096, 128, 256, 4, 4), seed)
	if err != nil {
		panic(err)
	}
	w := &gpt2Workload{Model: m, idx: make([]int32, 16*128)}
	rng := tensor.NewRNG(seed)
	for i := range w.idx {
		w.idx[i] = int32(rng.IntN(4096))
	}
	w.tgt = gpt2.ShiftTargets(nil, w.idx, 16, 128)
	return w
}

func (w *gpt2Workload) Micros() int { return 1 }

func (w *gpt2Workload) Forward(p *nn.Pass, _ int) (*nn.Tensor, *nn.Tensor) {
	return w.LMLoss(p, w.idx, 16, 128, w.tgt)
}

// cnnWorkload is the anchor's cnn: models/vision's tram-resnet (widths 32,
// 64, 128; one input channel; 10 classes) on a fixed batch of 128 gray
// 28×28 images, trained with batch statistics.
type cnnWorkload struct {
	vision.Model
	x *nn.Tensor
	y []int32
}

func newCNN(seed uint64) *cnnWorkload {
	m, err := vision.New(vision.Config{ModelType: "tram-resnet", InChannels: 1, ImageSize: 28, NumClasses: 10, Widths: []int{32, 64, 128}}, seed)
	if err != nil {
		panic(err)
	}
	rng := tensor.NewRNG(seed)
	w := &cnnWorkload{Model: m, x: tensor.Randn[float32](rng, 1, 128, 1, 28, 28), y: make([]int32, 128)}
	for i := range w.y {
		w.y[i] = int32(rng.IntN(10))
	}
	return w
}

func (w *cnnWorkload) Micros() int { return 1 }

func (w *cnnWorkload) Forward(p *nn.Pass, _ int) (*nn.Tensor, *nn.Tensor) {
	logits := w.Logits(p, w.x)
	if p.LogitsOnly {
		return logits, nil
	}
	return logits, p.G.CrossEntropy(logits, w.y, -1)
}

// bertWorkload is the anchor's bert: models/bert with a classification head
// (vocabulary 8192, hidden 256, 4 layers, 4 heads, intermediate 1024,
// erf-GELU, 64 positions, 2 token types, layer-norm eps 1e-12, 8 labels, no
// dropout, as the anchor has none) on a fixed batch of 32×64 tokens.
type bertWorkload struct {
	*bert.Model
	batch bert.Batch
	y     []int32
}

func newBERT(seed uint64) *bertWorkload {
	labels := map[string]string{}
	for i := range 8 {
		labels[fmt.Sprint(i)] = fmt.Sprintf("LABEL_%d", i)
	}
	cfg := bert.Config{ModelType: "bert", VocabSize: 8192, HiddenSize: 256, NumLayers: 4, NumHeads: 4,
		IntermediateSize: 1024, HiddenAct: "gelu", MaxPositions: 64, TypeVocabSize: 2, LayerNormEps: 1e-12,
		InitRange: 0.02, ID2Label: labels}
	m, err := bert.New(cfg, bert.Classification, seed)
	if err != nil {
		panic(err)
	}
	w := &bertWorkload{Model: m, batch: bert.Batch{B: 32, T: 64, IDs: make([]int32, 32*64)}, y: make([]int32, 32)}
	rng := tensor.NewRNG(seed)
	for i := range w.batch.IDs {
		w.batch.IDs[i] = int32(rng.IntN(8192))
	}
	for i := range w.y {
		w.y[i] = int32(rng.IntN(8))
	}
	return w
}

func (w *bertWorkload) Micros() int { return 1 }

func (w *bertWorkload) Forward(p *nn.Pass, _ int) (*nn.Tensor, *nn.Tensor) {
	logits := w.ClassLogits(p, &w.batch)
	if p.LogitsOnly {
		return logits, nil
	}
	return logits, p.G.CrossEntropy(logits, w.y, -1)
}
