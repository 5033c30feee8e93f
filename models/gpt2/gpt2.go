// Package gpt2 is a GPT-2-family causal language model whose parameter
// names and layouts match Hugging Face's GPT2LMHeadModel: Conv1D weights
// stored [in, out], tanh-approximated GELU, learned positions, pre-LN
// blocks, and an LM head tied to the token embedding wte.
//
// A model directory holds config.json (model_type "gpt2") and
// model.safetensors; Load accepts names with or without the "transformer."
// prefix and ignores the attn.bias / attn.masked_bias buffers, Save writes
// the names save_pretrained writes.
package gpt2

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/tensor"
)

// Config is the subset of Hugging Face's GPT2Config that tram uses.
type Config struct {
	ModelType    string  `json:"model_type"`
	VocabSize    int     `json:"vocab_size"`
	NPositions   int     `json:"n_positions"`
	NEmbd        int     `json:"n_embd"`
	NLayer       int     `json:"n_layer"`
	NHead        int     `json:"n_head"`
	NInner       *int    `json:"n_inner"`
	LayerNormEps float64 `json:"layer_norm_epsilon"`
	// Dropout probabilities, applied as Hugging Face applies them in
	// training passes that have an RNG (nn.Pass): resid_pdrop on the
	// output of each attention and MLP projection before the residual
	// add, embd_pdrop on token+position embeddings, attn_pdrop on the
	// attention probabilities.
	ResidPdrop    float64  `json:"resid_pdrop"`
	EmbdPdrop     float64  `json:"embd_pdrop"`
	AttnPdrop     float64  `json:"attn_pdrop"`
	Activation    string   `json:"activation_function"`
	InitRange     float64  `json:"initializer_range"`
	TieEmbeddings *bool    `json:"tie_word_embeddings,omitempty"`
	BOSTokenID    *int     `json:"bos_token_id,omitempty"`
	EOSTokenID    *int     `json:"eos_token_id,omitempty"`
	Architectures []string `json:"architectures,omitempty"`
}

// Small returns a configuration for a small model (tests and examples).
func Small(vocab, positions, embd, layers, heads int) Config {
	return Config{ModelType: "gpt2", VocabSize: vocab, NPositions: positions, NEmbd: embd, NLayer: layers, NHead: heads,
		LayerNormEps: 1e-5, Activation: "gelu_new", InitRange: 0.02, Architectures: []string{"GPT2LMHeadModel"}}
}

// Validate reports the first inconsistency in the configuration.
func (c Config) Validate() error {
	switch {
	case c.ModelType != "gpt2":
		return fmt.Errorf("model_type %q is not \"gpt2\"", c.ModelType)
	case c.VocabSize < 1 || c.NPositions < 1 || c.NEmbd < 1 || c.NLayer < 0 || c.NHead < 1:
		return fmt.Errorf("vocab_size, n_positions, n_embd, n_head must be positive and n_layer ≥ 0 (got %d, %d, %d, %d, %d)", c.VocabSize, c.NPositions, c.NEmbd, c.NHead, c.NLayer)
	case c.NEmbd%c.NHead != 0:
		return fmt.Errorf("n_embd %d is not divisible by n_head %d", c.NEmbd, c.NHead)
	case c.Activation != "" && c.Activation != "gelu_new" && c.Activation != "gelu_pytorch_tanh":
		return fmt.Errorf("activation_function %q is not supported (tram implements the tanh GELU: gelu_new)", c.Activation)
	case c.TieEmbeddings != nil && !*c.TieEmbeddings:
		return errors.New("tie_word_embeddings false is not supported: GPT-2's LM head is tied to wte")
	case c.NInner != nil && *c.NInner != 4*c.NEmbd:
		return fmt.Errorf("n_inner %d is not supported (only 4·n_embd)", *c.NInner)
	}
	return nil
}

func (c Config) eps() float64 {
	if c.LayerNormEps == 0 {
		return 1e-5
	}
	return c.LayerNormEps
}

