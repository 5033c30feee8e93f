package vit

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/internal/testutil"
	"github.com/tramlab/tram/models/vision"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/tensor"
)

// A ViT is one of tram's image models.
var _ vision.Model = (*Model)(nil)

const torchDir = "../testdata/torch"

func toInt32(x []float32) []int32 {
	out := make([]int32, len(x))
	for i, v := range x {
		out[i] = int32(v)
	}
	return out
}

func same(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// tiny is a small configuration for tests that need no reference.
func tiny() Config {
	return Config{ModelType: "vit", HiddenSize: 8, NumLayers: 2, NumHeads: 2, IntermediateSize: 12, HiddenAct: "gelu",
		ImageSize: 6, PatchSize: 3, NumChannels: 2, ID2Label: Labels(3)}
}

// TestMatchesPyTorch loads the ViTForImageClassification checkpoint that
// testdata/torch/gen_vit.py writes and checks the logits (relative error
// ≤ 1e-5), the loss and every parameter gradient (≤ 1e-4) against its
// independent PyTorch forward (F.conv2d patches, explicit attention).
// Achieved: logits 3.2e-7, gradients at most 2.0e-6.
//
// As in BERT's test, the attention key biases are measured against a
// different scale: their gradient is zero in exact arithmetic (b_k adds
// q_i·b_k to every score of query i, which leaves the softmax unchanged), so
// both sides hold float32 rounding noise; their difference is held to 1e-4
// of the largest gradient of the same layer's key weight.
func TestMatchesPyTorch(t *testing.T) {
	m, err := Load(filepath.Join(torchDir, "vit_cls"))
	if err != nil {
		t.Fatal(err)
	}
	exp := testutil.ReadAll(t, filepath.Join(torchDir, "vit_cls_expected.safetensors"))
	cfg := m.Config
	x := tensor.FromSlice(exp["pixel_values"], 3, cfg.NumChannels, cfg.ImageSize, cfg.ImageSize)
	labels := toInt32(exp["labels"])
	g := autograd.NewGraph[float32]()
	logits := m.Logits(&nn.Pass{G: g}, x)
	if s := logits.Shape(); s[0] != 3 || s[1] != 3 {
		t.Fatalf("logits shape %v", s)
	}
	e := testutil.RelErr(logits.Data, exp["logits"])
	if e > 1e-5 {
		t.Fatalf("logits relative error %.3g > 1e-5", e)
	}
	loss := g.CrossEntropy(logits, labels, -100)
	if d := math.Abs(float64(loss.Item() - exp["loss"][0])); d > 1e-5 {
		t.Fatalf("loss %v, PyTorch %v", loss.Item(), exp["loss"][0])
	}
	g.Backward(loss)
	worst := 0.0
	for _, prm := range m.Params().List() {
		want, ok := exp["grad."+m.FileName(prm.Name())]
		if !ok {
			t.Fatalf("no reference gradient for %s", m.FileName(prm.Name()))
		}
		scale := want
		if strings.HasSuffix(prm.Name(), "attention.attention.key.bias") {
			scale = exp["grad."+m.FileName(strings.TrimSuffix(prm.Name(), "bias")+"weight")]
		}
		ge := testutil.MaxDiff(prm.Grad, want) / testutil.MaxAbs(scale)
		if ge > 1e-4 {
			t.Errorf("gradient of %s: relative error %.3g > 1e-4", prm.Name(), ge)
		}
		worst = math.Max(worst, ge)
	}
	t.Logf("logits relative error %.3g, worst gradient relative error %.3g", e, worst)
}

// TestPatchEmbeddingMatchesConv2d: the unfold + Linear patch projection is
// the stride-P convolution of Hugging Face's ViTPatchEmbeddings (computed
// here by autograd's Conv2d and permuted to [N, L, D]), in values and in
// the gradients of the weight and the bias.
func TestPatchEmbeddingMatchesConv2d(t *testing.T) {
	cfg := tiny()
	cfg.ImageSize, cfg.PatchSize, cfg.NumChannels = 8, 4, 3
	m, err := New(cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	N, L, D := 2, cfg.NumPatches(), cfg.HiddenSize
	x := tensor.Randn[float32](tensor.NewRNG(5), 1, N, 3, 8, 8)
	r := tensor.Randn[float32](tensor.NewRNG(6), 1, N, L, D)
	run := func(f func(p *nn.Pass) *nn.Tensor) ([]float32, []float32) {
		g := autograd.NewGraph[float32]()
		m.Params().ZeroGrad()
		y := f(&nn.Pass{G: g})
		g.Backward(g.Sum(g.Mul(y, r)))
		return append([]float32(nil), y.Data...), append([]float32(nil), m.Params().Grad...)
	}
	y0, g0 := run(func(p *nn.Pass) *nn.Tensor { return m.patchEmbed(p, x) })
	y1, g1 := run(func(p *nn.Pass) *nn.Tensor {
		c := p.G.Conv2d(x, m.Patch.W, m.Patch.B, cfg.PatchSize, 0) // [N, D, 2, 2]
		return p.G.Reshape(p.G.Permute(c, 0, 2, 3, 1), N, L, D)
	})
	if e := testutil.RelErr(y0, y1); e > 1e-6 {
		t.Fatalf("patch embeddings differ from the convolution's: relative error %.3g", e)
	}
	if e := testutil.RelErr(g0, g1); e > 1e-6 {
		t.Fatalf("patch projection gradients differ from the convolution's: relative error %.3g", e)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	cfg := tiny()
	off := false
	cfg.QKVBias = &off
	m, err := New(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	if m.Params().Get("encoder.layer.0.attention.attention.query.bias") != nil {
		t.Fatal("qkv_bias false still has a query bias")
	}
	dir := t.TempDir()
	if err := m.SaveWithMetadata(dir, map[string]string{"seed": "3"}); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !same(m.Params().Data, m2.Params().Data) {
		t.Fatal("round trip changed parameters")
	}
	if !reflect.DeepEqual(m.Config, m2.Config) {
		t.Fatalf("round trip changed the configuration:\n%+v\n%+v", m.Config, m2.Config)
	}
	sf, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	for _, n := range []string{"vit.embeddings.cls_token", "vit.encoder.layer.1.layernorm_after.bias", "vit.layernorm.weight", "classifier.weight"} {
		if _, ok := sf.Tensors[n]; !ok {
			t.Errorf("saved checkpoint lacks %q", n)
		}
	}
	var js map[string]any
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &js); err != nil {
		t.Fatal(err)
	}
	if js["model_type"] != "vit" || js["qkv_bias"] != false || fmt.Sprint(js["architectures"]) != "[ViTForImageClassification]" ||
		fmt.Sprint(js["label2id"]) != "map[LABEL_0:0 LABEL_1:1 LABEL_2:2]" {
		t.Errorf("config.json is not Hugging Face's: %s", raw)
	}
}

// rewrite saves m's tensors into dir/model.safetensors under the names
// name(parameter name) gives (skipped when ""), plus extra tensors.
func rewrite(t *testing.T, dir string, m *Model, name func(p *nn.Tensor) (string, []int), extra ...checkpoint.Tensor) {
	t.Helper()
	var ts []checkpoint.Tensor
	for _, p := range m.Params().List() {
		if n, shape := name(p); n != "" {
			ts = append(ts, checkpoint.Tensor{Name: n, Shape: shape, Data: p.Data[:prod(shape)]})
		}
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), append(ts, extra...), nil); err != nil {
		t.Fatal(err)
	}
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// TestLoadBareViTModel: a ViTModel checkpoint (no "vit." prefix, a pooler,
// no classifier) fails to load as a classifier, naming the missing head,
// and loads with a fresh head when the caller asks for one; a prefixless
// checkpoint with a classifier loads as it is.
func TestLoadBareViTModel(t *testing.T) {
	src, err := New(tiny(), 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := src.Save(dir); err != nil {
		t.Fatal(err)
	}
	D := src.Config.HiddenSize
	pooler := []checkpoint.Tensor{
		{Name: "pooler.dense.weight", Shape: []int{D, D}, Data: make([]float32, D*D)},
		{Name: "pooler.dense.bias", Shape: []int{D}, Data: make([]float32, D)},
	}
	rewrite(t, dir, src, func(p *nn.Tensor) (string, []int) { return p.Name(), p.Shape() }, pooler...)
	m, err := Load(dir)
	if err != nil {
		t.Fatalf("prefixless checkpoint with a pooler: %v", err)
	}
	if !same(m.Params().Data, src.Params().Data) {
		t.Fatal("prefixless checkpoint loaded other values")
	}

	rewrite(t, dir, src, func(p *nn.Tensor) (string, []int) {
		if IsHead(p.Name()) {
			return "", nil
		}
		return p.Name(), p.Shape()
	}, pooler...)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), `missing tensor "classifier.weight"`) {
		t.Fatalf("a checkpoint without a classifier: error %v", err)
	}
	labels := Labels(5)
	m, err = LoadWith(dir, LoadOptions{Fresh: IsHead, Seed: 9, ID2Label: labels})
	if err != nil {
		t.Fatal(err)
	}
	if m.NumClasses() != 5 || len(m.Config.Label2ID) != 5 {
		t.Fatalf("fresh head has %d classes, label2id %v", m.NumClasses(), m.Config.Label2ID)
	}
	cfg := tiny()
	cfg.ID2Label = labels
	init, err := New(cfg, 9)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params().List() {
		want := src.Params().Get(p.Name())
		if IsHead(p.Name()) {
			want = init.Params().Get(p.Name())
		}
		if !same(p.Data, want.Data) {
			t.Errorf("%s: loaded values are not the %s ones", p.Name(), map[bool]string{true: "fresh", false: "checkpoint's"}[IsHead(p.Name())])
		}
	}
}

// TestHostileCheckpoints: every problem of a checkpoint or its
// configuration is an error naming it.
func TestHostileCheckpoints(t *testing.T) {
	src, err := New(tiny(), 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := src.Save(dir); err != nil {
		t.Fatal(err)
	}
	rewrite(t, dir, src, func(p *nn.Tensor) (string, []int) {
		switch p.Name() {
		case "encoder.layer.1.layernorm_before.bias":
			return "", nil
		case "embeddings.position_embeddings":
			return "vit." + p.Name(), []int{1, 4, 8}
		}
		return src.FileName(p.Name()), p.Shape()
	}, checkpoint.Tensor{Name: "vit.decoder.weight", Shape: []int{2}, Data: []float32{1, 2}})
	_, err = Load(dir)
	if err == nil {
		t.Fatal("broken checkpoint loaded")
	}
	for _, want := range []string{filepath.Join(dir, "model.safetensors"), `missing tensor "vit.encoder.layer.1.layernorm_before.bias"`,
		`"vit.embeddings.position_embeddings": shape [1 4 8], expected [1 5 8]`, `unexpected tensor "vit.decoder.weight"`, "3 problems"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}

	for _, c := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.ModelType = "deit" }, `model_type "deit" is not vit`},
		{func(c *Config) { c.ImageSize = 7 }, "image_size 7 is not divisible by patch_size 3"},
		{func(c *Config) { c.NumHeads = 3 }, "hidden_size 8 is not divisible by num_attention_heads 3"},
		{func(c *Config) { c.HiddenAct = "swish" }, `hidden_act "swish" is not supported`},
		{func(c *Config) { c.PatchSize = 0 }, "sizes must be positive"},
		{func(c *Config) { c.HiddenDropout = 1 }, "dropout"},
		{func(c *Config) { c.ID2Label = map[string]string{"0": "a", "2": "b"} }, "id2label keys [0 2]"},
	} {
		cfg := tiny()
		c.mut(&cfg)
		if _, err := New(cfg, 0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New: error %v does not mention %q", err, c.want)
		}
		d := t.TempDir()
		if err := checkpoint.WriteJSON(filepath.Join(d, "config.json"), cfg); err != nil {
			t.Fatal(err)
		}
		_, err := Load(d)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), filepath.Join(d, "config.json")) {
			t.Errorf("Load: error %v does not name config.json and %q", err, c.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("missing directory: error %v", err)
	}
}

