package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/finetune"
	"github.com/tramlab/tram/internal/testutil"
	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/sharp"
)

// tinyRun writes a tiny GPT-2 (vocab 10, context 8, dropouts from cfg) and
// four training sequences of length 5 into a fresh directory.
func tinyRun(t *testing.T, dropout float64) (dir, modelDir, trainFile string) {
	t.Helper()
	dir = t.TempDir()
	cfg := gpt2.Small(10, 8, 8, 1, 2)
	cfg.ResidPdrop, cfg.EmbdPdrop, cfg.AttnPdrop = dropout, dropout, dropout
	m, err := gpt2.New(cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	modelDir = filepath.Join(dir, "model")
	if err := m.Save(modelDir); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(modelDir, "tokenizer.json"), []byte(`{"stand-in": "tokenizer"}`), 0o644)
	trainFile = filepath.Join(dir, "train.jsonl")
	os.WriteFile(trainFile, []byte(`{"input_ids":[1,2,3,4,5]}
{"input_ids":[6,7,8,9,0]}
{"input_ids":[2,4,6,8,1]}
{"input_ids":[3,5,7,9,2]}
`), 0o644)
	return dir, modelDir, trainFile
}

// finetuneArgs returns a short run's command line with extra flags appended.
func finetuneArgs(modelDir, trainFile, out string, extra ...string) []string {
	return append([]string{"finetune", "--model", modelDir, "--train", trainFile, "--out", out,
		"--steps", "3", "--batch-size", "2", "--lr", "1e-2", "--seed", "3"}, extra...)
}

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	if rc := runMain(args, &bytes.Buffer{}, &stderr); rc != 0 {
		t.Fatalf("%v: exit %d: %s", args, rc, stderr.String())
	}
	return stderr.String()
}

// sameTensors fails unless two written models hold bit-identical tensors.
func sameTensors(t *testing.T, outA, outB string) {
	t.Helper()
	a, b := testutil.ReadAll(t, filepath.Join(outA, "model.safetensors")), testutil.ReadAll(t, filepath.Join(outB, "model.safetensors"))
	if len(a) != len(b) {
		t.Fatalf("%d tensors, %d tensors", len(a), len(b))
	}
	for name, v := range a {
		for i := range v {
			if math.Float32bits(v[i]) != math.Float32bits(b[name][i]) {
				t.Fatalf("%s[%d]: %s has %v, %s has %v", name, i, filepath.Base(outA), v[i], filepath.Base(outB), b[name][i])
			}
		}
	}
}

