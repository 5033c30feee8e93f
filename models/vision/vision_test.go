package vision

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tramlab/tram/internal/testutil"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/tensor"
)

// TestResNetMatchesPyTorch: training-mode logits and every gradient, the
// updated running statistics, then evaluation-mode logits, against
// testdata/torch/gen_cnn.py (logits ≤ 1e-5, gradients ≤ 1e-4, running
// statistics ≤ 1e-5 relative; achieved: about 1e-6 for every one).
func TestResNetMatchesPyTorch(t *testing.T) {
	m, err := Load("../testdata/torch/cnn")
	if err != nil {
		t.Fatal(err)
	}
	exp := testutil.ReadAll(t, "../testdata/torch/cnn_expected.safetensors")
	x := tensor.FromSlice(exp["x"], 4, 1, 12, 12)
	labels := []int32{0, 3, 1, 4}
	g := autograd.NewGraph[float32]()
	logits := m.Logits(&nn.Pass{G: g, Train: true}, x)
	if e := testutil.RelErr(logits.Data, exp["logits"]); e > 1e-5 {
		t.Fatalf("train logits relative error %.3g", e)
	}
	g.Backward(g.CrossEntropy(logits, labels, -1))
	for _, p := range m.Params().List() {
		if e := testutil.RelErr(p.Grad, exp["grad."+p.Name()]); e > 1e-4 {
			t.Errorf("gradient of %s: relative error %.3g", p.Name(), e)
		}
	}
	for _, b := range m.Buffers().List() {
		if e := testutil.RelErr(b.Data, exp["after."+b.Name()]); e > 1e-5 {
			t.Errorf("buffer %s after the training forward: relative error %.3g", b.Name(), e)
		}
	}
	g.Reset()
	eval := m.Logits(&nn.Pass{G: g}, x)
	if e := testutil.RelErr(eval.Data, exp["eval_logits"]); e > 1e-5 {
		t.Fatalf("eval logits relative error %.3g", e)
	}
}

func TestSaveLoadAndErrors(t *testing.T) {
	for _, cfg := range []Config{
		{ModelType: "tram-resnet", NumClasses: 10, Widths: []int{4, 8, 8}},
		{ModelType: "tram-mlp", NumClasses: 10, Hidden: []int{32}},
	} {
		m, err := New(cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := Save(m, dir); err != nil {
			t.Fatal(err)
		}
		m2, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range m.Params().Data {
			if m2.Params().Data[i] != v {
				t.Fatal("round trip changed parameters")
			}
		}
		g := autograd.NewGraph[float32]()
		x := tensor.Randn[float32](tensor.NewRNG(2), 1, 3, 1, 28, 28)
		if l := m2.Logits(&nn.Pass{G: g, Train: true}, x); l.Dim(0) != 3 || l.Dim(1) != 10 {
			t.Fatalf("logits shape %v", l.Shape())
		}
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{ModelType: "vit", NumClasses: 3}, "unknown model_type"},
		{Config{ModelType: "tram-resnet", NumClasses: 3, Widths: []int{4}}, "3 widths"},
		{Config{ModelType: "tram-mlp"}, "num_classes"},
	} {
		if _, err := New(c.cfg, 0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config %+v: error %v, want %q", c.cfg, err, c.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing directory loaded")
	}
}

func TestInputNoiseLeavesCallerDataAlone(t *testing.T) {
	m, _ := New(Config{ModelType: "tram-mlp", NumClasses: 3, ImageSize: 4, Hidden: []int{5}}, 1)
	x := tensor.Randn[float32](tensor.NewRNG(3), 1, 2, 1, 4, 4)
	orig := append([]float32(nil), x.Data...)
	g := autograd.NewGraph[float32]()
	a := m.Logits(&nn.Pass{G: g}, x)
	b := m.Logits(&nn.Pass{G: g, InputNoise: func(v []float32) {
		for i := range v {
			v[i] += 1
		}
	}}, x)
	for i, v := range orig {
		if x.Data[i] != v {
			t.Fatal("input noise modified the caller's images")
		}
	}
	if testutil.RelErr(a.Data, b.Data) < 1e-3 {
		t.Fatal("input noise had no effect")
	}
}
