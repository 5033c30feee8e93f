package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tramlab/tram/grid"
	"github.com/tramlab/tram/models/bert"
)

// TestStudyYourData runs a study file with a data: key end to end: a small
// BERT model written in the Hugging Face layout, CSV and JSONL files named
// relative to the study file, two tuned rows (AdamW and TRAM-θ0), two
// seeds, a checkpoint and a WiSE-FT point. Every run fine-tunes on the
// training file and is scored on both test sets, the in-domain one first
// in the report; child processes (which read the study file again) give
// the same numbers; a Slurm dry run resolves the paths to absolute ones
// and finds the same runs done; and the study's family must be the
// model's.
func TestStudyYourData(t *testing.T) {
	tokenizer, err := filepath.Abs("../../pretrained/xling/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	// Relative paths throughout, as a user writes them: the model from the
	// working directory, the data from the study file's.
	t.Chdir(t.TempDir())
	dir := "."
	var cfg bert.Config
	if err := json.Unmarshal([]byte(`{"model_type": "bert", "vocab_size": 8192, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
		"intermediate_size": 32, "hidden_act": "gelu", "max_position_embeddings": 32, "type_vocab_size": 2, "pad_token_id": 0}`), &cfg); err != nil {
		t.Fatal(err)
	}
	m, err := bert.New(cfg, bert.NoHead, 7)
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "my-bert")
	if err := m.Save(model); err != nil {
		t.Fatal(err)
	}
	copyTo(t, tokenizer, filepath.Join(model, "tokenizer.json"))
	studyDir := filepath.Join(dir, "study")
	os.MkdirAll(filepath.Join(studyDir, "data"), 0o755)
	reviews(t, filepath.Join(studyDir, "data", "train.csv"), 32, 1, true)
	reviews(t, filepath.Join(studyDir, "data", "valid.csv"), 8, 2, true)
	reviews(t, filepath.Join(studyDir, "data", "same.csv"), 12, 3, true)
	reviews(t, filepath.Join(studyDir, "data", "shifted.jsonl"), 10, 4, false)
	studyText := `name: reviews
family: xling
model: ` + model + `
base: adamw
seeds: 2
train_domains: [same]
flags: {steps: "4", batch-size: "4", eval-every: "2", select: best}
tuning: {seeds: [101]}
checkpoints: [0.5]
wise_ft: [0.5]
data:
  train: data/train.csv
  valid: data/valid.csv
  tests:
    shifted: data/shifted.jsonl
    same: data/same.csv
  text_column: review
  label_column: sentiment
rows:
  - {name: adamw, tune: {lr: ["1e-3", "3e-4"]}}
  - {name: tram-theta0, tune: {lr: ["1e-3", "3e-4"]}}
`
	study := filepath.Join(studyDir, "reviews.yaml")
	os.WriteFile(study, []byte(studyText), 0o644)
	reproduce := func(out string, extra ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args := append([]string{"reproduce", "--study", study, "--out", out}, extra...)
		if rc := runMain(args, &stdout, &stderr); rc != 0 {
			t.Fatalf("tram %s: %s", strings.Join(args, " "), stderr.String())
		}
		return stderr.String()
	}
	out := filepath.Join(dir, "out")
	reproduce(out, "--jobs", "1")

	g, err := grid.LoadStudy(study)
	if err != nil {
		t.Fatal(err)
	}
	trials, err := grid.ReadTrials(out, g)
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) != 4 {
		t.Fatalf("%d tuning trials, want 4 (2 rows × 2 candidates × 1 seed)", len(trials))
	}
	for _, tr := range trials {
		if tr.ValLoss == nil || tr.Domain != "same" {
			t.Errorf("trial %s: val loss %v, train domain %q", tr.Row, tr.ValLoss, tr.Domain)
		}
	}
	train := filepath.Join(studyDir, "data", "train.csv")
	for _, id := range []string{"adamw.same.s1", "adamw.same.s2", "tram-theta0.same.s1", "tram-theta0.same.s2"} {
		r := readRecord(t, out, id)
		var doms []string
		for _, d := range r.Metrics {
			doms = append(doms, d.Domain)
			if d.Accuracy == nil || d.Examples != map[string]int{"shifted": 10, "same": 12}[d.Domain] {
				t.Errorf("%s: %+v", id, d)
			}
		}
		if !slices.Equal(doms, []string{"shifted", "same"}) || r.Domain != "same" || r.InDomain() != "same" || len(r.Tuned) != 1 {
			t.Errorf("%s: domains %v, train domain %q, tuned %v", id, doms, r.Domain, r.Tuned)
		}
		if r.Flags["train"] != train || r.Flags["valid"] != filepath.Join(studyDir, "data", "valid.csv") || r.Flags["domain"] != "" ||
			r.Flags["text-column"] != "review" || r.Flags["label-column"] != "sentiment" {
			t.Errorf("%s: flags %v", id, r.Flags)
		}
		if !strings.Contains(r.Finetune, "--train="+train) || !strings.Contains(r.Finetune, "--test shifted=") || strings.Contains(r.Finetune, "--data") ||
			!strings.Contains(r.Command, "--train-domain same") || strings.Contains(r.Command, "--data") {
			t.Errorf("%s: commands %q, %q", id, r.Command, r.Finetune)
		}
		if strings.HasPrefix(id, "adamw.") && (len(r.WiseFT) != 1 || len(r.WiseFT[0].Metrics) != 2 || len(r.Checkpoints) != 1) {
			t.Errorf("%s: WiSE-FT %+v, checkpoints %+v", id, r.WiseFT, r.Checkpoints)
		}
	}
	raw, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum grid.Summary
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Tables) != 1 || !slices.Equal(sum.Tables[0].Domains, []string{"same", "shifted"}) || !slices.Equal(sum.Tables[0].OOD, []string{"shifted"}) ||
		len(sum.Tuning) != 2 {
		t.Fatalf("summary: %+v", sum)
	}
	var rows []string
	for _, r := range sum.Tables[0].Rows {
		rows = append(rows, r.Row)
		if r.In.N != 2 || r.OOD.N != 2 {
			t.Errorf("row %s: in %+v, OOD %+v", r.Row, r.In, r.OOD)
		}
	}
	if !slices.Equal(rows, []string{"adamw", "tram-theta0", "wise-ft:alpha=0.5"}) {
		t.Errorf("rows %v", rows)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Trained on same", "| same (in-domain) | shifted |", "| shifted", "test sets shifted (`", "same (`" + filepath.Join(studyDir, "data", "same.csv") + "`, in-domain)",
		"## Tuning", "## Claims", "no recipe"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	var gf struct {
		Data     string         `json:"data"`
		UserData *grid.UserData `json:"user_data"`
	}
	raw, _ = os.ReadFile(filepath.Join(out, "grid.json"))
	if err := json.Unmarshal(raw, &gf); err != nil || gf.Data != "" || gf.UserData == nil || len(gf.UserData.Tests) != 2 {
		t.Errorf("grid.json: %s (%v)", raw, err)
	}
	if said := reproduce(out, "--jobs", "1"); !strings.Contains(said, "4 of 4 runs already done") {
		t.Errorf("a rerun should skip every run; said:\n%s", said)
	}
	// Slurm tasks read the study file by its absolute path, so their data
	// paths are absolute: the runs done here are done there too.
	var script bytes.Buffer
	var said bytes.Buffer
	if rc := runMain([]string{"reproduce", "--study", study, "--out", out, "--seeds", "3", "--executor", "slurm", "--dry-run"}, &script, &said); rc != 0 ||
		!strings.Contains(said.String(), "dry run: 2 runs as array indexes 0-1") {
		t.Errorf("slurm dry run: rc %d, said:\n%s", rc, said.String())
	}
	abs, _ := filepath.Abs(study)
	if s := script.String(); !strings.Contains(s, "--study "+abs) || strings.Contains(s, "--data") {
		t.Errorf("slurm script:\n%s", s)
	}

	// Child processes read the study file again, from the same directory:
	// the same runs, the same numbers.
	t.Setenv("TRAM_TEST_AS_MAIN", "1")
	children := filepath.Join(dir, "children")
	reproduce(children, "--jobs", "2", "--seed", "101")
	reproduce(children, "--jobs", "2", "--seed", "1")
	for _, id := range []string{"adamw.same.s1", "tram-theta0.same.s1"} {
		a, b := readRecord(t, out, id), readRecord(t, children, id)
		if !reflect.DeepEqual(a.Metrics, b.Metrics) || !reflect.DeepEqual(a.WiseFT, b.WiseFT) || !reflect.DeepEqual(a.Flags, b.Flags) {
			t.Errorf("%s: a child process's record differs from the in-process one", id)
		}
	}

	// The study's family must be the model's; the data must exist.
	for _, c := range []struct {
		edits []string
		msg   string
	}{
		{[]string{"family: xling", "family: lm", "  text_column: review\n  label_column: sentiment\n", ""},
			"is a xling model (its config.json's model_type), and the study's family is lm: give a lm model, or set family: xling"},
		{[]string{"    same: data/same.csv", "    same: data/nosuch.csv"}, "reviews.yaml:16: data.tests.same: stat "},
		{[]string{"--data"}, "--data names the built-in datasets' directory, and the study " + study + " has its own data"},
		{[]string{"--out"}, "holds a study on the built-in data, and this one runs on its own data (data:): choose another --out"},
	} {
		bad, args := studyText, []string{"reproduce", "--study", study, "--out", filepath.Join(dir, "bad")}
		for i := 0; i+1 < len(c.edits); i += 2 {
			bad = strings.Replace(bad, c.edits[i], c.edits[i+1], 1)
		}
		switch c.edits[0] {
		case "--data":
			args = append(args, "--data", dir)
		case "--out": // a directory of the built-in xling study
			builtin := filepath.Join(dir, "builtin")
			os.MkdirAll(builtin, 0o755)
			os.WriteFile(filepath.Join(builtin, "grid.json"), []byte(`{"family": "xling", "quick": false}`), 0o644)
			args[len(args)-1] = builtin
		}
		os.WriteFile(study, []byte(bad), 0o644)
		var stderr bytes.Buffer
		if rc := runMain(args, &bytes.Buffer{}, &stderr); rc == 0 ||
			!strings.Contains(stderr.String(), c.msg) {
			t.Errorf("%v: rc %d, said %q; want %q", c.edits, rc, stderr.String(), c.msg)
		}
	}
}

// TestStudyYourLanguageModel: a study on your own text files with a small
// GPT-2 model: packed into data.block_size blocks, scored in perplexity
// (lower is better) on a text file and a JSONL file.
func TestStudyYourLanguageModel(t *testing.T) {
	dir := t.TempDir()
	model := tinyLM(t, dir)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("the cat looked at the mat\nwords in a line\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "web.jsonl"), []byte(`{"body": "a door of text"}`+"\n"+`{"body": "follow the words"}`+"\n"), 0o644)
	study := filepath.Join(dir, "notes.yaml")
	os.WriteFile(study, []byte(`name: notes
family: lm
model: `+model+`
base: adamw
seeds: 2
train_domains: [notes]
flags: {steps: "2", batch-size: "2", lr: "1e-3"}
wise_ft: [0.5]
data:
  train: train.txt
  tests: {notes: notes.txt, web: web.jsonl}
  text_column: body
  block_size: 16
rows:
  - {name: adamw}
  - {name: tram-theta0}
`), 0o644)
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	if rc := runMain([]string{"reproduce", "--study", study, "--out", out, "--jobs", "1"}, &stdout, &stderr); rc != 0 {
		t.Fatalf("tram reproduce: %s", stderr.String())
	}
	r := readRecord(t, out, "tram-theta0.notes.s2")
	if len(r.Metrics) != 2 || r.Metrics[0].Domain != "notes" || r.Metrics[0].Perplexity == nil || r.Metrics[1].Documents != 2 ||
		r.Flags["block-size"] != "16" || r.Flags["text-column"] != "body" {
		t.Errorf("record %+v", r)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"perplexity, lower is better", "| notes (in-domain) | web |", "wise-ft:alpha=0.5"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}