func metadata(t *testing.T, out string) map[string]string {
	t.Helper()
	sf, err := checkpoint.Open(filepath.Join(out, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	return sf.Metadata
}

// TestFinetuneFlagErrors: every bad flag is refused before any work (no
// log, no OUTDIR), with one line that names the flag and its valid values.
func TestFinetuneFlagErrors(t *testing.T) {
	dir, modelDir, trainFile := tinyRun(t, 0)
	logDir := t.TempDir()
	aFile := filepath.Join(dir, "a-file")
	os.WriteFile(aFile, []byte("x"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--method", "sam", "--warmup", "1"}, "--warmup needs --schedule cosine or linear"},
		{[]string{"--method", "sam", "--warmup", "-1", "--schedule", "cosine"}, "--warmup must be in [0, --steps 3] (got -1)"},
		{[]string{"--method", "sam", "--warmup", "4", "--schedule", "linear"}, "--warmup must be in [0, --steps 3] (got 4)"},
		{[]string{"--method", "sam", "--schedule", "step"}, `--schedule: unknown schedule "step"`},
		{[]string{"--method", "sam", "--clip-norm", "-1"}, "--clip-norm must be ≥ 0"},
		{[]string{"--method", "sam", "--save-every", "-1"}, "--save-every must be ≥ 0"},
		{[]string{"--method", "sam", "--lr", "-1"}, "--lr must be > 0"},
		{[]string{"--method", "sam", "--steps", "-1"}, "--steps must be ≥ 0 (0: no fine-tuning step; with --head-warmup a linear probe alone) (got -1)"},
		{[]string{"--method", "sam", "--micro-batches", "3"}, "--micro-batches must be ≥ 1 and divide --batch-size 2 (got 3)"},
		{[]string{"--method", "sam", "--weight-decay", "-0.1"}, "--weight-decay must be ≥ 0"},
		{[]string{"--method", "sam", "--beta2", "1"}, "--beta2 must be in [0, 1) (got 1)"},
		{[]string{"--method", "sam", "--adam-eps", "0"}, "--adam-eps must be > 0"},
		{[]string{"--method", "sgd", "--momentum", "1"}, "--momentum must be in [0, 1) (got 1)"},
		{[]string{"--method", "lookahead"}, `--method: unknown method "lookahead"; valid methods: sgd, adamw, sam`},
		{[]string{"--method", "sam", "--optimizer", "lion"}, `--optimizer: unknown optimizer "lion"; valid: sgd, adamw`},
		{[]string{"--method", "sgd", "--optimizer", "adamw"}, "--method sgd conflicts with --optimizer adamw"},
		{[]string{"--method", "sam", "--momentum", "0.9"}, "--momentum is an option of --optimizer sgd, and this run's optimizer is adamw"},
		{[]string{"--method", "adamw", "--momentum", "0.9"}, "--momentum is an option of --optimizer sgd, and this run's optimizer is adamw"},
		{[]string{"--method", "sam", "--optimizer", "sgd", "--beta1", "0.8"}, "--beta1 is an option of --optimizer adamw, and this run's optimizer is sgd"},
		{[]string{"--method", "tram-prev", "--rho", "0.1"}, "--rho is not an option of --method tram-prev; its options are"},
		{[]string{"--method", "adamw", "--lambda", "0.1"}, "--lambda is not an option of --method adamw, which takes none"},
		{[]string{"--method", "sam", "--divergence", "l2"}, "--divergence is not an option of --method sam"},
		{[]string{"--method", "sam", "--one-sided-kl"}, "--one-sided-kl is not an option of --method sam"},
		{[]string{"--method", "tram-theta0", "--divergence", "js"}, `--divergence: unknown divergence "js"`},
		{[]string{"--method", "tram-ema", "--ema-decay", "1.5"}, "--ema-decay must be in [0, 1] (got 1.5)"},
		{[]string{"--method", "mesa", "--tau", "0"}, "--tau must be > 0 and finite (got 0)"},
		{[]string{"--method", "tram-theta0", "--kappa", "-1"}, "--kappa must be ≥ 0 and finite (got -1)"},
		{[]string{"--method", "tram-theta0", "--max-radius", "-1"}, "--max-radius must be ≥ 0 (inf: no cap) (got -1)"},
		{[]string{"--method", "sam", "--rho", "NaN"}, "--rho must be ≥ 0 and finite (got NaN)"},
		{[]string{"--method", "sam", "--m-sharpness"}, "--m-sharpness needs --micro-batches ≥ 2"},
		{[]string{"--method", "sam", "--dropout", "1"}, `--dropout must be "config" or a probability in [0, 1) (got "1")`},
		{[]string{"--method", "sam", "--dropout", "half"}, `--dropout must be "config" or a probability in [0, 1) (got "half")`},
		{[]string{"--method", "r4f"}, "--method r4f needs a spectrally normalized classification head"},
		{[]string{"--method", "sam", "--batch-size", "5"}, "--batch-size 5 exceeds the 4 sequences in"},
		{[]string{"--method", "sam", "--out", modelDir}, "--out must differ from --model"},
		{[]string{"--method", "sam", "--out", aFile}, "--out " + aFile + " exists and is not a directory"},
		{[]string{"--method", "sam", "--out", filepath.Join(aFile, "sub", "out")}, "not a directory"},
		{[]string{"--method", "sam", "--out", dir}, "which tram finetune does not write"},
		{[]string{"--method", "sam", "--log", filepath.Join(dir, "out", "steps.jsonl")}, "lies inside --out"},
		{[]string{"--method", "sam", "--log", filepath.Join(dir, "out")}, "lies inside --out"},
		{[]string{"--method", "sam", "--model", filepath.Join(dir, "missing")}, "config.json"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out := filepath.Join(dir, "out")
			logFile := filepath.Join(logDir, "steps.jsonl")
			args := append(finetuneArgs(modelDir, trainFile, out, "--log", logFile), c.args...)
			var stderr bytes.Buffer
			if rc := runMain(args, &bytes.Buffer{}, &stderr); rc == 0 {
				t.Fatal("accepted")
			}
			msg := stderr.String()
			if !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 {
				t.Fatalf("error %q is not one line containing %q", msg, c.want)
			}
			for _, p := range []string{out, out + ".partial", logFile} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Fatalf("%s was written: the error came after the work started", p)
				}
			}
		})
	}
}

