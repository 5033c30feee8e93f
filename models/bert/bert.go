// Package bert is the BERT family of bidirectional encoders — BERT,
// RoBERTa, XLM-RoBERTa and DistilBERT — with parameter names that match
// Hugging Face's: BertModel / RobertaModel ("embeddings.*",
// "encoder.layer.N.*", "pooler.*") and DistilBertModel ("embeddings.*",
// "transformer.layer.N.*"), with a sequence-classification head
// (BertForSequenceClassification's "classifier.*",
// RobertaForSequenceClassification's "classifier.dense" and
// "classifier.out_proj", DistilBertForSequenceClassification's
// "pre_classifier" and "classifier") and a masked-LM head
// (BertForMaskedLM's "cls.predictions.*", RobertaForMaskedLM's "lm_head.*",
// DistilBertForMaskedLM's "vocab_transform", "vocab_layer_norm" and
// "vocab_projector"), its decoder tied to the word embeddings.
//
// Blocks are post-LN, as in the original BERT. model_type "bert",
// "roberta", "xlm-roberta" and "distilbert" are accepted; RoBERTa and
// XLM-R positions start after the padding index, as Hugging Face numbers
// them. DistilBERT is BERT's block without token types, pooler or dropout
// on the attention output, and with its own config.json keys (dim,
// n_layers, n_heads, …), which Config reads and writes.
package bert

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/tensor"
)

// Config is the subset of Hugging Face's BertConfig/RobertaConfig (and
// DistilBertConfig) that tram uses. The JSON tags are BERT's and RoBERTa's
// config.json keys; a config.json of model_type "distilbert" is read from
// and written in DistilBERT's own keys (see MarshalJSON): dim, n_layers,
// n_heads, hidden_dim, activation, dropout, attention_dropout and
// seq_classif_dropout fill HiddenSize, NumLayers, NumHeads,
// IntermediateSize, HiddenAct, HiddenDropout, AttnDropout and
// ClassifierDropout; DistilBERT has no token types (TypeVocabSize 0) and
// its layer norms use eps 1e-12.
type Config struct {
	ModelType        string `json:"model_type"`
	VocabSize        int    `json:"vocab_size"`
	HiddenSize       int    `json:"hidden_size"`
	NumLayers        int    `json:"num_hidden_layers"`
	NumHeads         int    `json:"num_attention_heads"`
	IntermediateSize int    `json:"intermediate_size"`
	HiddenAct        string `json:"hidden_act"`
	// Dropout probabilities, applied as Hugging Face applies them in
	// training passes that have an RNG (nn.Pass): hidden_dropout_prob after
	// the embedding layer norm and on the attention-output and output
	// projections before their residual adds, attention_probs_dropout_prob
	// on the attention probabilities, and classifier_dropout (default
	// hidden_dropout_prob) before the classification head's layers. The
	// masked-LM head has none. DistilBERT's dropout is hidden_dropout_prob
	// after the embedding layer norm and on the FFN output (there is none
	// on its attention output), attention_dropout is attention_probs_dropout_prob,
	// and seq_classif_dropout is classifier_dropout, applied once, between
	// pre_classifier's ReLU and the classifier.
	HiddenDropout float64           `json:"hidden_dropout_prob"`
	AttnDropout   float64           `json:"attention_probs_dropout_prob"`
	MaxPositions  int               `json:"max_position_embeddings"`
	TypeVocabSize int               `json:"type_vocab_size"`
	LayerNormEps  float64           `json:"layer_norm_eps"`
	PadTokenID    int               `json:"pad_token_id"`
	InitRange     float64           `json:"initializer_range"`
	ID2Label      map[string]string `json:"id2label,omitempty"`
	// Label2ID is id2label's inverse, as Hugging Face writes it beside it.
	Label2ID          map[string]int `json:"label2id,omitempty"`
	Architectures     []string       `json:"architectures,omitempty"`
	ClassifierDropout *float64       `json:"classifier_dropout,omitempty"`
	// SpectralHead spectrally normalizes the classifier's output layer (R4F).
	SpectralHead bool `json:"spectral_norm_head,omitempty"`

	// distil holds DistilBERT's config.json keys that tram reads but does
	// not use (nil for other model types).
	distil *distilExtra
}

