// Package vit is a Vision Transformer image classifier whose parameters and
// config.json match Hugging Face's ViTForImageClassification (model_type
// "vit").
//
// Layout, with D = hidden_size, C = num_channels, P = patch_size and
// L = (image_size/P)² patches; parameter names are those of ViTModel, and
// FileName adds the "vit." prefix that save_pretrained writes for the
// classification model (the classifier has none):
//
//	embeddings.cls_token                          [1, 1, D]
//	embeddings.position_embeddings                [1, L+1, D]
//	embeddings.patch_embeddings.projection.weight [D, C, P, P]   (a stride-P convolution)
//	embeddings.patch_embeddings.projection.bias   [D]
//	encoder.layer.N.attention.attention.{query,key,value}.{weight,bias}
//	encoder.layer.N.attention.output.dense.{weight,bias}
//	encoder.layer.N.intermediate.dense.{weight,bias}   [intermediate, D]
//	encoder.layer.N.output.dense.{weight,bias}         [D, intermediate]
//	encoder.layer.N.layernorm_before.{weight,bias}
//	encoder.layer.N.layernorm_after.{weight,bias}
//	layernorm.{weight,bias}
//	classifier.{weight,bias}                      [labels, D]
//
// The forward pass is Hugging Face's: the image [N, C, H, W] is cut into
// non-overlapping P×P patches, each flattened in (channel, row, column)
// order and projected by the convolution weight viewed as [D, C·P·P] (the
// same arithmetic as the stride-P convolution); the class token is
// prepended, the position embeddings added and hidden dropout applied. Each
// block is pre-LN, h = x + dropout(dense(attention(layernorm_before(x)))),
// x = h + dropout(output(act(intermediate(layernorm_after(h))))), with
// attention dropout on the probabilities. The final layernorm of the class
// token is the representation (Features) the classifier reads; there is no
// pooler and no dropout before the classifier.
//
// A pass's InputNoise (TRAM-x, R3F) is added to the patch embeddings, the
// ViT's counterpart of token embeddings: after the projection, before the
// class token and the position embeddings. The caller's images are never
// modified. Position embeddings are not interpolated: inputs must have the
// configured image_size.
package vit

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/tensor"
)

// Config is the subset of Hugging Face's ViTConfig that tram uses. Fields
// left 0 take Hugging Face's defaults where noted.
type Config struct {
	ModelType        string `json:"model_type"`
	HiddenSize       int    `json:"hidden_size"`
	NumLayers        int    `json:"num_hidden_layers"`
	NumHeads         int    `json:"num_attention_heads"`
	IntermediateSize int    `json:"intermediate_size"`
	// HiddenAct is "gelu" (erf form; the default when empty), "gelu_new" or
	// "gelu_pytorch_tanh" (tanh approximation), or "relu".
	HiddenAct string `json:"hidden_act"`
	// Dropout probabilities, applied in training passes that have an RNG:
	// hidden_dropout_prob after the position embeddings are added and on
	// both projections before their residual adds,
	// attention_probs_dropout_prob on the attention probabilities.
	HiddenDropout float64 `json:"hidden_dropout_prob"`
	AttnDropout   float64 `json:"attention_probs_dropout_prob"`
	// LayerNormEps defaults to 1e-12.
	LayerNormEps float64 `json:"layer_norm_eps"`
	// InitRange is the standard deviation of the initialization (default 0.02).
	InitRange   float64 `json:"initializer_range"`
	ImageSize   int     `json:"image_size"`
	PatchSize   int     `json:"patch_size"`
	NumChannels int     `json:"num_channels"`
	// QKVBias gives the query, key and value projections biases (default true).
	QKVBias       *bool             `json:"qkv_bias,omitempty"`
	ID2Label      map[string]string `json:"id2label,omitempty"`
	Label2ID      map[string]int    `json:"label2id,omitempty"`
	Architectures []string          `json:"architectures,omitempty"`
}

// Labels returns Hugging Face's default id2label for n classes:
// {"0": "LABEL_0", …}.
func Labels(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m[strconv.Itoa(i)] = fmt.Sprintf("LABEL_%d", i)
	}
	return m
}

