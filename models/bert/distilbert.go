package bert

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/tramlab/tram/nn"
)

// DistilBERT (model_type "distilbert") is BERT's post-LN encoder without
// token types and pooler, under other names and other config.json keys:
//
//	embeddings.{word_embeddings,position_embeddings,LayerNorm}
//	transformer.layer.N.attention.{q_lin,k_lin,v_lin,out_lin}
//	transformer.layer.N.sa_layer_norm
//	transformer.layer.N.ffn.{lin1,lin2}
//	transformer.layer.N.output_layer_norm
//	pre_classifier, classifier                                  (DistilBertForSequenceClassification)
//	vocab_transform, vocab_layer_norm, vocab_projector.bias     (DistilBertForMaskedLM)
//
// with the "distilbert." prefix on encoder tensors when a head is present.
// Its block is x = sa_layer_norm(x + out_lin(attention(x))),
// x = output_layer_norm(x + dropout(lin2(act(lin1(x))))): unlike BERT's,
// there is no dropout on the attention output. Every layer norm uses eps
// 1e-12. TypeVocabSize is ignored (and not written to config.json).

// distilLayer registers layer l of a DistilBERT encoder.
func distilLayer(ps *nn.Params, l, D, I int, eps float64) *Layer {
	p := fmt.Sprintf("transformer.layer.%d.", l)
	return &Layer{
		Q:            nn.NewLinear(ps, p+"attention.q_lin", D, D, true, nn.OutIn),
		K:            nn.NewLinear(ps, p+"attention.k_lin", D, D, true, nn.OutIn),
		V:            nn.NewLinear(ps, p+"attention.v_lin", D, D, true, nn.OutIn),
		AttnOut:      nn.NewLinear(ps, p+"attention.out_lin", D, D, true, nn.OutIn),
		AttnLN:       nn.NewLayerNorm(ps, p+"sa_layer_norm", D, eps),
		Intermediate: nn.NewLinear(ps, p+"ffn.lin1", D, I, true, nn.OutIn),
		Out:          nn.NewLinear(ps, p+"ffn.lin2", I, D, true, nn.OutIn),
		OutLN:        nn.NewLayerNorm(ps, p+"output_layer_norm", D, eps),
	}
}

// distilExtra holds the DistilBERT config.json keys that tram reads and
// writes back but does not use.
type distilExtra struct {
	sinusoidal bool    // sinusoidal_pos_embds (refused by Validate)
	qaDropout  float64 // qa_dropout (question answering, not in tram)
}

func (c Config) validateDistil() error {
	switch {
	case c.distil != nil && c.distil.sinusoidal:
		return fmt.Errorf("distilbert: sinusoidal_pos_embds true is not supported (tram's position embeddings are learned)")
	case c.VocabSize < 1 || c.HiddenSize < 1 || c.NumHeads < 1 || c.NumLayers < 0 || c.IntermediateSize < 1 || c.MaxPositions < 1:
		return fmt.Errorf("distilbert: sizes must be positive (vocab_size %d, dim %d, n_heads %d, n_layers %d, hidden_dim %d, max_position_embeddings %d)",
			c.VocabSize, c.HiddenSize, c.NumHeads, c.NumLayers, c.IntermediateSize, c.MaxPositions)
	case c.HiddenSize%c.NumHeads != 0:
		return fmt.Errorf("distilbert: dim %d is not divisible by n_heads %d", c.HiddenSize, c.NumHeads)
	case c.HiddenAct != "gelu" && c.HiddenAct != "gelu_new" && c.HiddenAct != "relu" && c.HiddenAct != "":
		return fmt.Errorf("distilbert: activation %q is not supported (gelu, gelu_new, relu)", c.HiddenAct)
	case c.LayerNormEps != 0 && c.LayerNormEps != 1e-12:
		return fmt.Errorf("distilbert: layer_norm_eps %g: DistilBERT's layer norms use 1e-12", c.LayerNormEps)
	}
	return nil
}

// configJSON is Config without its methods: BERT's and RoBERTa's
// config.json, encoded by the struct tags.
type configJSON Config

