package bert

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/nn"
)

// TestConfigJSONUnchanged: BERT and RoBERTa configs are read and written
// exactly as before Config had MarshalJSON and UnmarshalJSON (by the struct
// tags alone), and the committed pretrained/xling/config.json, which tram
// wrote, round-trips byte for byte.
func TestConfigJSONUnchanged(t *testing.T) {
	xling := filepath.Join("..", "..", "pretrained", "xling", "config.json")
	raw, err := os.ReadFile(xling)
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := checkpoint.WriteJSON(filepath.Join(dir, "config.json"), cfg); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "config.json")); !bytes.Equal(got, raw) {
		t.Fatalf("%s changed in a round trip:\n%s\nwas\n%s", xling, got, raw)
	}
	drop := 0.25
	for _, path := range []string{xling, filepath.Join(torchDir, "bert_cls", "config.json"), filepath.Join(torchDir, "roberta_mlm", "config.json"),
		filepath.Join(torchDir, "roberta_cls", "config.json"), filepath.Join(torchDir, "xlmr_cls", "config.json")} {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var got Config
		var old configJSON
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &old); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, Config(old)) {
			t.Fatalf("%s: read %+v, by the struct tags %+v", path, got, old)
		}
		got.ClassifierDropout, got.SpectralHead = &drop, true
		a, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.MarshalIndent(configJSON(got), "", "  ")
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: written\n%s\nby the struct tags\n%s", path, a, b)
		}
	}
}