// TestFinetuneSaveFailureKeepsRun: when writing OUTDIR fails at the end, the
// finished run is kept in OUTDIR.partial, nothing is left at OUTDIR, and
// rerunning the command writes the same model.
func TestFinetuneSaveFailureKeepsRun(t *testing.T) {
	dir, modelDir, trainFile := tinyRun(t, 0)
	straight := filepath.Join(dir, "straight")
	runOK(t, finetuneArgs(modelDir, trainFile, straight, "--method", "tram-theta0")...)

	out := filepath.Join(dir, "out")
	testHookWriteOutput = func(tmp string) error {
		if !fileExists(filepath.Join(tmp, "model.safetensors")) || !fileExists(filepath.Join(tmp, "tokenizer.json")) {
			t.Errorf("the temporary OUTDIR %s is incomplete", tmp)
		}
		return errors.New("disk full (test hook)")
	}
	var stderr bytes.Buffer
	rc := runMain(finetuneArgs(modelDir, trainFile, out, "--method", "tram-theta0", "--log", out+".log"), &bytes.Buffer{}, &stderr)
	testHookWriteOutput = nil
	if rc == 0 || !strings.Contains(stderr.String(), "disk full (test hook)") || !strings.Contains(stderr.String(), "the finished run is saved in "+out+".partial") {
		t.Fatalf("exit %d: %s", rc, stderr.String())
	}
	if fileExists(out) {
		t.Fatal("OUTDIR exists after a failed write")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Fatalf("temporary %s left behind", e.Name())
		}
	}
	msg := runOK(t, finetuneArgs(modelDir, trainFile, out, "--method", "tram-theta0", "--log", out+".log")...)
	if !strings.Contains(msg, "resuming "+out+".partial at step 3") {
		t.Fatalf("rerun did not resume the finished run: %s", msg)
	}
	sameTensors(t, straight, out)
	if fileExists(out + ".partial") {
		t.Fatal("OUTDIR.partial left behind after the run was written")
	}
	if raw, _ := os.ReadFile(out + ".log"); strings.Count(string(raw), "\n") != 3 {
		t.Fatalf("log has %d records, want 3", strings.Count(string(raw), "\n"))
	}
}

// TestFinetuneReplacesOutdir: an existing OUTDIR written by tram finetune is
// replaced as a whole, leaving nothing temporary behind.
func TestFinetuneReplacesOutdir(t *testing.T) {
	dir, modelDir, trainFile := tinyRun(t, 0)
	out := filepath.Join(dir, "out")
	runOK(t, finetuneArgs(modelDir, trainFile, out, "--method", "adamw")...)
	runOK(t, finetuneArgs(modelDir, trainFile, out, "--method", "sam")...)
	if m := metadata(t, out)["tram_method"]; m != "sam" {
		t.Fatalf("OUTDIR holds the %s run", m)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"model", "out", "train.jsonl"}) {
		t.Fatalf("directory holds %v", names)
	}
	// A nested OUTDIR whose parents do not exist yet is created at the end.
	runOK(t, finetuneArgs(modelDir, trainFile, filepath.Join(dir, "a", "b", "out"), "--method", "adamw")...)
}

