package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/data/userdata"
	"github.com/tramlab/tram/family"
	"github.com/tramlab/tram/models/bert"
	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/models/vision"
	"github.com/tramlab/tram/models/vit"
)

// The "Fine-tune your own model" path end to end, for every architecture:
// a small model tram writes in a Hugging Face layout, the user's data in
// the formats users have (CSV and JSONL texts, image folders, text files),
// fine-tuning with a TRAM method and a named test set, `tram predict` and
// `tram eval --test`.

// tram runs a tram command line and fails the test on a non-zero exit.
func tram(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if rc := runMain(args, &stdout, &stderr); rc != 0 {
		t.Fatalf("tram %s: exit %d: %s", strings.Join(args, " "), rc, stderr.String())
	}
	return stdout.String()
}

// tramFails runs a tram command line that must fail and returns its stderr.
func tramFails(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if rc := runMain(args, &stdout, &stderr); rc == 0 {
		t.Fatalf("tram %s succeeded; want an error", strings.Join(args, " "))
	}
	return stderr.String()
}

func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// reviews writes a small sentiment set: texts with a "good" word are
// label pos, with a "bad" word neg.
func reviews(t *testing.T, path string, n int, seed uint64, csv bool) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	good := []string{"great", "lovely", "fine", "superb"}
	bad := []string{"dull", "awful", "poor", "boring"}
	things := []string{"film", "plot", "acting", "music", "ending"}
	var b strings.Builder
	if csv {
		b.WriteString("review,aspect,sentiment\n")
	}
	for i := 0; i < n; i++ {
		label, words := "pos", good
		if i%2 == 1 {
			label, words = "neg", bad
		}
		thing := things[r.IntN(len(things))]
		text := fmt.Sprintf("the %s was %s", thing, words[r.IntN(len(words))])
		if csv {
			fmt.Fprintf(&b, "%q,%s,%s\n", text, thing, label)
		} else {
			line, _ := json.Marshal(map[string]string{"review": text, "aspect": thing, "sentiment": label})
			b.Write(append(line, '\n'))
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readPredictions parses tram predict's JSON Lines.
func readPredictions(t *testing.T, raw string) []family.Prediction {
	t.Helper()
	var out []family.Prediction
	for _, l := range strings.Split(strings.TrimSpace(raw), "\n") {
		var p family.Prediction
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatalf("prediction %q: %v", l, err)
		}
		out = append(out, p)
	}
	return out
}

func checkClassPredictions(t *testing.T, preds []family.Prediction, n int, labels []string) {
	t.Helper()
	if len(preds) != n {
		t.Fatalf("%d predictions, want %d", len(preds), n)
	}
	for _, p := range preds {
		var sum float64
		best := 0
		for k, q := range p.Probabilities {
			sum += q
			if p.Logits[k] > p.Logits[best] {
				best = k
			}
		}
		if math.Abs(sum-1) > 1e-9 || len(p.Logits) != len(labels) || p.Label != labels[best] {
			t.Fatalf("prediction %+v (labels %v)", p, labels)
		}
	}
}

func readReport(t *testing.T, path string) family.Report {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r family.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestYourTextClassifier(t *testing.T) {
	dir := t.TempDir()
	reviews(t, filepath.Join(dir, "train.csv"), 24, 1, true)
	reviews(t, filepath.Join(dir, "valid.csv"), 8, 2, true)
	reviews(t, filepath.Join(dir, "shifted.jsonl"), 10, 3, false)
	wordpiece, unigram := "../../pretrained/xling/tokenizer.json", "../../tokenizer/testdata/unigram_xlmr.json"
	for _, c := range []struct {
		name, config, tokenizer string
		pair                    bool // classify (review, aspect) pairs
	}{
		{"bert", `{"model_type": "bert", "vocab_size": 8192, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
			"intermediate_size": 32, "hidden_act": "gelu", "max_position_embeddings": 32, "type_vocab_size": 2, "pad_token_id": 0}`, wordpiece, true},
		{"distilbert", `{"model_type": "distilbert", "vocab_size": 8192, "dim": 16, "n_layers": 1, "n_heads": 2,
			"hidden_dim": 32, "activation": "gelu", "max_position_embeddings": 32, "pad_token_id": 0}`, wordpiece, false},
		// RoBERTa: a byte-level BPE tokenizer, positions after the padding index.
		{"roberta", `{"model_type": "roberta", "vocab_size": 16384, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
			"intermediate_size": 32, "hidden_act": "gelu", "max_position_embeddings": 34, "type_vocab_size": 1, "pad_token_id": 1}`, "../../pretrained/lm/tokenizer.json", false},
		// XLM-R: a SentencePiece Unigram tokenizer, positions after the padding index, one token type.
		{"xlm-roberta", `{"model_type": "xlm-roberta", "vocab_size": 2002, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
			"intermediate_size": 32, "hidden_act": "gelu", "max_position_embeddings": 34, "type_vocab_size": 1, "pad_token_id": 1}`, unigram, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var cfg bert.Config
			if err := json.Unmarshal([]byte(c.config), &cfg); err != nil {
				t.Fatal(err)
			}
			m, err := bert.New(cfg, bert.NoHead, 7)
			if err != nil {
				t.Fatal(err)
			}
			model := filepath.Join(dir, c.name)
			if err := m.Save(model); err != nil {
				t.Fatal(err)
			}
			copyTo(t, c.tokenizer, filepath.Join(model, "tokenizer.json"))
			out := filepath.Join(dir, c.name+"-tuned")
			common := []string{"--text-column", "review", "--label-column", "sentiment"}
			if c.pair {
				common = append(common, "--text-pair-column", "aspect")
			}
			tram(t, append([]string{"finetune", "--model", model, "--train", filepath.Join(dir, "train.csv"),
				"--valid", filepath.Join(dir, "valid.csv"), "--test", "shifted=" + filepath.Join(dir, "shifted.jsonl"),
				"--method", "tram-theta0", "--steps", "3", "--batch-size", "4", "--lr", "1e-3", "--eval-every", "3",
				"--select", "best", "--out", out}, common...)...)
			var got struct {
				ID2Label      map[string]string `json:"id2label"`
				Label2ID      map[string]int    `json:"label2id"`
				Architectures []string          `json:"architectures"`
			}
			if err := checkpoint.ReadConfig(out, &got); err != nil {
				t.Fatal(err)
			}
			if got.ID2Label["0"] != "neg" || got.ID2Label["1"] != "pos" || got.Label2ID["pos"] != 1 || len(got.Architectures) != 1 || !strings.HasSuffix(got.Architectures[0], "ForSequenceClassification") {
				t.Errorf("config.json: %+v", got)
			}
			rep := readReport(t, filepath.Join(out, "eval_results.json"))
			if len(rep.Domains) != 1 || rep.Domains[0].Domain != "shifted" || rep.Domains[0].Examples != 10 || rep.Domains[0].Accuracy == nil {
				t.Errorf("eval_results.json: %+v", rep)
			}
			// tram eval --test scores the same set the same way.
			evalOut := filepath.Join(dir, c.name+"-eval.json")
			tram(t, append([]string{"eval", "--model", out, "--test", "shifted=" + filepath.Join(dir, "shifted.jsonl"), "--json", evalOut}, common...)...)
			if again := readReport(t, evalOut); *again.Domains[0].Accuracy != *rep.Domains[0].Accuracy || *again.Domains[0].Loss != *rep.Domains[0].Loss {
				t.Errorf("tram eval %+v differs from eval_results.json %+v", again.Domains[0], rep.Domains[0])
			}
			// tram predict needs no label column.
			preds := readPredictions(t, tram(t, append([]string{"predict", "--model", out, "--input", filepath.Join(dir, "shifted.jsonl")}, common[:2]...)...))
			if c.pair {
				// Pairs are classified as pairs: other logits than the first text alone.
				pairs := readPredictions(t, tram(t, append([]string{"predict", "--model", out, "--input", filepath.Join(dir, "shifted.jsonl")}, common...)...))
				if slices.Equal(pairs[0].Logits, preds[0].Logits) {
					t.Error("--text-pair-column made no difference to the logits")
				}
			}
			checkClassPredictions(t, preds, 10, []string{"neg", "pos"})
			// --head keep fine-tunes the tuned model's own head further.
			tram(t, append([]string{"finetune", "--model", out, "--train", filepath.Join(dir, "train.csv"), "--head", "keep",
				"--method", "adamw", "--steps", "1", "--batch-size", "4", "--lr", "1e-3", "--out", out + "-again"}, common...)...)
		})
	}
	// Bad input: a test label the model does not know, named with its
	// file and line, and nothing written.
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("review,sentiment\nfine,pos\nodd,mixed\n"), 0o644)
	out := filepath.Join(dir, "never")
	msg := tramFails(t, "finetune", "--model", filepath.Join(dir, "bert"), "--train", filepath.Join(dir, "train.csv"), "--valid", bad,
		"--text-column", "review", "--label-column", "sentiment", "--method", "adamw", "--steps", "1", "--batch-size", "2", "--lr", "1e-3", "--out", out)
	if !strings.Contains(msg, `bad.csv:3: label "mixed" is not one the model knows ("neg", "pos")`) {
		t.Errorf("unseen label: %s", msg)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("%s was written after an error", out)
	}
	msg = tramFails(t, "finetune", "--model", filepath.Join(dir, "bert"), "--train", filepath.Join(dir, "train.csv"),
		"--method", "adamw", "--steps", "1", "--batch-size", "2", "--lr", "1e-3", "--out", out)
	if !strings.Contains(msg, `train.csv:1: missing column "text" (the header has "review", "aspect", "sentiment")`) {
		t.Errorf("missing column: %s", msg)
	}
	// A bare encoder has nothing to predict with.
	msg = tramFails(t, "predict", "--model", filepath.Join(dir, "bert"), "--input", filepath.Join(dir, "shifted.jsonl"), "--text-column", "review")
	if !strings.Contains(msg, "has no classification head") {
		t.Errorf("predict with a bare encoder: %s", msg)
	}
	// --head keep with a head of other labels says how to get a new one.
	os.WriteFile(bad, []byte("review,sentiment\nfine,good\nodd,bad\n"), 0o644)
	msg = tramFails(t, "finetune", "--model", filepath.Join(dir, "bert-tuned"), "--train", bad, "--head", "keep",
		"--text-column", "review", "--label-column", "sentiment", "--method", "adamw", "--steps", "1", "--batch-size", "2", "--lr", "1e-3", "--out", out)
	if !strings.Contains(msg, `scores ["neg" "pos"], the training data has ["bad" "good"]: pass --head new`) {
		t.Errorf("--head keep with other labels: %s", msg)
	}
}