// Head selects the task head on top of the encoder.
type Head int

const (
	// NoHead is the bare encoder (with its pooler).
	NoHead Head = iota
	// Classification adds a sequence-classification head over the first token.
	Classification
	// MaskedLM adds the masked-language-model head.
	MaskedLM
)

// IsRoBERTa reports whether the configuration is RoBERTa-style.
func (c Config) IsRoBERTa() bool { return c.ModelType == "roberta" || c.ModelType == "xlm-roberta" }

// IsDistilBERT reports whether the configuration is DistilBERT's.
func (c Config) IsDistilBERT() bool { return c.ModelType == "distilbert" }

// ClassificationArchitecture returns Hugging Face's sequence-classification
// class of the configuration's model type (config.json's architectures).
func (c Config) ClassificationArchitecture() string {
	switch {
	case c.IsDistilBERT():
		return "DistilBertForSequenceClassification"
	case c.ModelType == "xlm-roberta":
		return "XLMRobertaForSequenceClassification"
	case c.IsRoBERTa():
		return "RobertaForSequenceClassification"
	}
	return "BertForSequenceClassification"
}

// NumLabels returns the number of classification labels (2 by default).
func (c Config) NumLabels() int {
	if len(c.ID2Label) > 0 {
		return len(c.ID2Label)
	}
	return 2
}

// Validate reports the first inconsistency, naming the config.json keys of
// the model type (DistilBERT's for "distilbert").
func (c Config) Validate() error {
	if c.IsDistilBERT() {
		return c.validateDistil()
	}
	switch {
	case c.ModelType != "bert" && !c.IsRoBERTa():
		return fmt.Errorf("model_type %q is not bert, roberta, xlm-roberta or distilbert", c.ModelType)
	case c.VocabSize < 1 || c.HiddenSize < 1 || c.NumHeads < 1 || c.NumLayers < 0 || c.IntermediateSize < 1 || c.MaxPositions < 1:
		return fmt.Errorf("sizes must be positive (vocab %d, hidden %d, heads %d, layers %d, intermediate %d, positions %d)",
			c.VocabSize, c.HiddenSize, c.NumHeads, c.NumLayers, c.IntermediateSize, c.MaxPositions)
	case c.HiddenSize%c.NumHeads != 0:
		return fmt.Errorf("hidden_size %d is not divisible by num_attention_heads %d", c.HiddenSize, c.NumHeads)
	case c.HiddenAct != "gelu" && c.HiddenAct != "gelu_new" && c.HiddenAct != "relu" && c.HiddenAct != "":
		return fmt.Errorf("hidden_act %q is not supported (gelu, gelu_new, relu)", c.HiddenAct)
	}
	return nil
}

func (c Config) eps() float64 {
	if c.LayerNormEps == 0 {
		return 1e-12
	}
	return c.LayerNormEps
}

func (c Config) prefix() string {
	switch {
	case c.IsRoBERTa():
		return "roberta."
	case c.IsDistilBERT():
		return "distilbert."
	}
	return "bert."
}

// Model is an encoder with an optional head.
type Model struct {
	Config Config
	Head   Head
	// Metadata is written into model.safetensors' __metadata__ next to
	// {"format": "pt"} (run provenance: tram version, method, seed…).
	Metadata map[string]string
	params   nn.Params
	bufs     nn.Params

	Word, Pos, Type *nn.Embedding
	EmbLN           *nn.LayerNorm
	Layers          []*Layer
	Pooler          *nn.Linear // nil for RoBERTa classification and MLM models and for DistilBERT

	// Classification: BERT uses Classifier on the pooled output; RoBERTa
	// uses ClsDense → tanh → Classifier on the first token; DistilBERT
	// PreClassifier → ReLU → Classifier on the first token.
	ClsDense, PreClassifier, Classifier *nn.Linear
	// MaskedLM: Transform → activation → TransformLN → tied decoder + LMBias.
	Transform   *nn.Linear
	TransformLN *nn.LayerNorm
	LMBias      *tensor.Tensor[float32]

	zeros []int32 // token types of batches that give none
}

