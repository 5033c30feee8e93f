package bert

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/tramlab/tram/internal/testutil"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/nn"
)

const torchDir = "../testdata/torch"

func toInt32(x []float32) []int32 {
	out := make([]int32, len(x))
	for i, v := range x {
		out[i] = int32(v)
	}
	return out
}

// TestMatchesPyTorch loads the models written by testdata/torch/gen_bert.py
// and checks logits (relative error ≤ 1e-4) and every parameter gradient
// (≤ 1e-3) against PyTorch's.
func TestMatchesPyTorch(t *testing.T) {
	for _, c := range []struct {
		dir  string
		head Head
	}{{"bert_cls", Classification}, {"roberta_mlm", MaskedLM}} {
		t.Run(c.dir, func(t *testing.T) {
			m, err := Load(filepath.Join(torchDir, c.dir), c.head)
			if err != nil {
				t.Fatal(err)
			}
			exp := testutil.ReadAll(t, filepath.Join(torchDir, c.dir+"_expected.safetensors"))
			b := &Batch{B: 3, T: 9, IDs: toInt32(exp["input_ids"]), Types: toInt32(exp["token_type_ids"])}
			for _, v := range exp["attention_mask"] {
				b.Attend = append(b.Attend, v != 0)
			}
			labels := toInt32(exp["labels"])
			g := autograd.NewGraph[float32]()
			p := &nn.Pass{G: g}
			var logits *nn.Tensor
			if c.head == Classification {
				logits = m.ClassLogits(p, b)
			} else {
				logits = m.MLMLogits(p, b)
			}
			if e := testutil.RelErr(logits.Data, exp["logits"]); e > 1e-4 {
				t.Fatalf("logits relative error %.3g > 1e-4", e)
			}
			loss := g.CrossEntropy(logits, labels, -100)
			if d := math.Abs(float64(loss.Item() - exp["loss"][0])); d > 1e-5 {
				t.Fatalf("loss %v, PyTorch %v", loss.Item(), exp["loss"][0])
			}
			g.Backward(loss)
			for _, prm := range m.Params().List() {
				want, ok := exp["grad."+m.FileName(prm.Name())]
				if !ok {
					t.Fatalf("no reference gradient for %s", m.FileName(prm.Name()))
				}
				if e := testutil.RelErr(prm.Grad, want); e > 1e-3 {
					t.Errorf("gradient of %s: relative error %.3g > 1e-3", prm.Name(), e)
				}
			}
		})
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	cfg := Config{ModelType: "bert", VocabSize: 30, HiddenSize: 8, NumLayers: 1, NumHeads: 2, IntermediateSize: 16,
		MaxPositions: 12, TypeVocabSize: 2, HiddenAct: "gelu"}
	m, err := New(cfg, Classification, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(dir, Classification)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Params().Data {
		if m2.Params().Data[i] != v {
			t.Fatal("round trip changed parameters")
		}
	}
	if _, err := Load(dir, MaskedLM); err == nil {
		t.Fatal("a classification checkpoint loaded as a masked-LM model")
	}
}