// NumLabels returns the number of classes (len(id2label); 2, Hugging Face's
// default, when there is none).
func (c Config) NumLabels() int {
	if len(c.ID2Label) > 0 {
		return len(c.ID2Label)
	}
	return 2
}

// NumPatches is (image_size/patch_size)².
func (c Config) NumPatches() int {
	n := c.ImageSize / c.PatchSize
	return n * n
}

func (c Config) qkvBias() bool { return c.QKVBias == nil || *c.QKVBias }

func (c Config) eps() float64 {
	if c.LayerNormEps == 0 {
		return 1e-12
	}
	return c.LayerNormEps
}

func (c Config) initRange() float64 {
	if c.InitRange == 0 {
		return 0.02
	}
	return c.InitRange
}

// Validate reports the first inconsistency.
func (c Config) Validate() error {
	switch {
	case c.ModelType != "vit":
		return fmt.Errorf("model_type %q is not vit", c.ModelType)
	case c.HiddenSize < 1 || c.NumHeads < 1 || c.NumLayers < 0 || c.IntermediateSize < 1 ||
		c.ImageSize < 1 || c.PatchSize < 1 || c.NumChannels < 1:
		return fmt.Errorf("sizes must be positive (hidden_size %d, num_attention_heads %d, num_hidden_layers %d, intermediate_size %d, image_size %d, patch_size %d, num_channels %d)",
			c.HiddenSize, c.NumHeads, c.NumLayers, c.IntermediateSize, c.ImageSize, c.PatchSize, c.NumChannels)
	case c.HiddenSize%c.NumHeads != 0:
		return fmt.Errorf("hidden_size %d is not divisible by num_attention_heads %d", c.HiddenSize, c.NumHeads)
	case c.ImageSize%c.PatchSize != 0:
		return fmt.Errorf("image_size %d is not divisible by patch_size %d", c.ImageSize, c.PatchSize)
	case c.HiddenAct != "" && c.HiddenAct != "gelu" && c.HiddenAct != "gelu_new" && c.HiddenAct != "gelu_pytorch_tanh" && c.HiddenAct != "relu":
		return fmt.Errorf("hidden_act %q is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)", c.HiddenAct)
	case !(c.HiddenDropout >= 0 && c.HiddenDropout < 1) || !(c.AttnDropout >= 0 && c.AttnDropout < 1):
		return fmt.Errorf("dropout probabilities must be in [0, 1) (hidden_dropout_prob %v, attention_probs_dropout_prob %v)", c.HiddenDropout, c.AttnDropout)
	case c.LayerNormEps < 0 || c.InitRange < 0:
		return fmt.Errorf("layer_norm_eps %v and initializer_range %v must not be negative", c.LayerNormEps, c.InitRange)
	}
	for i := range len(c.ID2Label) {
		if _, ok := c.ID2Label[strconv.Itoa(i)]; !ok {
			keys := make([]string, 0, len(c.ID2Label))
			for k := range c.ID2Label {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return fmt.Errorf("id2label keys %v are not the class ids 0…%d", keys, len(c.ID2Label)-1)
		}
	}
	return nil
}

// Model is a ViT encoder with an image-classification head.
type Model struct {
	Config Config
	// Metadata is written into model.safetensors' __metadata__ next to
	// {"format": "pt"} by Save (run provenance: tram version, method, seed…).
	Metadata map[string]string
	params   nn.Params
	bufs     nn.Params

	ClsToken, PosEmbed *nn.Tensor
	// Patch is the patch projection (weight [D, C, P, P]); it is applied
	// as a Linear over unfolded patches, not through Conv2d.Forward.
	Patch      *nn.Conv2d
	Layers     []*Layer
	LayerNorm  *nn.LayerNorm
	Classifier *nn.Linear
}

// Layer is one pre-LN encoder block.
type Layer struct {
	Q, K, V, AttnOut  *nn.Linear
	Intermediate, Out *nn.Linear
	LNBefore, LNAfter *nn.LayerNorm
}

// IsHead reports whether a parameter belongs to the classification head
// (to be initialized fresh when the checkpoint is a bare ViTModel or its
// head has another number of classes).
func IsHead(name string) bool { return strings.HasPrefix(name, "classifier.") }

// New returns a model initialized as Hugging Face's ViTPreTrainedModel
// does, from seed: linear and convolution weights, the class token and the
// position embeddings from a normal distribution of std initializer_range
// truncated to [−2, 2] (torch.nn.init.trunc_normal_'s default absolute
// bounds, sampled by rejection), zero biases, unit layer-norm gains.
func New(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("vit: %w", err)
	}
	if len(cfg.ID2Label) > 0 && cfg.Label2ID == nil {
		cfg.Label2ID = make(map[string]int, len(cfg.ID2Label))
		for k, v := range cfg.ID2Label {
			id, _ := strconv.Atoi(k)
			cfg.Label2ID[v] = id
		}
	}
	if len(cfg.Architectures) == 0 {
		cfg.Architectures = []string{"ViTForImageClassification"}
	}
	m := &Model{Config: cfg}
	ps, D, I, eps := &m.params, cfg.HiddenSize, cfg.IntermediateSize, cfg.eps()
	bias := cfg.qkvBias()
	m.ClsToken = ps.Add("embeddings.cls_token", 1, 1, D)
	m.PosEmbed = ps.Add("embeddings.position_embeddings", 1, cfg.NumPatches()+1, D)
	m.Patch = nn.NewConv2d(ps, "embeddings.patch_embeddings.projection", cfg.NumChannels, D, cfg.PatchSize, cfg.PatchSize, 0, true)
	for l := range cfg.NumLayers {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		m.Layers = append(m.Layers, &Layer{
			Q:            nn.NewLinear(ps, p+"attention.attention.query", D, D, bias, nn.OutIn),
			K:            nn.NewLinear(ps, p+"attention.attention.key", D, D, bias, nn.OutIn),
			V:            nn.NewLinear(ps, p+"attention.attention.value", D, D, bias, nn.OutIn),
			AttnOut:      nn.NewLinear(ps, p+"attention.output.dense", D, D, true, nn.OutIn),
			Intermediate: nn.NewLinear(ps, p+"intermediate.dense", D, I, true, nn.OutIn),
			Out:          nn.NewLinear(ps, p+"output.dense", I, D, true, nn.OutIn),
			LNBefore:     nn.NewLayerNorm(ps, p+"layernorm_before", D, eps),
			LNAfter:      nn.NewLayerNorm(ps, p+"layernorm_after", D, eps),
		})
	}
	m.LayerNorm = nn.NewLayerNorm(ps, "layernorm", D, eps)
	m.Classifier = nn.NewLinear(ps, "classifier", D, cfg.NumLabels(), true, nn.OutIn)
	rng, std := tensor.NewRNG(seed), cfg.initRange()
	for _, p := range ps.List() {
		if p.Dims() >= 2 { // weights, class token and position embeddings
			for i := range p.Data {
				p.Data[i] = float32(truncNormal(rng, std))
			}
		}
	}
	return m, nil
}