// Model is a GPT-2 LM.
type Model struct {
	Config Config
	params nn.Params
	bufs   nn.Params

	WTE, WPE *nn.Embedding
	Blocks   []*Block
	LNF      *nn.LayerNorm

	// fileNames are the tensor names of the loaded file, per parameter, and
	// extras the non-parameter tensors it held (causal-mask buffers, a
	// stored copy of the tied lm_head): Save writes both back, so a loaded
	// model is saved with the names it came with.
	fileNames []string
	extras    []checkpoint.Tensor

	// Metadata is written into model.safetensors' __metadata__ next to
	// {"format": "pt"} (run provenance: tram version, backend, method…).
	Metadata map[string]string
}

// Block is one pre-LN transformer block.
type Block struct {
	LN1, LN2        *nn.LayerNorm
	CAttn, AttnProj *nn.Linear
	CFC, MLPProj    *nn.Linear
}

// New returns a model with GPT-2's initialization drawn from seed: normal
// weights with std initializer_range (residual projections scaled by
// 1/√(2·n_layer)), zero biases, unit layer-norm gains.
func New(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	m := &Model{Config: cfg}
	ps, D, eps := &m.params, cfg.NEmbd, cfg.eps()
	m.WTE = nn.NewEmbedding(ps, "wte", cfg.VocabSize, D)
	m.WPE = nn.NewEmbedding(ps, "wpe", cfg.NPositions, D)
	for l := range cfg.NLayer {
		p := fmt.Sprintf("h.%d.", l)
		m.Blocks = append(m.Blocks, &Block{
			LN1:      nn.NewLayerNorm(ps, p+"ln_1", D, eps),
			CAttn:    nn.NewLinear(ps, p+"attn.c_attn", D, 3*D, true, nn.InOut),
			AttnProj: nn.NewLinear(ps, p+"attn.c_proj", D, D, true, nn.InOut),
			LN2:      nn.NewLayerNorm(ps, p+"ln_2", D, eps),
			CFC:      nn.NewLinear(ps, p+"mlp.c_fc", D, 4*D, true, nn.InOut),
			MLPProj:  nn.NewLinear(ps, p+"mlp.c_proj", 4*D, D, true, nn.InOut),
		})
	}
	m.LNF = nn.NewLayerNorm(ps, "ln_f", D, eps)
	std := cfg.InitRange
	if std == 0 {
		std = 0.02
	}
	rng := tensor.NewRNG(seed)
	for _, p := range ps.List() {
		switch name := p.Name(); {
		case strings.HasSuffix(name, ".bias") || strings.Contains(name, "ln_"):
		case strings.HasSuffix(name, "c_proj.weight"):
			tensor.FillNormal(rng, p.Data, std/math.Sqrt(2*float64(max(cfg.NLayer, 1))))
		default:
			tensor.FillNormal(rng, p.Data, std)
		}
	}
	return m, nil
}

// Params returns the parameters in Hugging Face's order.
func (m *Model) Params() *nn.Params { return &m.params }

// Buffers returns no buffers: GPT-2 has none that tram keeps.
func (m *Model) Buffers() *nn.Params { return &m.bufs }

// Hidden runs the transformer on ids [B, T] (row-major) and returns the
// final hidden states [B, T, n_embd] after ln_f.
func (m *Model) Hidden(p *nn.Pass, ids []int32, B, T int) *nn.Tensor {
	cfg, g := m.Config, p.G
	if B*T != len(ids) || T > cfg.NPositions || T < 1 {
		panic(fmt.Sprintf("gpt2: %d ids for batch [%d, %d] with n_positions %d", len(ids), B, T, cfg.NPositions))
	}
	x := m.WTE.Forward(p, ids, B, T, cfg.NEmbd)
	if p.InputNoise != nil {
		p.InputNoise(x.Data) // after the token lookup, before positions (docs/METHOD.md)
	}
	pos := m.WPE.W
	if T < cfg.NPositions {
		pos = g.Slice(pos, 0, 0, T)
	}
	x = nn.Dropout(p, g.Add(x, pos), cfg.EmbdPdrop)
	for _, b := range m.Blocks {
		h := b.LN1.Forward(p, x)
		a := nn.Attention(p, b.CAttn.Forward(p, h), cfg.NHead, true, nil, cfg.AttnPdrop)
		x = g.Add(x, nn.Dropout(p, b.AttnProj.Forward(p, a), cfg.ResidPdrop))
		h = g.GELU(b.CFC.Forward(p, b.LN2.Forward(p, x)))
		x = g.Add(x, nn.Dropout(p, b.MLPProj.Forward(p, h), cfg.ResidPdrop))
	}
	return m.LNF.Forward(p, x)
}

