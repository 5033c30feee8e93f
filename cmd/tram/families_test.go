package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tramlab/tram/family"
	"github.com/tramlab/tram/internal/fixture"
	"github.com/tramlab/tram/internal/testutil"
)

var (
	familyOnce sync.Once
	familyData string
	familyErr  error
)

// familyFixture builds fixture data and a briefly pretrained model of each
// family, once for all tests of this file.
func familyFixture(t *testing.T) (data string, pretrained map[string]string) {
	t.Helper()
	familyOnce.Do(func() {
		familyData, familyErr = os.MkdirTemp("", "tram-families-")
		if familyErr != nil {
			return
		}
		if familyErr = fixture.Write(filepath.Join(familyData, "data")); familyErr != nil {
			return
		}
		for _, fam := range family.Names {
			var stderr bytes.Buffer
			if rc := runMain([]string{"pretrain", fam, "--data", filepath.Join(familyData, "data"), "--out", filepath.Join(familyData, fam),
				"--steps", "2", "--batch-size", "4"}, &bytes.Buffer{}, &stderr); rc != 0 {
				familyErr = &testErr{stderr.String()}
				return
			}
		}
	})
	if familyErr != nil {
		t.Fatal(familyErr)
	}
	return filepath.Join(familyData, "data"), map[string]string{"vision": filepath.Join(familyData, "vision"),
		"lm": filepath.Join(familyData, "lm"), "xling": filepath.Join(familyData, "xling")}
}

type testErr struct{ s string }

func (e *testErr) Error() string { return e.s }