// truncNormal draws from N(0, std²) restricted to [−2, 2].
func truncNormal(rng interface{ NormFloat64() float64 }, std float64) float64 {
	for {
		if v := rng.NormFloat64() * std; math.Abs(v) <= 2 {
			return v
		}
	}
}

// Params returns the parameters.
func (m *Model) Params() *nn.Params { return &m.params }

// Buffers returns the model's buffers: a ViT has none.
func (m *Model) Buffers() *nn.Params { return &m.bufs }

// NumClasses is the number of classes the head scores.
func (m *Model) NumClasses() int { return m.Classifier.W.Dim(0) }

// FileName maps a parameter name to its name in a Hugging Face
// ViTForImageClassification checkpoint: the "vit." prefix except on the
// classifier.
func (m *Model) FileName(name string) string {
	if IsHead(name) {
		return name
	}
	return "vit." + name
}

func (m *Model) act(p *nn.Pass, x *nn.Tensor) *nn.Tensor {
	switch m.Config.HiddenAct {
	case "gelu_new", "gelu_pytorch_tanh":
		return p.G.GELU(x)
	case "relu":
		return p.G.ReLU(x)
	}
	return p.G.GELUErf(x)
}

// Logits returns the classification logits [N, labels] of images
// x [N, C, H, W] (data owned by the caller, not modified).
func (m *Model) Logits(p *nn.Pass, x *nn.Tensor) *nn.Tensor {
	return m.Classifier.Forward(p, m.Features(p, x))
}

