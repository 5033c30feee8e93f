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
)

const torchDir = "../testdata/torch"

// TestMatchesPyTorch loads the model written by testdata/torch/gen_gpt2.py
// and checks logits (relative error ≤ 1e-4) and every parameter gradient of
// the LM loss (≤ 1e-3) against PyTorch's.
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
	if e := testutil.RelErr(logits.Data, exp["logits"]); e > 1e-4 {
		t.Fatalf("logits relative error %.3g > 1e-4", e)
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
		if e := testutil.RelErr(prm.Grad, want); e > 1e-3 {
			t.Errorf("gradient of %s: relative error %.3g > 1e-3", prm.Name(), e)
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
