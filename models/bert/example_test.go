package bert_test

import (
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