// grayImages writes an image folder of three classes whose images differ
// in brightness.
func grayImages(t *testing.T, dir string, perClass int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 2))
	var images [][]uint8
	var labels []string
	for c, name := range []string{"dark", "mid", "light"} {
		for i := 0; i < perClass; i++ {
			px := make([]uint8, 28*28)
			for k := range px {
				px[k] = uint8(min(255, c*100+r.IntN(60)))
			}
			images, labels = append(images, px), append(labels, name)
		}
	}
	if err := userdata.WriteImageFolder(dir, images, labels, 28); err != nil {
		t.Fatal(err)
	}
}

func TestYourImageClassifier(t *testing.T) {
	dir := t.TempDir()
	grayImages(t, filepath.Join(dir, "train"), 6, 1)
	grayImages(t, filepath.Join(dir, "valid"), 2, 2)
	grayImages(t, filepath.Join(dir, "test"), 3, 3)
	resnet, err := vision.New(vision.Config{ModelType: "tram-resnet", NumClasses: 62, Widths: []int{4, 4, 4}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := vision.Save(resnet, filepath.Join(dir, "resnet")); err != nil {
		t.Fatal(err)
	}
	v, err := vit.New(vit.Config{ModelType: "vit", HiddenSize: 16, NumLayers: 1, NumHeads: 2, IntermediateSize: 32, HiddenAct: "gelu",
		ImageSize: 8, PatchSize: 4, NumChannels: 3, ID2Label: vit.Labels(5)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Save(filepath.Join(dir, "vit")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "vit", "preprocessor_config.json"), []byte(`{"do_resize": true, "size": {"height": 8, "width": 8},
		"do_normalize": true, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}`), 0o644)
	for _, name := range []string{"resnet", "vit"} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(dir, name+"-tuned")
			tram(t, "finetune", "--model", filepath.Join(dir, name), "--train", filepath.Join(dir, "train"),
				"--valid", filepath.Join(dir, "valid"), "--test", "held-out="+filepath.Join(dir, "test"),
				"--method", "tram-x", "--steps", "2", "--batch-size", "6", "--lr", "1e-3", "--eval-every", "1", "--out", out)
			rep := readReport(t, filepath.Join(out, "eval_results.json"))
			if rep.Domains[0].Examples != 9 || rep.Domains[0].AccuracyCI == nil {
				t.Errorf("eval_results.json: %+v", rep.Domains)
			}
			if name == "vit" {
				if _, err := os.Stat(filepath.Join(out, "preprocessor_config.json")); err != nil {
					t.Error("preprocessor_config.json was not copied")
				}
			}
			preds := readPredictions(t, tram(t, "predict", "--model", out, "--input", filepath.Join(dir, "test")))
			checkClassPredictions(t, preds, 9, []string{"dark", "light", "mid"})
			var paths []string
			for _, p := range preds {
				paths = append(paths, p.Path)
			}
			if !slices.IsSorted(paths) || !strings.HasSuffix(paths[0], filepath.Join("test", "dark", "00000.png")) {
				t.Errorf("paths %v", paths)
			}
		})
	}
	// A built-in recipe applies to your data: its keys about the built-in
	// data (domain, head: pretrained-rows; eval-every and select without
	// --valid) are skipped.
	tram(t, "finetune", "--config", "recipe:vision", "--model", filepath.Join(dir, "resnet"), "--train", filepath.Join(dir, "train"),
		"--method", "sam", "--steps", "1", "--warmup", "0", "--batch-size", "6", "--out", filepath.Join(dir, "recipe"))
	// Mixed image sizes where the model needs one size.
	bad := filepath.Join(dir, "bad")
	grayImages(t, bad, 1, 4)
	if err := userdata.WriteImageFolder(filepath.Join(bad, "extra"), [][]uint8{make([]uint8, 16)}, []string{"mid"}, 4); err != nil {
		t.Fatal(err)
	}
	msg := tramFails(t, "finetune", "--model", filepath.Join(dir, "resnet"), "--train", filepath.Join(bad, "extra"),
		"--method", "sgd", "--steps", "1", "--batch-size", "1", "--lr", "1e-3", "--out", filepath.Join(dir, "never"))
	if !strings.Contains(msg, "only one class") {
		t.Errorf("one class: %s", msg)
	}
	os.Rename(filepath.Join(bad, "extra", "mid", "00000.png"), filepath.Join(bad, "mid", "small.png"))
	msg = tramFails(t, "predict", "--model", filepath.Join(dir, "resnet-tuned"), "--input", bad)
	if !strings.Contains(msg, "small.png: image is 4×4; the model takes 28×28") {
		t.Errorf("mixed sizes: %s", msg)
	}
}