// TestFinetuneDropout: --dropout sets every dropout GPT-2 defines, is
// recorded in the log and the metadata, and leaves config.json as it was.
func TestFinetuneDropout(t *testing.T) {
	dir, modelDir, trainFile := tinyRun(t, 0.1)
	configIn, _ := os.ReadFile(filepath.Join(modelDir, "config.json"))
	run := func(name string, extra ...string) (out, stderr string, rec map[string]any) {
		out = filepath.Join(dir, name)
		stderr = runOK(t, finetuneArgs(modelDir, trainFile, out, append([]string{"--method", "tram-theta0", "--log", out + ".log"}, extra...)...)...)
		raw, _ := os.ReadFile(out + ".log")
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		if len(lines) != 3 {
			t.Fatalf("%s: %d log records, want 3", name, len(lines))
		}
		if err := json.Unmarshal([]byte(lines[2]), &rec); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"d", "reg_d", "eps_norm"} {
			if _, ok := rec[k]; !ok {
				t.Fatalf("log record %s lacks %q", lines[2], k)
			}
		}
		configOut, _ := os.ReadFile(filepath.Join(out, "config.json"))
		if !bytes.Equal(configIn, configOut) {
			t.Fatalf("%s: config.json changed:\n%s\nwas\n%s", name, configOut, configIn)
		}
		return out, stderr, rec
	}
	want := func(p float64) map[string]any {
		return map[string]any{"resid_pdrop": p, "embd_pdrop": p, "attn_pdrop": p}
	}
	off, msg, rec := run("off") // the default: 0
	if strings.Contains(msg, "dropout on") || !reflect.DeepEqual(rec["dropout"], want(0)) {
		t.Fatalf("--dropout 0: stderr %q, log dropout %v", msg, rec["dropout"])
	}
	if md := metadata(t, off); md["tram_dropout"] != "0" || !sameJSON(md["tram_dropout_probs"], `{"resid_pdrop":0,"embd_pdrop":0,"attn_pdrop":0}`) {
		t.Fatalf("metadata %v", md)
	}
	kept, msg, rec := run("config", "--dropout", "config")
	if !strings.Contains(msg, "dropout on (--dropout config: resid_pdrop 0.1, embd_pdrop 0.1, attn_pdrop 0.1)") || !reflect.DeepEqual(rec["dropout"], want(0.1)) {
		t.Fatalf("--dropout config: stderr %q, log dropout %v", msg, rec["dropout"])
	}
	if md := metadata(t, kept); md["tram_dropout"] != "config" || !sameJSON(md["tram_dropout_probs"], `{"resid_pdrop":0.1,"embd_pdrop":0.1,"attn_pdrop":0.1}`) {
		t.Fatalf("metadata %v", md)
	}
	set, _, rec := run("set", "--dropout", "0.30")
	if md := metadata(t, set); md["tram_dropout"] != "0.3" || !reflect.DeepEqual(rec["dropout"], want(0.3)) {
		t.Fatalf("--dropout 0.30: metadata %v, log dropout %v", md, rec["dropout"])
	}
	// --dropout 0 really turns dropout off: the same as a model whose
	// config.json has none.
	_, modelDir0, _ := tinyRun(t, 0)
	out0 := filepath.Join(dir, "config0")
	runOK(t, finetuneArgs(modelDir0, trainFile, out0, "--method", "tram-theta0", "--dropout", "config")...)
	sameTensors(t, off, out0)
}