// distilJSON is DistilBERT's config.json, keys sorted as Hugging Face's
// save_pretrained writes them. spectral_norm_head is tram's (R4F).
type distilJSON struct {
	Activation        string            `json:"activation"`
	Architectures     []string          `json:"architectures,omitempty"`
	AttentionDropout  float64           `json:"attention_dropout"`
	Dim               int               `json:"dim"`
	Dropout           float64           `json:"dropout"`
	HiddenDim         int               `json:"hidden_dim"`
	ID2Label          map[string]string `json:"id2label,omitempty"`
	InitRange         float64           `json:"initializer_range"`
	Label2ID          map[string]int    `json:"label2id,omitempty"`
	MaxPositions      int               `json:"max_position_embeddings"`
	ModelType         string            `json:"model_type"`
	NHeads            int               `json:"n_heads"`
	NLayers           int               `json:"n_layers"`
	PadTokenID        int               `json:"pad_token_id"`
	QADropout         float64           `json:"qa_dropout"`
	SeqClassifDropout float64           `json:"seq_classif_dropout"`
	Sinusoidal        bool              `json:"sinusoidal_pos_embds"`
	SpectralHead      bool              `json:"spectral_norm_head,omitempty"`
	VocabSize         int               `json:"vocab_size"`
}

// distilDefaults are DistilBertConfig's defaults, which Hugging Face
// applies to keys a config.json leaves out.
func distilDefaults() distilJSON {
	return distilJSON{Activation: "gelu", AttentionDropout: 0.1, Dim: 768, Dropout: 0.1, HiddenDim: 3072,
		InitRange: 0.02, MaxPositions: 512, NHeads: 12, NLayers: 6, QADropout: 0.1, SeqClassifDropout: 0.2,
		VocabSize: 30522}
}

// MarshalJSON writes the config.json of the model type: the struct tags'
// keys for BERT and RoBERTa (unchanged), DistilBERT's own keys for
// "distilbert", so that Hugging Face loads the directory.
func (c Config) MarshalJSON() ([]byte, error) {
	if !c.IsDistilBERT() {
		return json.Marshal(configJSON(c))
	}
	d := distilJSON{Activation: c.HiddenAct, Architectures: c.Architectures, AttentionDropout: c.AttnDropout,
		Dim: c.HiddenSize, Dropout: c.HiddenDropout, HiddenDim: c.IntermediateSize, ID2Label: c.ID2Label,
		InitRange: c.InitRange, MaxPositions: c.MaxPositions, ModelType: c.ModelType, NHeads: c.NumHeads,
		NLayers: c.NumLayers, PadTokenID: c.PadTokenID, QADropout: 0.1, SeqClassifDropout: c.HiddenDropout,
		SpectralHead: c.SpectralHead, VocabSize: c.VocabSize}
	if d.Activation == "" {
		d.Activation = "gelu"
	}
	if d.InitRange == 0 {
		d.InitRange = 0.02
	}
	if c.ClassifierDropout != nil {
		d.SeqClassifDropout = *c.ClassifierDropout
	}
	if c.distil != nil {
		d.Sinusoidal, d.QADropout = c.distil.sinusoidal, c.distil.qaDropout
	}
	if len(c.ID2Label) > 0 {
		d.Label2ID = map[string]int{}
		ids := make([]string, 0, len(c.ID2Label))
		for id := range c.ID2Label {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if n, err := strconv.Atoi(id); err == nil {
				d.Label2ID[c.ID2Label[id]] = n
			}
		}
	}
	return json.Marshal(d)
}

// UnmarshalJSON reads a config.json: by the struct tags for BERT and
// RoBERTa, by DistilBERT's keys (with DistilBertConfig's defaults for
// missing ones) for model_type "distilbert".
func (c *Config) UnmarshalJSON(data []byte) error {
	var probe struct {
		ModelType string `json:"model_type"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return err
	}
	if probe.ModelType != "distilbert" {
		return json.Unmarshal(data, (*configJSON)(c))
	}
	d := distilDefaults()
	if err := json.Unmarshal(data, &d); err != nil {
		return err
	}
	drop := d.SeqClassifDropout
	*c = Config{ModelType: d.ModelType, VocabSize: d.VocabSize, HiddenSize: d.Dim, NumLayers: d.NLayers,
		NumHeads: d.NHeads, IntermediateSize: d.HiddenDim, HiddenAct: d.Activation, HiddenDropout: d.Dropout,
		AttnDropout: d.AttentionDropout, MaxPositions: d.MaxPositions, LayerNormEps: 1e-12,
		PadTokenID: d.PadTokenID, InitRange: d.InitRange, ID2Label: d.ID2Label, Architectures: d.Architectures,
		ClassifierDropout: &drop, SpectralHead: d.SpectralHead,
		distil: &distilExtra{sinusoidal: d.Sinusoidal, qaDropout: d.QADropout}}
	return nil
}