// Layer is one post-LN encoder block. DistilBERT's names its parts
// attention.{q,k,v,out}_lin, sa_layer_norm, ffn.lin1, ffn.lin2 and
// output_layer_norm.
type Layer struct {
	Q, K, V, AttnOut  *nn.Linear
	AttnLN            *nn.LayerNorm
	Intermediate, Out *nn.Linear
	OutLN             *nn.LayerNorm
}

// qkv returns the query, key and value projections of x side by side,
// [B, T, 3·hidden], as nn.Attention takes them: one fused op that writes
// each projection into its column block (no concatenation copies), from
// the three separately named Hugging Face parameters.
func (l *Layer) qkv(p *nn.Pass, x *nn.Tensor) *nn.Tensor {
	return p.G.LinearQKV(x, [3]*nn.Tensor{l.Q.W, l.K.W, l.V.W}, [3]*nn.Tensor{l.Q.B, l.K.B, l.V.B}, nn.OutIn)
}

// New returns a model with BERT's initialization (normal weights with
// std initializer_range, zero biases, unit layer-norm gains) drawn from seed.
// A DistilBERT model has no token-type embeddings and no pooler.
func New(cfg Config, head Head, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	m := &Model{Config: cfg, Head: head}
	ps, D, I, eps := &m.params, cfg.HiddenSize, cfg.IntermediateSize, cfg.eps()
	distil := cfg.IsDistilBERT()
	types := cfg.TypeVocabSize
	if types == 0 {
		types = 2
	}
	m.Word = nn.NewEmbedding(ps, "embeddings.word_embeddings", cfg.VocabSize, D)
	m.Pos = nn.NewEmbedding(ps, "embeddings.position_embeddings", cfg.MaxPositions, D)
	if !distil {
		m.Type = nn.NewEmbedding(ps, "embeddings.token_type_embeddings", types, D)
	}
	m.EmbLN = nn.NewLayerNorm(ps, "embeddings.LayerNorm", D, eps)
	for l := range cfg.NumLayers {
		if distil {
			m.Layers = append(m.Layers, distilLayer(ps, l, D, I, eps))
			continue
		}
		p := fmt.Sprintf("encoder.layer.%d.", l)
		m.Layers = append(m.Layers, &Layer{
			Q:            nn.NewLinear(ps, p+"attention.self.query", D, D, true, nn.OutIn),
			K:            nn.NewLinear(ps, p+"attention.self.key", D, D, true, nn.OutIn),
			V:            nn.NewLinear(ps, p+"attention.self.value", D, D, true, nn.OutIn),
			AttnOut:      nn.NewLinear(ps, p+"attention.output.dense", D, D, true, nn.OutIn),
			AttnLN:       nn.NewLayerNorm(ps, p+"attention.output.LayerNorm", D, eps),
			Intermediate: nn.NewLinear(ps, p+"intermediate.dense", D, I, true, nn.OutIn),
			Out:          nn.NewLinear(ps, p+"output.dense", I, D, true, nn.OutIn),
			OutLN:        nn.NewLayerNorm(ps, p+"output.LayerNorm", D, eps),
		})
	}
	roberta := cfg.IsRoBERTa()
	if !distil && (head == NoHead || (head == Classification && !roberta)) {
		m.Pooler = nn.NewLinear(ps, "pooler.dense", D, D, true, nn.OutIn)
	}
	switch {
	case head == Classification && distil:
		m.PreClassifier = nn.NewLinear(ps, "pre_classifier", D, D, true, nn.OutIn)
		m.Classifier = classifier(ps, &m.bufs, "classifier", D, cfg, seed)
	case head == MaskedLM && distil:
		m.Transform = nn.NewLinear(ps, "vocab_transform", D, D, true, nn.OutIn)
		m.TransformLN = nn.NewLayerNorm(ps, "vocab_layer_norm", D, eps)
		m.LMBias = ps.Add("vocab_projector.bias", cfg.VocabSize)
	case head == Classification && roberta:
		m.ClsDense = nn.NewLinear(ps, "classifier.dense", D, D, true, nn.OutIn)
		m.Classifier = classifier(ps, &m.bufs, "classifier.out_proj", D, cfg, seed)
	case head == Classification:
		m.Classifier = classifier(ps, &m.bufs, "classifier", D, cfg, seed)
	case head == MaskedLM && roberta:
		m.Transform = nn.NewLinear(ps, "lm_head.dense", D, D, true, nn.OutIn)
		m.TransformLN = nn.NewLayerNorm(ps, "lm_head.layer_norm", D, eps)
		m.LMBias = ps.Add("lm_head.bias", cfg.VocabSize)
	case head == MaskedLM:
		m.Transform = nn.NewLinear(ps, "cls.predictions.transform.dense", D, D, true, nn.OutIn)
		m.TransformLN = nn.NewLayerNorm(ps, "cls.predictions.transform.LayerNorm", D, eps)
		m.LMBias = ps.Add("cls.predictions.bias", cfg.VocabSize)
	}
	std := cfg.InitRange
	if std == 0 {
		std = 0.02
	}
	rng := tensor.NewRNG(seed)
	for _, p := range ps.List() {
		if p.Dims() == 2 {
			tensor.FillNormal(rng, p.Data, std)
		}
	}
	return m, nil
}