// Features returns the representation the classifier reads: the final
// layernorm of the class token's last hidden state, [N, hidden].
func (m *Model) Features(p *nn.Pass, x *nn.Tensor) *nn.Tensor {
	g := p.G
	h := m.Hidden(p, x)
	cls := g.Reshape(g.Slice(h, 1, 0, 1), h.Dim(0), h.Dim(2))
	return m.LayerNorm.Forward(p, cls) // per token: the same as normalizing all tokens and taking the first
}

// Hidden returns the last encoder block's output [N, L+1, hidden] (class
// token first), before the final layernorm.
func (m *Model) Hidden(p *nn.Pass, x *nn.Tensor) *nn.Tensor {
	cfg, g := m.Config, p.G
	h := m.embed(p, x)
	for _, l := range m.Layers {
		qkv := p.G.LinearQKV(l.LNBefore.Forward(p, h), [3]*nn.Tensor{l.Q.W, l.K.W, l.V.W}, [3]*nn.Tensor{l.Q.B, l.K.B, l.V.B}, nn.OutIn)
		a := nn.Attention(p, qkv, cfg.NumHeads, false, nil, cfg.AttnDropout)
		h = g.Add(h, nn.Dropout(p, l.AttnOut.Forward(p, a), cfg.HiddenDropout))
		f := m.act(p, l.Intermediate.Forward(p, l.LNAfter.Forward(p, h)))
		h = g.Add(h, nn.Dropout(p, l.Out.Forward(p, f), cfg.HiddenDropout))
	}
	return h
}

// embed returns the embedding layer's output [N, L+1, hidden].
func (m *Model) embed(p *nn.Pass, x *nn.Tensor) *nn.Tensor {
	cfg, g := m.Config, p.G
	C, S, D := cfg.NumChannels, cfg.ImageSize, cfg.HiddenSize
	if x.Dims() != 4 || x.Dim(1) != C || x.Dim(2) != S || x.Dim(3) != S {
		panic(fmt.Sprintf("vit: input shape %v is not [N, %d, %d, %d] (num_channels, image_size; position embeddings are not interpolated to other sizes)",
			x.Shape(), C, S, S))
	}
	N, L := x.Dim(0), cfg.NumPatches()
	e := m.patchEmbed(p, x)
	if p.InputNoise != nil {
		p.InputNoise(e.Data)
	}
	// The class token repeated over the batch, then the position table
	// added to every image (as [L+1, D] tables, which the broadcasting Add
	// repeats over the leading dimensions without index arithmetic).
	cls := g.Add(g.Zeros(N, 1, D), g.Reshape(m.ClsToken, D))
	h := g.Add(g.Concat(cls, e, 1), g.Reshape(m.PosEmbed, L+1, D))
	return nn.Dropout(p, h, cfg.HiddenDropout)
}

// patchEmbed returns the patch projection [N, L, hidden] of images
// x [N, C, S, S]: the stride-P convolution computed as one matrix product
// of the unfolded patches (a copy of the input, which needs no gradient)
// with the weight viewed as [D, C·P·P].
func (m *Model) patchEmbed(p *nn.Pass, x *nn.Tensor) *nn.Tensor {
	cfg, g := m.Config, p.G
	C, S, P, D := cfg.NumChannels, cfg.ImageSize, cfg.PatchSize, cfg.HiddenSize
	N, L, K := x.Dim(0), cfg.NumPatches(), C*P*P
	patches := g.Zeros(N, L, K)
	unfold(patches.Data, x.Data, N, C, S, P)
	return g.Linear(patches, g.Reshape(m.Patch.W, D, K), m.Patch.B, nn.OutIn)
}