// TestFamiliesEndToEnd fine-tunes and evaluates each family on fixture
// data through the commands, with validation, best-checkpoint selection,
// CKA and ε-sharpness.
func TestFamiliesEndToEnd(t *testing.T) {
	data, pre := familyFixture(t)
	for _, c := range []struct {
		fam    string
		args   []string
		nDoms  int
		metric string
	}{
		{"vision", []string{"--domain", "script", "--method", "tram-theta0", "--optimizer", "sgd", "--head", "pretrained-rows"}, 7, "accuracy"},
		{"lm", []string{"--domain", "scripture", "--method", "tram-x"}, 8, "perplexity"},
		{"xling", []string{"--method", "tram-prev", "--head-warmup", "2"}, 8, "accuracy"},
	} {
		t.Run(c.fam, func(t *testing.T) {
			dir := t.TempDir()
			out, log := filepath.Join(dir, "tuned"), filepath.Join(dir, "steps.jsonl")
			args := append([]string{"finetune", "--model", pre[c.fam], "--data", data, "--out", out, "--steps", "4", "--batch-size", "4",
				"--lr", "0.01", "--seed", "2", "--eval-every", "2", "--select", "best", "--log", log}, c.args...)
			var stderr bytes.Buffer
			if rc := runMain(args, &bytes.Buffer{}, &stderr); rc != 0 {
				t.Fatalf("finetune: %s", stderr.String())
			}
			raw, _ := os.ReadFile(log)
			want := 2 // steps 2 and 4; a head warm-up adds one at step 0
			if strings.Contains(strings.Join(c.args, " "), "--head-warmup") {
				want = 3
			}
			if n := strings.Count(string(raw), `"eval"`); n != want {
				t.Errorf("log has %d eval records, want %d:\n%s", n, want, raw)
			}
			jsonOut := filepath.Join(dir, "eval.json")
			stderr.Reset()
			if rc := runMain([]string{"eval", "--model", out, "--data", data, "--json", jsonOut, "--cka", pre[c.fam], "--sharpness",
				"--sharp-examples", "8", "--cka-examples", "8", "--sharp-eps", "1e-3"}, &bytes.Buffer{}, &stderr); rc != 0 {
				t.Fatalf("eval: %s", stderr.String())
			}
			var rep family.Report
			raw, _ = os.ReadFile(jsonOut)
			if err := json.Unmarshal(raw, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Family != c.fam || len(rep.Domains) != c.nDoms {
				t.Fatalf("report: family %s, %d domains, want %s and %d", rep.Family, len(rep.Domains), c.fam, c.nDoms)
			}
			for _, d := range rep.Domains {
				switch {
				case c.metric == "accuracy" && (d.Accuracy == nil || *d.Accuracy < 0 || *d.Accuracy > 1 || d.AccuracyCI == nil):
					t.Errorf("%s: accuracy %v", d.Domain, d.Accuracy)
				case c.metric == "perplexity" && (d.Perplexity == nil || *d.Perplexity < 1 || d.Tokens == 0):
					t.Errorf("%s: perplexity %v", d.Domain, d.Perplexity)
				case d.CKA == nil || *d.CKA <= 0 || *d.CKA > 1+1e-9:
					t.Errorf("%s: CKA %v", d.Domain, d.CKA)
				case d.Sharpness == nil || *d.Sharpness < 0:
					t.Errorf("%s: sharpness %v", d.Domain, d.Sharpness)
				}
			}
		})
	}
}

// TestFamilyErrors checks the one-line errors of the family paths, and
// that nothing is written on failure.
func TestFamilyErrors(t *testing.T) {
	data, pre := familyFixture(t)
	dir := t.TempDir()
	recipe := filepath.Join(dir, "recipe.yaml")
	os.WriteFile(recipe, []byte("steps: 2\nbatch-size: 4\nlr: 0.01\nwarp: 9\n"), 0o644)
	badMethod := filepath.Join(dir, "bad-method.yaml")
	os.WriteFile(badMethod, []byte("steps: 2\nmethods:\n  sam:\n    rho: 0.1\n    speed: 3\n"), 0o644)
	seqs := filepath.Join(dir, "seqs.jsonl")
	os.WriteFile(seqs, []byte(`{"input_ids": [1, 2, 3]}`+"\n"), 0o644)
	base := func(model string, extra ...string) []string {
		return append([]string{"finetune", "--model", model, "--data", data, "--out", filepath.Join(dir, "out"), "--method", "sgd",
			"--steps", "2", "--batch-size", "4", "--lr", "0.01"}, extra...)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{base(pre["vision"], "--data", filepath.Join(dir, "nowhere"), "--domain", "script"), "--data " + filepath.Join(dir, "nowhere") + ": no such directory"},
		{base(pre["vision"], "--domain", "cursive"), `unknown vision domain "cursive"; valid: print, script`},
		{base(pre["vision"]), "missing --domain for a vision model"},
		{base(pre["lm"], "--domain", "script"), `unknown lm domain "script"`},
		{base(pre["xling"], "--domain", "de"), "xling trains on English"},
		{append(base(pre["vision"]), "--train", seqs), "a GPT-2 language model; " + pre["vision"] + " is a vision model"},
		{[]string{"eval", "--model", pre["vision"], "--data", data, "--cka", pre["lm"]}, "a lm model cannot be compared with a vision model"},
		{base(pre["lm"], "--domain", "poetry", "--head", "pretrained-rows"), "--head pretrained-rows needs a vision model"},
		{base(pre["lm"], "--domain", "poetry", "--head-warmup", "2"), "--head-warmup 2: the lm model gets no new head"},
		{base(pre["vision"], "--domain", "script", "--batch-size", "1000"), "--batch-size 1000 exceeds the 72 training examples"},
		{append(base(pre["vision"], "--domain", "script"), "--config", recipe), `recipe.yaml:4: unknown key "warp"`},
		{append(base(pre["vision"], "--domain", "script"), "--config", badMethod), `bad-method.yaml:5: unknown key "speed" under methods.sam`},
		{[]string{"eval", "--model", pre["xling"], "--data", data}, "fine-tune it first"},
		{[]string{"eval", "--model", pre["lm"], "--data", data, "--domains", "poetry,script"}, `unknown lm domain "script"`},
		{[]string{"eval", "--data", data}, "missing required flag --model"},
		{[]string{"pretrain", "audio", "--out", filepath.Join(dir, "p")}, `unknown family "audio"`},
	} {
		var stderr bytes.Buffer
		if rc := runMain(c.args, &bytes.Buffer{}, &stderr); rc == 0 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: rc %d, stderr %q, want %q", c.args[1:], rc, stderr.String(), c.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
			t.Fatalf("%v wrote --out", c.args)
		}
	}
}

// TestEvalLabelsMismatch evaluates an xling classifier on the other task:
// its head's labels do not match.
func TestEvalLabelsMismatch(t *testing.T) {
	data, pre := familyFixture(t)
	out := filepath.Join(t.TempDir(), "tuned")
	var stderr bytes.Buffer
	if rc := runMain([]string{"finetune", "--model", pre["xling"], "--data", data, "--out", out, "--method", "adamw",
		"--steps", "1", "--batch-size", "4", "--lr", "0.01"}, &bytes.Buffer{}, &stderr); rc != 0 {
		t.Fatal(stderr.String())
	}
	stderr.Reset()
	if rc := runMain([]string{"eval", "--model", out, "--data", data, "--task", "mansec"}, &bytes.Buffer{}, &stderr); rc == 0 ||
		!strings.Contains(stderr.String(), "the head has 8 labels, the mansec task 5") {
		t.Errorf("rc %d: %s", rc, stderr.String())
	}
}