func classifier(ps, bufs *nn.Params, name string, D int, cfg Config, seed uint64) *nn.Linear {
	if cfg.SpectralHead {
		return nn.NewSpectralLinear(ps, bufs, name, D, cfg.NumLabels(), true, nn.OutIn, seed+1)
	}
	return nn.NewLinear(ps, name, D, cfg.NumLabels(), true, nn.OutIn)
}

// Params returns the parameters.
func (m *Model) Params() *nn.Params { return &m.params }

// Buffers returns the power-iteration vectors of a spectrally normalized
// head (classifier[.out_proj].weight_u and weight_v); it is empty otherwise.
func (m *Model) Buffers() *nn.Params { return &m.bufs }

// headPrefixes start the names of head parameters, which a Hugging Face
// checkpoint stores without the encoder's prefix.
var headPrefixes = []string{"classifier", "cls.", "lm_head", "pre_classifier.", "vocab_transform.", "vocab_layer_norm.", "vocab_projector."}

// FileName maps a parameter name to its name in a Hugging Face checkpoint
// of the model with its head: encoder names carry the "bert.", "roberta."
// or "distilbert." prefix when a head is present.
func (m *Model) FileName(name string) string {
	if m.Head == NoHead {
		return name
	}
	for _, h := range headPrefixes {
		if strings.HasPrefix(name, h) {
			return name
		}
	}
	return m.Config.prefix() + name
}

// FileNames lists the names under which Load accepts a parameter in a
// checkpoint: FileName's first, then the name with the encoder's prefix
// ("bert.", "roberta." or "distilbert.") and without any.
func (m *Model) FileNames(name string) []string {
	return []string{m.FileName(name), m.Config.prefix() + name, name}
}

func (m *Model) act(p *nn.Pass, x *nn.Tensor) *nn.Tensor {
	switch m.Config.HiddenAct {
	case "gelu_new":
		return p.G.GELU(x)
	case "relu":
		return p.G.ReLU(x)
	}
	return p.G.GELUErf(x)
}

// Batch is a batch of B sequences of length T: token ids, optional token
// types (nil: all 0) and an optional attention mask (nil: all tokens
// attend; false marks padding).
type Batch struct {
	B, T   int
	IDs    []int32
	Types  []int32
	Attend []bool
	posIDs []int32
}

