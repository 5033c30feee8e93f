package bench

import (
	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/tensor"
)

type mlp struct {
	ps   tensor.Params[float32]
	w, b [3]*f32
	x    *f32
	y    []int32
}

func newMLP(seed uint64) *mlp {
	m := &mlp{}
	rng := tensor.NewRNG(seed)
	dims := []int{784, 512, 512, 10}
	for i := range 3 {
		m.w[i] = m.ps.Add(layerName(i, "weight"), dims[i+1], dims[i]) // nn.Linear layout [out, in]
		m.b[i] = m.ps.Add(layerName(i, "bias"), dims[i+1])
	}
	for i := range 3 {
		uniform(rng, m.w[i].Data, dims[i])
		uniform(rng, m.b[i].Data, dims[i])
	}
	m.x = tensor.Randn[float32](rng, 1, 256, 784)
	m.y = make([]int32, 256)
	for i := range m.y {
		m.y[i] = int32(rng.IntN(10))
	}
	return m
}

func layerName(i int, s string) string { return "net." + string(rune('0'+2*i)) + "." + s }

func (m *mlp) params() *tensor.Params[float32] { return &m.ps }

func (m *mlp) forward(g *autograd.Graph[float32]) (*f32, *f32) {
	h := g.ReLU(g.Linear(m.x, m.w[0], m.b[0], true))
	h = g.ReLU(g.Linear(h, m.w[1], m.b[1], true))
	logits := g.Linear(h, m.w[2], m.b[2], true)
	return logits, g.CrossEntropy(logits, m.y, -1)
}

// gpt is the anchor's GPT-2-layout decoder. Weights use GPT-2's Conv1D
// layout [in, out].
type gpt struct {
	ps               tensor.Params[float32]
	V, D, L, H, T, B int
	wte, wpe         *f32
	blocks           []gptBlock
	lnfG, lnfB, head *f32
	idx, tgt         []int32
}

type gptBlock struct {
	ln1G, ln1B, attnW, attnB, projW, projB *f32
	ln2G, ln2B, fcW, fcB, mprojW, mprojB   *f32
}

func newGPT(seed uint64) *gpt {
	m := &gpt{V: 4096, D: 256, L: 4, H: 4, T: 128, B: 16}
	rng := tensor.NewRNG(seed)
	D := m.D
	m.wte = m.ps.Add("wte.weight", m.V, D)
	m.wpe = m.ps.Add("wpe.weight", m.T, D)
	tensor.FillNormal(rng, m.wte.Data, 1)
	tensor.FillNormal(rng, m.wpe.Data, 1)
	ones := func(t *f32) {
		for i := range t.Data {
			t.Data[i] = 1
		}
	}
	for l := range m.L {
		p := func(s string) string { return "h." + itoa(l) + "." + s }
		b := gptBlock{
			ln1G: m.ps.Add(p("ln_1.weight"), D), ln1B: m.ps.Add(p("ln_1.bias"), D),
			attnW: m.ps.Add(p("attn.c_attn.weight"), D, 3*D), attnB: m.ps.Add(p("attn.c_attn.bias"), 3*D),
			projW: m.ps.Add(p("attn.c_proj.weight"), D, D), projB: m.ps.Add(p("attn.c_proj.bias"), D),
			ln2G: m.ps.Add(p("ln_2.weight"), D), ln2B: m.ps.Add(p("ln_2.bias"), D),
			fcW: m.ps.Add(p("mlp.c_fc.weight"), D, 4*D), fcB: m.ps.Add(p("mlp.c_fc.bias"), 4*D),
			mprojW: m.ps.Add(p("mlp.c_proj.weight"), 4*D, D), mprojB: m.ps.Add(p("mlp.c_proj.bias"), D),
		}
		m.blocks = append(m.blocks, b)
	}
	m.lnfG, m.lnfB = m.ps.Add("ln_f.weight", D), m.ps.Add("ln_f.bias", D)
	m.head = m.ps.Add("lm_head.weight", m.V, D)
	for _, b := range m.blocks {
		ones(b.ln1G)
		ones(b.ln2G)
		uniform(rng, b.attnW.Data, D)
		uniform(rng, b.attnB.Data, D)
		uniform(rng, b.projW.Data, D)
		uniform(rng, b.projB.Data, D)
		uniform(rng, b.fcW.Data, D)
		uniform(rng, b.fcB.Data, D)
		uniform(rng, b.mprojW.Data, 4*D)
		uniform(rng, b.mprojB.Data, 4*D)
	}
	ones(m.lnfG)
	uniform(rng, m.head.Data, D)
	m.idx = make([]int32, m.B*m.T)
	m.tgt = make([]int32, m.B*m.T)
	for i := range m.idx {
		m.idx[i] = int32(rng.IntN(m.V))
		m.tgt[i] = int32(rng.IntN(m.V))
	}
	return m
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func (m *gpt) params() *tensor.Params[float32] { return &m.ps }

func (m *gpt) forward(g *autograd.Graph[float32]) (*f32, *f32) {
	x := g.Add(g.Embedding(m.wte, m.idx, m.B, m.T, m.D), m.wpe)
	for _, b := range m.blocks {
		h := g.LayerNorm(x, b.ln1G, b.ln1B, 1e-5)
		a := g.Attention(g.Linear(h, b.attnW, b.attnB, false), m.H, true, nil)
		x = g.Add(x, g.Linear(a, b.projW, b.projB, false))
		h = g.LayerNorm(x, b.ln2G, b.ln2B, 1e-5)
		h = g.GELU(g.Linear(h, b.fcW, b.fcB, false))
		x = g.Add(x, g.Linear(h, b.mprojW, b.mprojB, false))
	}
	logits := g.Linear(g.LayerNorm(x, m.lnfG, m.lnfB, 1e-5), m.head, nil, true)
	return logits, g.CrossEntropy(logits, m.tgt, -1)
}