// TestFinetuneExplicitZeroOverridesDefault: a method option given as 0 is
// 0, not the method's default.
func TestFinetuneExplicitZeroOverridesDefault(t *testing.T) {
	dir, modelDir, trainFile := tinyRun(t, 0)
	run := func(name string, extra ...string) string {
		out := filepath.Join(dir, name)
		runOK(t, finetuneArgs(modelDir, trainFile, out, extra...)...)
		return out
	}
	// β = 0 is TRAM-θt−1 exactly, and β = 1 TRAM-θ0 (spec §2).
	sameTensors(t, run("ema0", "--method", "tram-ema", "--ema-decay", "0"), run("prev", "--method", "tram-prev"))
	sameTensors(t, run("ema1", "--method", "tram-ema", "--ema-decay", "1"), run("theta0", "--method", "tram-theta0"))
	// A zero radius leaves SAM's gradient the plain one.
	sameTensors(t, run("rho0", "--method", "sam", "--rho", "0"), run("adamw", "--method", "adamw"))
	for _, c := range [][]string{
		{"--method", "tram-x", "--sigma", "0"}, {"--method", "trpo", "--lambda", "0"},
		{"--method", "tram-theta0", "--kappa", "0"}, {"--method", "r3f", "--sigma", "0", "--lambda", "0"},
	} {
		out := run(strings.Join(c[1:], ""), c...)
		opts := metadata(t, out)["tram_options"]
		for i := 2; i < len(c); i += 2 {
			if !strings.Contains(" "+opts+" ", " "+c[i][2:]+"=0 ") {
				t.Errorf("%v: tram_options %q does not record %s=0", c, opts, c[i][2:])
			}
		}
	}
}

// TestFinetuneNewOptionsReachTheMethod runs each new switch once.
func TestFinetuneNewOptionsReachTheMethod(t *testing.T) {
	dir, modelDir, trainFile := tinyRun(t, 0)
	for _, c := range [][]string{
		{"--method", "tram-theta0", "--kappa", "2", "--max-radius", "0.5", "--weights-only", "--eta", "0.01"},
		{"--method", "tram-prev", "--no-gradient-factor", "--m-sharpness", "--micro-batches", "2"},
		{"--method", "asam", "--weights-only", "--eta", "0.01"},
		{"--method", "r3f", "--one-sided-kl", "--uniform-noise"},
	} {
		out := filepath.Join(dir, strings.Join(c[1:2], ""))
		runOK(t, finetuneArgs(modelDir, trainFile, out, c...)...)
		opts := metadata(t, out)["tram_options"]
		for _, a := range c[2:] {
			if strings.HasPrefix(a, "--") && a != "--micro-batches" && !strings.Contains(opts, a[2:]+"=") {
				t.Errorf("%v: tram_options %q lacks %s", c, opts, a)
			}
		}
		for _, sw := range []string{"weights-only", "no-gradient-factor", "m-sharpness", "one-sided-kl", "uniform-noise"} {
			if slices.Contains(c, "--"+sw) && !strings.Contains(opts, sw+"=true") {
				t.Errorf("%v: tram_options %q does not turn %s on", c, opts, sw)
			}
		}
	}
}