// TestWrongImageSizePanics: inputs of another size are refused, not
// silently mismatched with the position embeddings.
func TestWrongImageSizePanics(t *testing.T) {
	m, err := New(tiny(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "not interpolated") {
			t.Fatalf("panic %v", r)
		}
	}()
	m.Logits(&nn.Pass{G: autograd.NewGraph[float32]()}, tensor.New[float32](1, 2, 9, 9))
}

// TestDropouts: each dropout acts in training passes with an RNG, alone
// and reproducibly per seed; a pass without an RNG (or an evaluation pass)
// is deterministic and bit-identical to a model whose dropouts are 0.
func TestDropouts(t *testing.T) {
	x := tensor.Randn[float32](tensor.NewRNG(3), 1, 2, 2, 6, 6)
	run := func(cfg Config, train bool, rng bool, seed uint64) ([]float32, []float32) {
		m, err := New(cfg, 3)
		if err != nil {
			t.Fatal(err)
		}
		g := autograd.NewGraph[float32]()
		p := &nn.Pass{G: g, Train: train}
		if rng {
			p.RNG = tensor.NewRNG(seed)
		}
		logits := m.Logits(p, x)
		g.Backward(g.Sum(g.Mul(logits, logits)))
		return append([]float32(nil), logits.Data...), append([]float32(nil), m.Params().Grad...)
	}
	base := tiny()
	evalL, evalG := run(base, false, false, 1)
	if l, g := run(base, true, true, 1); !same(l, evalL) || !same(g, evalG) {
		t.Fatal("with every dropout 0 a training pass differs from an evaluation pass")
	}
	for _, c := range []struct {
		name string
		set  func(*Config)
	}{
		{"hidden_dropout_prob", func(c *Config) { c.HiddenDropout = 0.3 }},
		{"attention_probs_dropout_prob", func(c *Config) { c.AttnDropout = 0.3 }},
	} {
		cfg := base
		c.set(&cfg)
		a, ga := run(cfg, true, true, 1)
		if same(a, evalL) {
			t.Errorf("%s: training logits unchanged", c.name)
		}
		if l, g := run(cfg, true, true, 1); !same(a, l) || !same(ga, g) {
			t.Errorf("%s: the same seed gave different results", c.name)
		}
		if l, _ := run(cfg, true, true, 2); same(a, l) {
			t.Errorf("%s: another seed gave the same logits", c.name)
		}
		if l, g := run(cfg, true, false, 1); !same(l, evalL) || !same(g, evalG) {
			t.Errorf("%s: a training pass without an RNG is not the deterministic one", c.name)
		}
		if l, _ := run(cfg, false, true, 1); !same(l, evalL) {
			t.Errorf("%s: evaluation logits changed", c.name)
		}
	}
}