// Hidden returns the last hidden states [B, T, hidden].
func (m *Model) Hidden(p *nn.Pass, b *Batch) *nn.Tensor {
	cfg, g := m.Config, p.G
	x := m.embed(p, b)
	attnOutDrop := cfg.HiddenDropout
	if cfg.IsDistilBERT() {
		attnOutDrop = 0 // DistilBERT's block adds out_lin's output as it is
	}
	for _, l := range m.Layers {
		qkv := l.qkv(p, x)
		a := nn.Attention(p, qkv, cfg.NumHeads, false, b.Attend, cfg.AttnDropout)
		x = l.AttnLN.Forward(p, g.Add(x, nn.Dropout(p, l.AttnOut.Forward(p, a), attnOutDrop)))
		h := m.act(p, l.Intermediate.Forward(p, x))
		x = l.OutLN.Forward(p, g.Add(x, nn.Dropout(p, l.Out.Forward(p, h), cfg.HiddenDropout)))
	}
	return x
}

// embed returns the embedding layer's output [B, T, hidden]: word,
// position and token-type embeddings summed, normalized and dropped out.
// DistilBERT has no token types: it ignores b.Types.
func (m *Model) embed(p *nn.Pass, b *Batch) *nn.Tensor {
	cfg, g, D := m.Config, p.G, m.Config.HiddenSize
	distil := cfg.IsDistilBERT()
	if b.B*b.T != len(b.IDs) || (!distil && b.Types != nil && len(b.Types) != len(b.IDs)) || (b.Attend != nil && len(b.Attend) != len(b.IDs)) {
		panic(fmt.Sprintf("bert: batch [%d, %d] with %d ids, %d types, %d mask entries", b.B, b.T, len(b.IDs), len(b.Types), len(b.Attend)))
	}
	off := 0
	if cfg.IsRoBERTa() {
		off = cfg.PadTokenID + 1
	}
	if b.T+off > cfg.MaxPositions {
		panic(fmt.Sprintf("bert: sequence length %d exceeds max_position_embeddings %d", b.T+off, cfg.MaxPositions))
	}
	// BERT numbers positions 0…T−1. RoBERTa numbers non-padding tokens from
	// padding_idx+1 and gives padding the padding index, as Hugging Face's
	// create_position_ids_from_input_ids.
	b.posIDs = b.posIDs[:0]
	for i := 0; i < b.B; i++ {
		next := off
		for t := 0; t < b.T; t++ {
			if cfg.IsRoBERTa() && b.IDs[i*b.T+t] == int32(cfg.PadTokenID) {
				b.posIDs = append(b.posIDs, int32(cfg.PadTokenID))
				continue
			}
			b.posIDs = append(b.posIDs, int32(next))
			next++
		}
	}
	x := m.Word.Forward(p, b.IDs, b.B, b.T, D)
	if p.InputNoise != nil {
		p.InputNoise(x.Data)
	}
	x = g.Add(x, m.Pos.Forward(p, b.posIDs, b.B, b.T, D))
	if !distil {
		types := b.Types
		if types == nil {
			if len(m.zeros) < len(b.IDs) {
				m.zeros = make([]int32, len(b.IDs))
			}
			types = m.zeros[:len(b.IDs)]
		}
		x = g.Add(x, m.Type.Forward(p, types, b.B, b.T, D))
	}
	return nn.Dropout(p, m.EmbLN.Forward(p, x), cfg.HiddenDropout)
}

// first returns the hidden state of each sequence's first token, [B, hidden].
func first(p *nn.Pass, h *nn.Tensor) *nn.Tensor {
	f := p.G.Slice(h, 1, 0, 1)
	return p.G.Reshape(f, h.Dim(0), h.Dim(2))
}

// Pooled returns tanh(pooler(first token)), [B, hidden].
func (m *Model) Pooled(p *nn.Pass, h *nn.Tensor) *nn.Tensor {
	if m.Pooler == nil {
		panic("bert: this model has no pooler")
	}
	return p.G.Tanh(m.Pooler.Forward(p, first(p, h)))
}