// TestDistilBERTConfigJSON: a DistilBERT config.json (as Hugging Face
// writes it) fills the BERT fields, and is written back with the same keys
// and values; missing keys take DistilBertConfig's defaults.
func TestDistilBERTConfigJSON(t *testing.T) {
	path := filepath.Join(torchDir, "distilbert_cls", "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.HiddenSize != 16 || cfg.NumLayers != 2 || cfg.NumHeads != 4 || cfg.IntermediateSize != 32 || cfg.HiddenAct != "gelu" ||
		cfg.VocabSize != 43 || cfg.MaxPositions != 12 || cfg.TypeVocabSize != 0 || cfg.LayerNormEps != 1e-12 ||
		cfg.ClassifierDropout == nil || *cfg.ClassifierDropout != 0 || cfg.NumLabels() != 3 || !cfg.IsDistilBERT() ||
		cfg.Architectures[0] != "DistilBertForSequenceClassification" {
		t.Fatalf("read %+v", cfg)
	}
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	json.Unmarshal(raw, &want)
	json.Unmarshal(out, &got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("written\n%s\nread\n%s", out, raw)
	}

	var def Config
	if err := json.Unmarshal([]byte(`{"model_type": "distilbert", "n_layers": 3, "dropout": 0.3}`), &def); err != nil {
		t.Fatal(err)
	}
	if def.HiddenSize != 768 || def.NumHeads != 12 || def.NumLayers != 3 || def.IntermediateSize != 3072 || def.VocabSize != 30522 ||
		def.MaxPositions != 512 || def.HiddenDropout != 0.3 || def.AttnDropout != 0.1 || *def.ClassifierDropout != 0.2 ||
		def.HiddenAct != "gelu" || def.InitRange != 0.02 {
		t.Fatalf("defaults: %+v", def)
	}

	// A Go config without a classifier dropout writes dropout as
	// seq_classif_dropout (the dropout ClassLogits applies).
	out, _ = json.Marshal(Config{ModelType: "distilbert", VocabSize: 10, HiddenSize: 8, NumLayers: 1, NumHeads: 2,
		IntermediateSize: 16, MaxPositions: 8, HiddenDropout: 0.15})
	for _, key := range []string{`"dim":8`, `"n_layers":1`, `"n_heads":2`, `"hidden_dim":16`, `"dropout":0.15`, `"seq_classif_dropout":0.15`,
		`"activation":"gelu"`, `"sinusoidal_pos_embds":false`} {
		if !strings.Contains(string(out), key) {
			t.Errorf("%s lacks %s", out, key)
		}
	}
	for _, key := range []string{"hidden_size", "num_hidden_layers", "type_vocab_size", "layer_norm_eps"} {
		if strings.Contains(string(out), key) {
			t.Errorf("%s has BERT's key %s", out, key)
		}
	}
}

// copyModel copies a model directory into a temporary one, applying edit
// to its config.json (as a map) and tensors to its tensors (name → tensor).
func copyModel(t *testing.T, src string, editConfig func(map[string]any), editTensors func(map[string]checkpoint.Tensor)) string {
	t.Helper()
	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if editConfig != nil {
		editConfig(cfg)
	}
	if err := checkpoint.WriteJSON(filepath.Join(dir, "config.json"), cfg); err != nil {
		t.Fatal(err)
	}
	sf, err := checkpoint.Open(filepath.Join(src, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	ts := map[string]checkpoint.Tensor{}
	for _, n := range sf.Names() {
		info := sf.Tensors[n]
		data := make([]float32, (info.End-info.Begin)/4)
		if err := sf.ReadInto(n, data); err != nil {
			t.Fatal(err)
		}
		ts[n] = checkpoint.Tensor{Name: n, Shape: info.Shape, Data: data}
	}
	if editTensors != nil {
		editTensors(ts)
	}
	var list []checkpoint.Tensor
	for _, n := range slices.Sorted(maps.Keys(ts)) {
		list = append(list, ts[n])
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), list, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDistilBERTHostile: broken DistilBERT checkpoints fail to load with
// errors that name the file and the problem.
func TestDistilBERTHostile(t *testing.T) {
	src := filepath.Join(torchDir, "distilbert_cls")
	for _, c := range []struct {
		name    string
		config  func(map[string]any)
		tensors func(map[string]checkpoint.Tensor)
		file    string // the file the error must name
		want    []string
	}{
		{name: "missing tensor", tensors: func(ts map[string]checkpoint.Tensor) { delete(ts, "distilbert.transformer.layer.1.ffn.lin2.bias") },
			file: "model.safetensors", want: []string{`missing tensor "distilbert.transformer.layer.1.ffn.lin2.bias" (expected float [16])`}},
		{name: "wrong shape", tensors: func(ts map[string]checkpoint.Tensor) {
			w := ts["pre_classifier.weight"]
			ts["pre_classifier.weight"] = checkpoint.Tensor{Name: w.Name, Shape: []int{8, 16}, Data: w.Data[:128]}
		}, file: "model.safetensors", want: []string{`tensor "pre_classifier.weight": shape [8 16], expected [16 16]`}},
		{name: "unexpected tensor", tensors: func(ts map[string]checkpoint.Tensor) {
			ts["distilbert.embeddings.token_type_embeddings.weight"] = checkpoint.Tensor{Name: "distilbert.embeddings.token_type_embeddings.weight",
				Shape: []int{2, 16}, Data: make([]float32, 32)}
		}, file: "model.safetensors", want: []string{`unexpected tensor "distilbert.embeddings.token_type_embeddings.weight"`}},
		{name: "gpt-neo", config: func(c map[string]any) { c["model_type"] = "gpt-neo" },
			file: "config.json", want: []string{`model_type "gpt-neo" is not bert, roberta, xlm-roberta or distilbert`}},
		{name: "heads", config: func(c map[string]any) { c["n_heads"] = 5 },
			file: "config.json", want: []string{"dim 16 is not divisible by n_heads 5"}},
		{name: "sinusoidal", config: func(c map[string]any) { c["sinusoidal_pos_embds"] = true },
			file: "config.json", want: []string{"sinusoidal_pos_embds true is not supported"}},
		{name: "activation", config: func(c map[string]any) { c["activation"] = "silu" },
			file: "config.json", want: []string{`activation "silu" is not supported`}},
		{name: "bad json", config: func(c map[string]any) { c["dim"] = "sixteen" },
			file: "config.json", want: []string{"dim"}},
		{name: "no file", tensors: func(ts map[string]checkpoint.Tensor) {}, file: "model.safetensors", want: []string{"no such file"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := copyModel(t, src, c.config, c.tensors)
			if c.name == "no file" {
				os.Remove(filepath.Join(dir, "model.safetensors"))
			}
			_, err := Load(dir, Classification)
			if err == nil {
				t.Fatal("loaded")
			}
			t.Log(err)
			msg := err.Error()
			if !strings.Contains(msg, filepath.Join(dir, c.file)) {
				t.Errorf("the error does not name %s: %v", c.file, err)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the error does not say %q: %v", w, err)
				}
			}
			var le *checkpoint.LoadError
			if c.file == "model.safetensors" && c.name != "no file" && (!errors.As(err, &le) || len(le.Problems) != 1) {
				t.Errorf("want one problem in a *checkpoint.LoadError: %v", err)
			}
		})
	}
}

// TestDistilBERTNames: a DistilBERT model's parameters are Hugging Face's,
// under the "distilbert." prefix with a head and without one for the bare
// model, and a checkpoint loads with and without the prefix.
func TestDistilBERTNames(t *testing.T) {
	src := filepath.Join(torchDir, "distilbert_cls")
	m, err := Load(src, Classification)
	if err != nil {
		t.Fatal(err)
	}
	var head []string
	for _, p := range m.Params().List() {
		if !strings.HasPrefix(m.FileName(p.Name()), "distilbert.") {
			head = append(head, p.Name())
		}
	}
	if want := []string{"pre_classifier.weight", "pre_classifier.bias", "classifier.weight", "classifier.bias"}; !slices.Equal(head, want) {
		t.Fatalf("head parameters %v, want %v", head, want)
	}
	bare := copyModel(t, src, nil, func(ts map[string]checkpoint.Tensor) {
		for n, x := range ts {
			if s, ok := strings.CutPrefix(n, "distilbert."); ok {
				delete(ts, n)
				x.Name = s
				ts[s] = x
			}
		}
	})
	m2, err := Load(bare, Classification)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Params().Data, m2.Params().Data) {
		t.Fatal("the unprefixed checkpoint loaded other values")
	}
	enc, err := Load(bare, NoHead) // DistilBertModel: no prefix, no head
	if err == nil || !strings.Contains(err.Error(), `unexpected tensor "pre_classifier.weight"`) {
		t.Fatalf("a classifier loaded as a bare encoder: %v", err)
	}
	enc, err = New(m.Config, NoHead, 0)
	if err != nil {
		t.Fatal(err)
	}
	if enc.Pooler != nil || enc.Type != nil || enc.FileName("transformer.layer.0.attention.q_lin.weight") != "transformer.layer.0.attention.q_lin.weight" {
		t.Fatal("the bare DistilBERT model has a pooler, token types or prefixed names")
	}
	if _, err := Load(src, MaskedLM); err == nil || !strings.Contains(err.Error(), `missing tensor "vocab_transform.weight"`) {
		t.Fatalf("a classifier loaded as a masked-LM model: %v", err)
	}
}

// TestDistilBERTRoundTrip: Save then Load gives the same parameters bit
// for bit and the same configuration, written in DistilBERT's keys, for
// every head.
func TestDistilBERTRoundTrip(t *testing.T) {
	drop := 0.2
	cfg := Config{ModelType: "distilbert", VocabSize: 30, HiddenSize: 8, NumLayers: 2, NumHeads: 2, IntermediateSize: 16,
		MaxPositions: 12, HiddenAct: "gelu", HiddenDropout: 0.1, AttnDropout: 0.1, ClassifierDropout: &drop, InitRange: 0.02,
		ID2Label: map[string]string{"0": "x", "1": "y", "2": "z"}, Architectures: []string{"DistilBertForSequenceClassification"}}
	for _, head := range []Head{Classification, MaskedLM, NoHead} {
		for _, spectral := range []bool{false, true} {
			if spectral && head != Classification {
				continue
			}
			c := cfg
			c.SpectralHead = spectral
			m, err := New(c, head, 3)
			if err != nil {
				t.Fatal(err)
			}
			if spectral { // move the power-iteration vectors away from their initial values
				m.ClassLogits(&nn.Pass{G: autograd.NewGraph[float32](), Train: true}, &Batch{B: 1, T: 4, IDs: []int32{2, 5, 7, 9}})
			}
			dir := t.TempDir()
			if err := m.Save(dir); err != nil {
				t.Fatal(err)
			}
			raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
			var keys map[string]any
			json.Unmarshal(raw, &keys)
			for _, k := range []string{"dim", "n_layers", "n_heads", "hidden_dim", "activation", "dropout", "attention_dropout", "seq_classif_dropout"} {
				if _, ok := keys[k]; !ok {
					t.Errorf("config.json lacks %q:\n%s", k, raw)
				}
			}
			if _, ok := keys["hidden_size"]; ok {
				t.Errorf("config.json has BERT's keys:\n%s", raw)
			}
			sf, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			_, hasPrefixed := sf.Tensors["distilbert.transformer.layer.1.ffn.lin1.weight"]
			sf.Close()
			if hasPrefixed != (head != NoHead) {
				t.Errorf("head %d: prefixed names %v", head, hasPrefixed)
			}
			m2, err := Load(dir, head)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.Params().Data, m2.Params().Data) || !slices.Equal(m.Buffers().Data, m2.Buffers().Data) {
				t.Fatalf("head %d spectral %v: the round trip changed parameters or buffers", head, spectral)
			}
			a, _ := json.Marshal(m.Config)
			b, _ := json.Marshal(m2.Config)
			if !bytes.Equal(a, b) || m2.Config.eps() != 1e-12 || *m2.Config.ClassifierDropout != drop {
				t.Fatalf("head %d: config %s, reloaded %s", head, a, b)
			}
		}
	}
}

// TestDistilBERTInit: New draws every weight matrix (the head's included)
// from a normal of std initializer_range, with zero biases and unit
// layer-norm gains, as Hugging Face's _init_weights.
func TestDistilBERTInit(t *testing.T) {
	cfg := Config{ModelType: "distilbert", VocabSize: 100, HiddenSize: 64, NumLayers: 1, NumHeads: 4, IntermediateSize: 128,
		MaxPositions: 32, HiddenAct: "gelu", InitRange: 0.05}
	m, err := New(cfg, Classification, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params().List() {
		var sum, sq float64
		for _, v := range p.Data {
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		n := float64(p.Len())
		switch name := p.Name(); {
		case p.Dims() == 2:
			if std := math.Sqrt(sq/n - (sum/n)*(sum/n)); math.Abs(std-0.05) > 0.01 {
				t.Errorf("%s: std %.4f, want 0.05", name, std)
			}
		case strings.HasSuffix(name, "norm.weight") || strings.HasSuffix(name, "LayerNorm.weight"):
			if sum != n || sq != n {
				t.Errorf("%s: gains are not 1", name)
			}
		case sq != 0:
			t.Errorf("%s: bias is not zero", name)
		}
	}
}