// TestFinetuneHelp: every flag is explained, and the method defaults come
// from sharp.DefaultOptions.
func TestFinetuneHelp(t *testing.T) {
	var stderr bytes.Buffer
	if rc := runMain([]string{"finetune", "--help"}, &bytes.Buffer{}, &stderr); rc != 0 {
		t.Fatalf("exit %d", rc)
	}
	help := stderr.String()
	fs := flag.NewFlagSet("finetune", flag.ContinueOnError)
	finetune.DefineFlags(fs)
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(help, "  -"+f.Name) {
			t.Errorf("--help lacks --%s", f.Name)
		}
	})
	for _, flag := range []string{"dropout", "kappa", "max-radius", "weights-only", "m-sharpness", "no-gradient-factor", "one-sided-kl", "eta"} {
		if !strings.Contains(help, "-"+flag) {
			t.Errorf("--help lacks --%s", flag)
		}
	}
	for _, m := range sharp.MethodNames {
		if !strings.Contains(help, " "+m+":") && !strings.Contains(help, " "+m+",") {
			t.Errorf("--help lists no defaults for %s", m)
		}
	}
	if rho := sharp.DefaultOptions("sam").Rho; !strings.Contains(help, "--rho "+strconv.FormatFloat(rho, 'g', -1, 64)) {
		t.Errorf("--help does not show sam's default ρ %v:\n%s", rho, help)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// sameJSON reports whether two JSON texts hold equal values (key order
// aside).
func sameJSON(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

// TestFinetuneL2SP: --lambda reaches l2sp (default 0.01, recorded in
// tram_options); λ = 0 is the base optimizer bit for bit, AdamW or SGD; a
// positive λ changes the run.
func TestFinetuneL2SP(t *testing.T) {
	dir, modelDir, trainFile := tinyRun(t, 0)
	run := func(name string, extra ...string) string {
		out := filepath.Join(dir, name)
		runOK(t, finetuneArgs(modelDir, trainFile, out, extra...)...)
		return out
	}
	adamw := run("adamw", "--method", "adamw")
	sameTensors(t, run("l2sp0", "--method", "l2sp", "--lambda", "0"), adamw)
	sameTensors(t, run("l2sp0-sgd", "--method", "l2sp", "--lambda", "0", "--optimizer", "sgd", "--momentum", "0.9"),
		run("sgd", "--method", "sgd", "--momentum", "0.9"))
	if opts := metadata(t, run("l2sp-default", "--method", "l2sp"))["tram_options"]; opts != "lambda=0.01" {
		t.Errorf("default tram_options %q, want lambda=0.01", opts)
	}
	pulled := run("l2sp1", "--method", "l2sp", "--lambda", "1")
	if opts := metadata(t, pulled)["tram_options"]; opts != "lambda=1" {
		t.Errorf("tram_options %q, want lambda=1", opts)
	}
	a, b := testutil.ReadAll(t, filepath.Join(adamw, "model.safetensors")), testutil.ReadAll(t, filepath.Join(pulled, "model.safetensors"))
	differ := false
	for name, v := range a {
		for i := range v {
			differ = differ || v[i] != b[name][i]
		}
	}
	if !differ {
		t.Fatal("l2sp --lambda 1 wrote the adamw model: λ did not reach the method")
	}
}

// TestFinetuneL2SPSparesTheNewHead: on a vision model, whose 10-way head is
// new, the reg_d that l2sp logs at step 3 is ½‖θ2 − θ0‖² over the
// pretrained parameters alone: θ2 from a 2-step run, θ0 the pretrained file,
// the new head (fc.*, which has no pretrained value: pulling it would add
// its distance from its random initialization) and buffers left out.
func TestFinetuneL2SPSparesTheNewHead(t *testing.T) {
	data, pre := familyFixture(t)
	dir := t.TempDir()
	args := func(out string, steps string, extra ...string) []string {
		return append([]string{"finetune", "--model", pre["vision"], "--data", data, "--domain", "script", "--out", out,
			"--method", "l2sp", "--lambda", "1", "--steps", steps, "--batch-size", "4", "--lr", "0.01", "--seed", "2"}, extra...)
	}
	two, three, log := filepath.Join(dir, "two"), filepath.Join(dir, "three"), filepath.Join(dir, "steps.jsonl")
	runOK(t, args(two, "2")...)
	runOK(t, args(three, "3", "--log", log)...)
	raw, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	var rec struct {
		Step int     `json:"step"`
		RegD float64 `json:"reg_d"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil || rec.Step != 3 {
		t.Fatalf("last log record %q: %v", lines[len(lines)-1], err)
	}
	theta0 := testutil.ReadAll(t, filepath.Join(pre["vision"], "model.safetensors"))
	theta2 := testutil.ReadAll(t, filepath.Join(two, "model.safetensors"))
	var want float64
	for name, v := range theta2 {
		if strings.HasPrefix(name, "fc.") || strings.Contains(name, "running_") || strings.Contains(name, "num_batches") {
			continue // the new head, which has no pretrained value, and buffers
		}
		w := theta0[name]
		if len(w) != len(v) {
			t.Fatalf("%s: %d values, pretrained %d", name, len(v), len(w))
		}
		for i := range v {
			d := float64(v[i] - w[i])
			want += d * d / 2
		}
	}
	if want == 0 || math.Abs(rec.RegD-want) > 1e-5*want {
		t.Fatalf("reg_d at step 3 = %.9g, ½‖θ2 − θ0‖² over the pretrained parameters = %.9g", rec.RegD, want)
	}
}