// ClassLogits returns the classification logits [B, labels].
func (m *Model) ClassLogits(p *nn.Pass, b *Batch) *nn.Tensor {
	if m.Head != Classification {
		panic("bert: ClassLogits on a model without a classification head")
	}
	h := m.Hidden(p, b)
	drop := m.Config.HiddenDropout
	if m.Config.ClassifierDropout != nil {
		drop = *m.Config.ClassifierDropout
	}
	if m.ClsDense != nil { // RoBERTa
		x := nn.Dropout(p, first(p, h), drop)
		x = nn.Dropout(p, p.G.Tanh(m.ClsDense.Forward(p, x)), drop)
		return m.Classifier.Forward(p, x)
	}
	if m.PreClassifier != nil { // DistilBERT: seq_classif_dropout after the ReLU only
		x := p.G.ReLU(m.PreClassifier.Forward(p, first(p, h)))
		return m.Classifier.Forward(p, nn.Dropout(p, x, drop))
	}
	return m.Classifier.Forward(p, nn.Dropout(p, m.Pooled(p, h), drop))
}

// MLMLogits returns the masked-LM logits [B, T, vocab].
func (m *Model) MLMLogits(p *nn.Pass, b *Batch) *nn.Tensor {
	if m.Head != MaskedLM {
		panic("bert: MLMLogits on a model without a masked-LM head")
	}
	h := m.Transform.Forward(p, m.Hidden(p, b))
	if m.Config.IsRoBERTa() {
		h = p.G.GELUErf(h) // RobertaLMHead always uses gelu
	} else {
		h = m.act(p, h)
	}
	return p.G.Linear(m.TransformLN.Forward(p, h), m.Word.W, m.LMBias, nn.OutIn)
}

// ignored are checkpoint tensors that are not parameters.
func ignored(name string) bool {
	return strings.HasSuffix(name, "position_ids") || strings.HasSuffix(name, "predictions.decoder.weight") ||
		strings.HasSuffix(name, "predictions.decoder.bias") || strings.HasSuffix(name, "lm_head.decoder.weight") ||
		strings.HasSuffix(name, "lm_head.decoder.bias") || strings.HasSuffix(name, "token_type_ids") ||
		name == "vocab_projector.weight"
}

// Load reads a model directory (config.json + model.safetensors) with the
// given head. Encoder tensors may carry the "bert."/"roberta."/"distilbert."
// prefix or not. A tensor missing from the file, one of the wrong shape or
// one the model does not use fails the load with a *checkpoint.LoadError
// that names the file and lists every problem.
func Load(dir string, head Head) (*Model, error) {
	var cfg Config
	if err := checkpoint.ReadConfig(dir, &cfg); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	m, err := New(cfg, head, 0)
	if err != nil {
		return nil, fmt.Errorf("bert: %s: %w", filepath.Join(dir, "config.json"), err)
	}
	sf, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	exp := append(checkpoint.ExpectedFor(m.params.List(), m.FileNames), checkpoint.ExpectedFor(m.bufs.List(), m.FileNames)...)
	if _, err := sf.LoadInto(exp, ignored); err != nil {
		return nil, err
	}
	return m, nil
}

// Save writes config.json and model.safetensors (Hugging Face names; a
// spectrally normalized head as torch.nn.utils.spectral_norm stores it:
// weight_orig, weight_u, weight_v) atomically into dir.
func (m *Model) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ts []checkpoint.Tensor
	for _, set := range []*nn.Params{&m.params, &m.bufs} {
		for _, p := range set.List() {
			ts = append(ts, checkpoint.Tensor{Name: m.FileName(p.Name()), Shape: p.Shape(), Data: p.Data})
		}
	}
	meta := map[string]string{"format": "pt"}
	for k, v := range m.Metadata {
		meta[k] = v
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), ts, meta); err != nil {
		return err
	}
	return checkpoint.WriteJSON(filepath.Join(dir, "config.json"), m.Config) // DistilBERT's keys for distilbert (Config.MarshalJSON)
}