// tinyLM writes a small GPT-2 in the Hugging Face layout (with
// pretrained/lm's tokenizer) to dir/gpt2 and a training text to
// dir/train.txt, and returns the model directory.
func tinyLM(t *testing.T, dir string) string {
	t.Helper()
	m, err := gpt2.New(gpt2.Small(4096, 32, 16, 1, 2), 1) // pretrained/lm's tokenizer has 4096 tokens
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "gpt2")
	if err := m.Save(model); err != nil {
		t.Fatal(err)
	}
	copyTo(t, "../../pretrained/lm/tokenizer.json", filepath.Join(model, "tokenizer.json"))
	text := strings.Repeat("the cat sat on the mat and looked at the door\nwords follow words in a line of text\n", 8)
	if err := os.WriteFile(filepath.Join(dir, "train.txt"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return model
}

func TestYourLanguageModel(t *testing.T) {
	dir := t.TempDir()
	model := tinyLM(t, dir)
	os.WriteFile(filepath.Join(dir, "test.jsonl"), []byte(`{"text": "the cat sat"}`+"\n"+`{"text": "a line of text about words"}`+"\n"), 0o644)
	out := filepath.Join(dir, "tuned")
	tram(t, "finetune", "--model", model, "--train", filepath.Join(dir, "train.txt"), "--valid", filepath.Join(dir, "train.txt"),
		"--test", "other="+filepath.Join(dir, "test.jsonl"), "--block-size", "16", "--method", "tram-prev", "--steps", "2",
		"--batch-size", "2", "--lr", "1e-3", "--eval-every", "2", "--out", out)
	rep := readReport(t, filepath.Join(out, "eval_results.json"))
	if rep.Domains[0].Perplexity == nil || rep.Domains[0].Documents != 2 {
		t.Errorf("eval_results.json: %+v", rep.Domains)
	}
	preds := readPredictions(t, tram(t, "predict", "--model", out, "--input", filepath.Join(dir, "test.jsonl")))
	if len(preds) != 2 || preds[0].Perplexity == nil || *preds[0].Tokens < 1 {
		t.Errorf("predictions %+v", preds)
	}
	msg := tramFails(t, "finetune", "--model", model, "--train", filepath.Join(dir, "train.txt"), "--block-size", "64",
		"--method", "adamw", "--steps", "1", "--batch-size", "1", "--lr", "1e-3", "--out", filepath.Join(dir, "never"))
	if !strings.Contains(msg, "--block-size 64: must lie in [2, n_positions 32]") {
		t.Errorf("block size: %s", msg)
	}
	msg = tramFails(t, "finetune", "--model", model, "--train", filepath.Join(dir, "train.txt"), "--label-column", "y",
		"--method", "adamw", "--steps", "1", "--batch-size", "1", "--lr", "1e-3", "--out", filepath.Join(dir, "never"))
	if !strings.Contains(msg, "is a language model, which reads text alone") {
		t.Errorf("label column for a language model: %s", msg)
	}
}
