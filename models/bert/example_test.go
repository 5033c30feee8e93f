package bert_test

import (
	"encoding/json"
	"fmt"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/models/bert"
	"github.com/tramlab/tram/nn"
)

func Example() {
	cfg := bert.Config{ModelType: "bert", VocabSize: 50, HiddenSize: 16, NumLayers: 1, NumHeads: 2,
		IntermediateSize: 32, MaxPositions: 8, TypeVocabSize: 2, HiddenAct: "gelu",
		ID2Label: map[string]string{"0": "neg", "1": "pos"}}
	m, err := bert.New(cfg, bert.Classification, 1)
	if err != nil {
		panic(err)
	}
	b := &bert.Batch{B: 2, T: 4, IDs: []int32{2, 7, 9, 3, 2, 8, 3, 0},
		Attend: []bool{true, true, true, true, true, true, true, false}}
	logits := m.ClassLogits(&nn.Pass{G: autograd.NewGraph[float32]()}, b)
	fmt.Println(logits.Shape(), m.FileName("classifier.weight"), m.FileName("pooler.dense.weight"))
	// Output: [2 2] classifier.weight bert.pooler.dense.weight
}

// A DistilBERT classifier from a config.json in DistilBERT's keys: the
// encoder's names carry the "distilbert." prefix, the head's
// (pre_classifier, classifier) none, and token types are ignored.
func Example_distilBERT() {
	var cfg bert.Config
	if err := json.Unmarshal([]byte(`{"model_type": "distilbert", "vocab_size": 50, "dim": 16, "n_layers": 1,
		"n_heads": 2, "hidden_dim": 32, "activation": "gelu", "max_position_embeddings": 8,
		"id2label": {"0": "neg", "1": "pos"}}`), &cfg); err != nil {
		panic(err)
	}
	m, err := bert.New(cfg, bert.Classification, 1)
	if err != nil {
		panic(err)
	}
	b := &bert.Batch{B: 2, T: 4, IDs: []int32{2, 7, 9, 3, 2, 8, 3, 0},
		Attend: []bool{true, true, true, true, true, true, true, false}}
	logits := m.ClassLogits(&nn.Pass{G: autograd.NewGraph[float32]()}, b)
	fmt.Println(logits.Shape(), cfg.HiddenSize, cfg.NumLayers, cfg.IntermediateSize, *cfg.ClassifierDropout)
	fmt.Println(m.FileName("transformer.layer.0.attention.q_lin.weight"))
	fmt.Println(m.FileName("pre_classifier.weight"), m.FileName("classifier.weight"))
	// Output:
	// [2 2] 16 1 32 0.2
	// distilbert.transformer.layer.0.attention.q_lin.weight
	// pre_classifier.weight classifier.weight
}
