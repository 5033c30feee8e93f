package eval

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tramlab/tram/models/bert"
	"github.com/tramlab/tram/train"
)

// Texts batches texts by length, longest batch first; every text must get
// the logits it gets alone, in the order of s, and the loss must be the mean
// of the texts' own losses whatever the batch size.
func TestTextsMatchesOneByOne(t *testing.T) {
	cfg := bert.Config{ModelType: "bert", VocabSize: 40, HiddenSize: 16, NumLayers: 2, NumHeads: 2,
		IntermediateSize: 32, HiddenAct: "gelu", MaxPositions: 32, TypeVocabSize: 2, LayerNormEps: 1e-12,
		InitRange: 0.2, ID2Label: map[string]string{"0": "a", "1": "b", "2": "c"}}
	m, err := bert.New(cfg, bert.Classification, 7)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	p := m.Params()
	for i := range p.Data { // nonzero biases too
		p.Data[i] += float32(rng.NormFloat64() * 0.05)
	}
	s := &train.Texts{T: 24}
	for i := range 23 {
		ids := make([]int32, 2+rng.IntN(20))
		for j := range ids {
			ids[j] = int32(1 + rng.IntN(39))
		}
		s.IDs = append(s.IDs, ids)
		s.Labels = append(s.Labels, int32(i%3))
	}
	one := Texts(m, s, 1)
	for _, batch := range []int{4, 7, 64} {
		got := Texts(m, s, batch)
		if got.N != one.N || got.Correct != one.Correct {
			t.Fatalf("batch %d: %d of %d correct, one by one %d of %d", batch, got.Correct, got.N, one.Correct, one.N)
		}
		for i, v := range got.Logits {
			if math.Abs(float64(v-one.Logits[i])) > 1e-5 {
				t.Fatalf("batch %d: logit %d = %g, alone %g", batch, i, v, one.Logits[i])
			}
		}
		for i, y := range got.Predictions {
			if y != one.Predictions[i] {
				t.Fatalf("batch %d: text %d predicted %d, alone %d", batch, i, y, one.Predictions[i])
			}
		}
		if math.Abs(got.Loss-one.Loss) > 1e-6 {
			t.Fatalf("batch %d: loss %.9g, one by one %.9g", batch, got.Loss, one.Loss)
		}
		if again := Texts(m, s, batch); again.Loss != got.Loss {
			t.Fatalf("batch %d: loss %v then %v: not deterministic", batch, got.Loss, again.Loss)
		}
	}
}