// unfold writes the non-overlapping P×P patches of images src [N, C, S, S]
// into dst [N, L, C·P·P], L = (S/P)², patches in row-major order of their
// position and each flattened in (channel, row, column) order: the order in
// which a stride-P convolution's weight [D, C, P, P] meets them.
func unfold[T tensor.Float](dst, src []T, N, C, S, P int) {
	n := S / P
	o := 0
	for b := range N {
		img := src[b*C*S*S:]
		for pr := range n {
			for pc := range n {
				for c := range C {
					for i := range P {
						row := img[c*S*S+(pr*P+i)*S+pc*P:]
						o += copy(dst[o:o+P], row[:P])
					}
				}
			}
		}
	}
}

// ignored are checkpoint tensors that are not parameters of the
// classifier: ViTModel's pooler (ViTForImageClassification has none) and
// the mask token of masked-image-modeling checkpoints.
func ignored(name string) bool {
	name = strings.TrimPrefix(name, "vit.")
	return strings.HasPrefix(name, "pooler.") || name == "embeddings.mask_token"
}

// LoadOptions adapt Load to checkpoints that are not a complete
// classifier of the same labels.
type LoadOptions struct {
	// Fresh, when set, names the parameters that keep their initialization
	// from Seed instead of being read (IsHead for a bare ViTModel
	// checkpoint, or a new head). The file's tensors of those names are
	// ignored if present.
	Fresh func(name string) bool
	// Seed initializes the model before loading (what Fresh keeps).
	Seed uint64
	// ID2Label, when not nil, replaces the configuration's labels (and
	// label2id); the head then usually has a new shape and must be Fresh.
	ID2Label map[string]string
}

// Load reads a model directory (config.json + model.safetensors) of a
// ViTForImageClassification. Tensors may carry the "vit." prefix or not; a
// pooler is ignored; every missing, misshapen or unknown tensor is reported
// in one error naming the file.
func Load(dir string) (*Model, error) { return LoadWith(dir, LoadOptions{}) }

// LoadWith is Load with options: a bare ViTModel checkpoint (no classifier)
// loads with LoadOptions{Fresh: IsHead}.
func LoadWith(dir string, o LoadOptions) (*Model, error) {
	var cfg Config
	if err := checkpoint.ReadConfig(dir, &cfg); err != nil {
		return nil, fmt.Errorf("vit: %w", err)
	}
	if o.ID2Label != nil {
		cfg.ID2Label, cfg.Label2ID = o.ID2Label, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("vit: %s: %w", filepath.Join(dir, "config.json"), err)
	}
	m, err := New(cfg, o.Seed)
	if err != nil {
		return nil, err
	}
	sf, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	names := func(n string) []string { return []string{m.FileName(n), n} }
	var exp []checkpoint.Expected
	skip := map[string]bool{}
	for _, set := range []*nn.Params{&m.params, &m.bufs} {
		for _, p := range set.List() {
			if o.Fresh != nil && o.Fresh(p.Name()) {
				for _, n := range names(p.Name()) {
					skip[n] = true
				}
				continue
			}
			exp = append(exp, checkpoint.Expected{Names: names(p.Name()), Shape: p.Shape(), Dst: p.Data})
		}
	}
	if _, err := sf.LoadInto(exp, func(n string) bool { return skip[n] || ignored(n) }); err != nil {
		return nil, err
	}
	return m, nil
}

// Save writes config.json and model.safetensors (Hugging Face's
// ViTForImageClassification names) atomically into dir, with m.Metadata.
func (m *Model) Save(dir string) error { return m.SaveWithMetadata(dir, m.Metadata) }

// SaveWithMetadata is Save with the given entries for model.safetensors'
// __metadata__ (next to {"format": "pt"}) instead of m.Metadata.
func (m *Model) SaveWithMetadata(dir string, metadata map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ts []checkpoint.Tensor
	for _, p := range m.params.List() {
		ts = append(ts, checkpoint.Tensor{Name: m.FileName(p.Name()), Shape: p.Shape(), Data: p.Data})
	}
	meta := map[string]string{"format": "pt"}
	for k, v := range metadata {
		meta[k] = v
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), ts, meta); err != nil {
		return err
	}
	return checkpoint.WriteJSON(filepath.Join(dir, "config.json"), m.Config)
}
