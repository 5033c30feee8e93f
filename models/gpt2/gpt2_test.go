package gpt2

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tramlab/tram/internal/testutil"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/tensor"
)

const torchDir = "../testdata/torch"

// TestMatchesPyTorch loads the model written by testdata/torch/gen_gpt2.py
// and checks logits (relative error ≤ 1e-5) and every parameter gradient of
// the LM loss (≤ 1e-4) against PyTorch's. Achieved: about 5e-7 and 1e-6.
func TestMatchesPyTorch(t *testing.T) {
	m, err := Load(filepath.Join(torchDir, "gpt2"))
	if err != nil {
		t.Fatal(err)
	}
	exp := testutil.ReadAll(t, filepath.Join(torchDir, "gpt2_expected.safetensors"))
	ids := make([]int32, len(exp["input_ids"]))
	for i, v := range exp["input_ids"] {
		ids[i] = int32(v)
	}
	B, T := 3, 12
	g := autograd.NewGraph[float32]()
	p := &nn.Pass{G: g}
	logits := m.Forward(p, ids, B, T)
	if e := testutil.RelErr(logits.Data, exp["logits"]); e > 1e-5 {
		t.Fatalf("logits relative error %.3g > 1e-5", e)
	}
	g.Reset()
	tg := ShiftTargets(nil, ids, B, T)
	_, loss := m.LMLoss(p, ids, B, T, tg)
	if d := math.Abs(float64(loss.Item() - exp["loss"][0])); d > 1e-5 {
		t.Fatalf("loss %v, PyTorch %v", loss.Item(), exp["loss"][0])
	}
	g.Backward(loss)
	for _, prm := range m.Params().List() {
		want, ok := exp["grad."+prm.Name()]
		if !ok {
			t.Fatalf("no reference gradient for %s", prm.Name())
		}
		if e := testutil.RelErr(prm.Grad, want); e > 1e-4 {
			t.Errorf("gradient of %s: relative error %.3g > 1e-4", prm.Name(), e)
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m, err := New(Small(50, 8, 16, 2, 2), 7)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Params().Data {
		if m2.Params().Data[i] != v {
			t.Fatalf("parameter %d changed in the round trip", i)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Fatalf("temporary file %s left behind", e.Name())
		}
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	src, err := New(Small(50, 8, 16, 1, 2), 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := src.Save(dir); err != nil {
		t.Fatal(err)
	}
	// Rewrite the weights: drop one tensor, reshape one, add a stranger.
	var ts []checkpoint.Tensor
	for _, p := range src.Params().List() {
		switch p.Name() {
		case "h.0.ln_1.bias":
			continue
		case "wpe.weight":
			ts = append(ts, checkpoint.Tensor{Name: "transformer.wpe.weight", Shape: []int{4, 32}, Data: p.Data})
		default:
			ts = append(ts, checkpoint.Tensor{Name: "transformer." + p.Name(), Shape: p.Shape(), Data: p.Data})
		}
	}
	ts = append(ts, checkpoint.Tensor{Name: "score.weight", Shape: []int{2}, Data: []float32{1, 2}})
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir)
	if err == nil {
		t.Fatal("broken checkpoint loaded")
	}
	for _, want := range []string{`missing tensor "h.0.ln_1.bias"`, `"transformer.wpe.weight": shape [4 32], expected [8 16]`, `unexpected tensor "score.weight"`, "3 problems"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.ModelType = "bert" }, "model_type"},
		{func(c *Config) { c.NHead = 3 }, "divisible"},
		{func(c *Config) { c.Activation = "relu" }, "activation_function"},
	} {
		cfg := Small(10, 4, 8, 1, 2)
		c.mut(&cfg)
		if _, err := New(cfg, 0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config error %v does not mention %q", err, c.want)
		}
	}
}

// TestDropouts: every dropout the configuration defines acts in training
// passes with an RNG, alone and reproducibly per seed; with all of them 0 a
// training pass is bit-identical to an evaluation pass (no dropout code
// runs), and evaluation ignores them.
func TestDropouts(t *testing.T) {
	ids := []int32{1, 5, 9, 3, 7, 2, 8, 4, 6, 0, 3, 3, 5, 1, 2, 9}
	run := func(cfg Config, train bool, seed uint64) ([]float32, []float32) {
		m, err := New(cfg, 3)
		if err != nil {
			t.Fatal(err)
		}
		g := autograd.NewGraph[float32]()
		p := &nn.Pass{G: g, Train: train, RNG: tensor.NewRNG(seed)}
		logits, loss := m.LMLoss(p, ids, 2, 8, ShiftTargets(nil, ids, 2, 8))
		g.Backward(loss)
		return append([]float32(nil), logits.Data...), append([]float32(nil), m.Params().Grad...)
	}
	same := func(a, b []float32) bool {
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				return false
			}
		}
		return true
	}
	base := Small(10, 8, 16, 2, 2)
	evalL, evalG := run(base, false, 1)
	trainL, trainG := run(base, true, 1)
	if !same(evalL, trainL) || !same(evalG, trainG) {
		t.Fatal("with every dropout 0 a training pass differs from an evaluation pass")
	}
	for _, c := range []struct {
		name string
		set  func(*Config)
	}{
		{"attn_pdrop", func(c *Config) { c.AttnPdrop = 0.3 }},
		{"resid_pdrop", func(c *Config) { c.ResidPdrop = 0.3 }},
		{"embd_pdrop", func(c *Config) { c.EmbdPdrop = 0.3 }},
	} {
		cfg := base
		c.set(&cfg)
		a, ga := run(cfg, true, 1)
		if same(a, evalL) {
			t.Errorf("%s: training logits unchanged", c.name)
		}
		if b, gb := run(cfg, true, 1); !same(a, b) || !same(ga, gb) {
			t.Errorf("%s: the same seed gave different results", c.name)
		}
		if b, _ := run(cfg, true, 2); same(a, b) {
			t.Errorf("%s: another seed gave the same logits", c.name)
		}
		if e, _ := run(cfg, false, 1); !same(e, evalL) {
			t.Errorf("%s: evaluation logits changed", c.name)
		}
	}
}