// TestRecipeConfig runs fine-tuning from a YAML recipe with a per-method
// key, overridden on the command line.
func TestRecipeConfig(t *testing.T) {
	data, pre := familyFixture(t)
	dir := t.TempDir()
	recipe := filepath.Join(dir, "r.yaml")
	os.WriteFile(recipe, []byte("# a recipe\ndomain: script\noptimizer: sgd\nsteps: 2\nbatch-size: 4\nlr: 0.05\nmethods:\n  sam:\n    rho: 0.07\n  tram-x:\n    sigma: 0.3\n"), 0o644)
	out := filepath.Join(dir, "o")
	var stderr bytes.Buffer
	if rc := runMain([]string{"finetune", "--config", recipe, "--model", pre["vision"], "--data", data, "--out", out, "--method", "sam", "--steps", "3"}, &bytes.Buffer{}, &stderr); rc != 0 {
		t.Fatal(stderr.String())
	}
	md := metadata(t, out)
	if md["tram_steps"] != "3" || !strings.Contains(md["tram_options"], "rho=0.07") || md["tram_optimizer"] != "sgd" {
		t.Errorf("metadata %v", md)
	}
}

// TestEvalPerplexityEqualsScore: an lm split whose texts are single lines
// gives the same documents, tokens and perplexity in tram eval and tram
// score.
func TestEvalPerplexityEqualsScore(t *testing.T) {
	data, pre := familyFixture(t)
	texts, err := family.LMTexts(filepath.Join(data, "lm"), "poetry", "test")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "poetry.txt")
	os.WriteFile(file, []byte(strings.Join(texts, "\n")+"\n"), 0o644)
	var out, stderr bytes.Buffer
	if rc := runMain([]string{"score", "--model", pre["lm"], "--json", file}, &out, &stderr); rc != 0 {
		t.Fatal(stderr.String())
	}
	var s scoreResult
	json.Unmarshal(out.Bytes(), &s)
	out.Reset()
	if rc := runMain([]string{"eval", "--model", pre["lm"], "--data", data, "--domains", "poetry"}, &out, &stderr); rc != 0 {
		t.Fatal(stderr.String())
	}
	var rep family.Report
	json.Unmarshal(out.Bytes(), &rep)
	d := rep.Domains[0]
	if s.Documents != d.Documents || s.Tokens != d.Tokens || s.PPL == nil || d.Perplexity == nil || math.Abs(*s.PPL-*d.Perplexity) > 1e-6**s.PPL {
		t.Errorf("score %+v, eval %+v", s, d)
	}
}

// TestR4FSpectralHead fine-tunes with r4f: the new head is spectrally
// normalized (its weight stored as weight_orig with power-iteration
// vectors), for an image and a text classifier.
func TestR4FSpectralHead(t *testing.T) {
	data, pre := familyFixture(t)
	for _, c := range []struct{ fam, name string }{{"vision", "fc.weight_orig"}, {"xling", "classifier.weight_orig"}} {
		out := filepath.Join(t.TempDir(), "r4f")
		args := []string{"finetune", "--model", pre[c.fam], "--data", data, "--out", out, "--method", "r4f", "--steps", "2", "--batch-size", "4", "--lr", "0.01"}
		if c.fam == "vision" {
			args = append(args, "--domain", "script")
		}
		var stderr bytes.Buffer
		if rc := runMain(args, &bytes.Buffer{}, &stderr); rc != 0 {
			t.Fatalf("%s: %s", c.fam, stderr.String())
		}
		names := testutil.ReadAll(t, filepath.Join(out, "model.safetensors"))
		if _, ok := names[c.name]; !ok {
			t.Errorf("%s: no %s in the written model", c.fam, c.name)
		}
		stderr.Reset()
		if rc := runMain([]string{"eval", "--model", out, "--data", data}, &bytes.Buffer{}, &stderr); rc != 0 {
			t.Errorf("%s: eval of the r4f model: %s", c.fam, stderr.String())
		}
	}
}

// TestMain removes the shared family fixture after the tests.
func TestMain(m *testing.M) {
	// A child process of tram reproduce --jobs N in a test is this test
	// binary: it acts as tram itself.
	if os.Getenv("TRAM_TEST_AS_MAIN") == "1" {
		os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	code := m.Run()
	if familyData != "" {
		os.RemoveAll(familyData)
	}
	os.Exit(code)
}