// Logits applies the tied LM head to hidden states [..., n_embd].
func (m *Model) Logits(p *nn.Pass, h *nn.Tensor) *nn.Tensor {
	return p.G.Linear(h, m.WTE.W, nil, nn.OutIn)
}

// Forward returns the logits [B, T, vocab] for ids [B, T].
func (m *Model) Forward(p *nn.Pass, ids []int32, B, T int) *nn.Tensor {
	return m.Logits(p, m.Hidden(p, ids, B, T))
}

// LMLoss returns the logits of the predicting positions [B, T−1, vocab] and
// the mean cross-entropy of predicting ids[:, 1:] from them. Only positions
// 0…T−2 go through the LM head.
func (m *Model) LMLoss(p *nn.Pass, ids []int32, B, T int, targets []int32) (logits, loss *nn.Tensor) {
	h := m.Hidden(p, ids, B, T)
	h = p.G.Slice(h, 1, 0, T-1)
	logits = m.Logits(p, h)
	return logits, p.G.CrossEntropy(logits, targets, -100)
}

// ShiftTargets writes the next-token targets for ids [B, T] into dst
// (length B·(T−1)): dst[b, t] = ids[b, t+1].
func ShiftTargets(dst, ids []int32, B, T int) []int32 {
	dst = dst[:0]
	for b := range B {
		dst = append(dst, ids[b*T+1:(b+1)*T]...)
	}
	return dst
}

// ignoredBuffers are tensors that Hugging Face checkpoints carry but that
// are not parameters.
func ignoredBuffers(name string) bool {
	return strings.HasSuffix(name, ".attn.bias") || strings.HasSuffix(name, ".attn.masked_bias") || name == "lm_head.weight"
}

// Load reads a model directory (config.json + model.safetensors).
func Load(dir string) (*Model, error) {
	var cfg Config
	if err := checkpoint.ReadConfig(dir, &cfg); err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	m, err := New(cfg, 0)
	if err != nil {
		return nil, fmt.Errorf("gpt2: %s: %w", filepath.Join(dir, "config.json"), err)
	}
	sf, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	exp := checkpoint.ExpectedFor(m.params.List(), func(n string) []string { return []string{n, "transformer." + n} })
	if m.fileNames, err = sf.LoadInto(exp, ignoredBuffers); err != nil {
		return nil, err
	}
	for _, name := range sf.Names() {
		if !ignoredBuffers(name) {
			continue
		}
		info := sf.Tensors[name]
		t := checkpoint.Tensor{Name: name, Shape: info.Shape}
		if !strings.HasSuffix(name, "lm_head.weight") { // the head is rewritten from wte
			t.Data = make([]float32, (info.End-info.Begin)/int64(checkpoint.DTypeSize(info.DType)))
			if err := sf.ReadInto(name, t.Data); err != nil {
				return nil, err
			}
		}
		m.extras = append(m.extras, t)
	}
	return m, nil
}

// Save writes config.json and model.safetensors into dir (created if
// needed), each atomically. A model from Load keeps the tensor names of its
// file (with or without the "transformer." prefix, and any causal-mask
// buffers or stored lm_head it had); a new model uses the names
// GPT2LMHeadModel's save_pretrained writes ("transformer." prefix, the tied
// lm_head not stored).
func (m *Model) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ts []checkpoint.Tensor
	for i, p := range m.params.List() {
		name := "transformer." + p.Name()
		if m.fileNames != nil {
			name = m.fileNames[i]
		}
		ts = append(ts, checkpoint.Tensor{Name: name, Shape: p.Shape(), Data: p.Data})
	}
	for _, e := range m.extras {
		if strings.HasSuffix(e.Name, "lm_head.weight") {
			e.Data = m.WTE.W.Data
		}
		ts = append(ts, e)
	}
	meta := map[string]string{"format": "pt"}
	for k, v := range m.Metadata {
		meta[k] = v
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), ts, meta); err != nil {
		return err
	}
	return checkpoint.WriteJSON(filepath.Join(dir, "config.json"), m.Config)
}