// TestInputNoise: InputNoise receives the patch embeddings [N·L·hidden]
// and changes the logits only when set; the caller's images stay unchanged.
func TestInputNoise(t *testing.T) {
	m, err := New(tiny(), 1)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.Randn[float32](tensor.NewRNG(3), 1, 2, 2, 6, 6)
	orig := append([]float32(nil), x.Data...)
	logits := func(noise func([]float32)) []float32 {
		return m.Logits(&nn.Pass{G: autograd.NewGraph[float32](), InputNoise: noise}, x).Data
	}
	clean := logits(nil)
	if !same(clean, logits(nil)) {
		t.Fatal("two clean passes differ")
	}
	if !same(clean, logits(func([]float32) {})) {
		t.Fatal("a no-op input noise changed the logits")
	}
	var got int
	noisy := logits(func(v []float32) {
		got = len(v)
		for i := range v { // not a constant: the layer norms would remove a per-token shift
			v[i] += 0.5 * float32(math.Sin(float64(i)))
		}
	})
	if want := 2 * m.Config.NumPatches() * m.Config.HiddenSize; got != want {
		t.Fatalf("input noise saw %d values, want the %d patch-embedding values", got, want)
	}
	if testutil.RelErr(noisy, clean) < 1e-3 {
		t.Fatal("input noise had no effect")
	}
	if !same(x.Data, orig) {
		t.Fatal("the forward pass modified the caller's images")
	}
}

// TestInit: weights, class token and position embeddings are drawn with
// std initializer_range, biases are 0 and layer-norm gains 1; the same seed
// gives the same model.
func TestInit(t *testing.T) {
	cfg := tiny()
	cfg.HiddenSize, cfg.IntermediateSize, cfg.InitRange = 32, 64, 0.05
	m, err := New(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := New(cfg, 7)
	if !same(m.Params().Data, m2.Params().Data) {
		t.Fatal("the same seed gave different models")
	}
	for _, p := range m.Params().List() {
		n := p.Name()
		switch {
		case strings.Contains(n, "layernorm") && strings.HasSuffix(n, "weight"):
			for _, v := range p.Data {
				if v != 1 {
					t.Fatalf("%s is not 1", n)
				}
			}
		case p.Dims() == 1:
			if testutil.MaxAbs(p.Data) != 0 {
				t.Fatalf("%s is not 0", n)
			}
		default:
			var s float64
			for _, v := range p.Data {
				s += float64(v) * float64(v)
			}
			if std := math.Sqrt(s / float64(p.Len())); p.Len() >= 256 && math.Abs(std-0.05) > 0.01 {
				t.Errorf("%s: std %.4f, want 0.05", n, std)
			}
		}
	}
}
