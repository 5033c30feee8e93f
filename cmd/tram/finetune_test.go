package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/finetune"
	"github.com/tramlab/tram/internal/testutil"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tramlab/tram/models/gpt2"
)

// TestFinetuneMatchesPyTorchTrajectories runs `tram finetune` end to end on
// the tiny GPT-2 problem of sharp/testdata/gen_sharp.py and compares the
// written model with PyTorch's parameters after the same 4 steps.
func TestFinetuneMatchesPyTorchTrajectories(t *testing.T) {
	golden := testutil.ReadAll(t, "../../sharp/testdata/sharp_golden.safetensors")
	var meta struct {
		GPTNames []string `json:"gpt_names"`
	}
	raw, err := os.ReadFile("../../sharp/testdata/sharp_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &meta)
	dir := t.TempDir()
	m, err := gpt2.New(gpt2.Small(17, 6, 8, 2, 2), 0)
	if err != nil {
		t.Fatal(err)
	}
	copy(m.Params().Data, golden["gpt.init"])
	modelDir := filepath.Join(dir, "model")
	if err := m.Save(modelDir); err != nil {
		t.Fatal(err)
	}
	// The golden batch is both sequences, every step (no shuffle, B = N = 2).
	ids := golden["gpt.ids"]
	var lines []string
	for r := 0; r < 2; r++ {
		row := make([]int, 6)
		for j := range row {
			row[j] = int(ids[r*6+j])
		}
		b, _ := json.Marshal(map[string]any{"input_ids": row})
		lines = append(lines, string(b))
	}
	trainFile := filepath.Join(dir, "train.jsonl")
	os.WriteFile(trainFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644)

	for _, c := range []struct {
		method string
		extra  []string
	}{
		{"adamw", nil}, {"sam", nil}, {"asam", nil}, {"fsam", nil}, {"tram-theta0", nil}, {"tram-prev", nil},
		{"tram-ema", []string{"--ema-decay", "0.9"}}, {"trpo", nil}, {"mesa", []string{"--ema-decay", "0.9", "--tau", "2"}},
		{"asam+trpo", nil},
	} {
		t.Run(c.method, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+c.method)
			args := append([]string{"finetune", "--model", modelDir, "--train", trainFile, "--out", out, "--method", c.method,
				"--steps", "4", "--batch-size", "2", "--lr", "1e-2", "--seed", "1", "--no-shuffle",
				"--weight-decay", "0.01", "--beta2", "0.99", "--adam-eps", "1e-3", "--log", filepath.Join(dir, c.method+".log")}, c.extra...)
			var stderr bytes.Buffer
			if rc := runMain(args, &bytes.Buffer{}, &stderr); rc != 0 {
				t.Fatalf("exit %d: %s", rc, stderr.String())
			}
			got := testutil.ReadAll(t, filepath.Join(out, "model.safetensors"))
			want := golden[fmt.Sprintf("gpt/%s/3", c.method)]
			off := 0
			for _, name := range meta.GPTNames {
				g := got["transformer."+name]
				for i, v := range g {
					w := want[off+i]
					if math.Abs(float64(v-w)) > 2e-5+2e-4*math.Abs(float64(w)) {
						t.Fatalf("%s[%d] = %v, PyTorch %v", name, i, v, w)
					}
				}
				off += len(g)
			}
			sf, err := checkpoint.Open(filepath.Join(out, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if sf.Metadata["format"] != "pt" || sf.Metadata["tram_method"] != c.method || sf.Metadata["tram_gemm_backend"] == "" {
				t.Fatalf("run metadata %v", sf.Metadata)
			}
			sf.Close()
			logRaw, _ := os.ReadFile(filepath.Join(dir, c.method+".log"))
			if n := strings.Count(string(logRaw), "\n"); n != 4 {
				t.Fatalf("log has %d lines, want 4", n)
			}
			for _, key := range []string{`"step":4`, `"loss"`, `"d"`, `"eps_norm"`, `"grad_norm"`} {
				if !strings.Contains(string(logRaw), key) {
					t.Fatalf("log lacks %s", key)
				}
			}
		})
	}
}

func TestFinetuneBadInputLeavesOutdirUntouched(t *testing.T) {
	dir := t.TempDir()
	m, _ := gpt2.New(gpt2.Small(10, 8, 8, 1, 2), 0)
	modelDir := filepath.Join(dir, "model")
	m.Save(modelDir)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	good := write("good.jsonl", `{"input_ids":[1,2,3]}`+"\n"+`{"input_ids":[4,5,6]}`+"\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown method", []string{"--train", good, "--method", "lookahead"}, `unknown method "lookahead"`},
		{"missing flags", []string{"--train", good, "--method", "sam", "--steps", "-2"}, "--steps"},
		{"ragged lengths", []string{"--train", write("ragged.jsonl", `{"input_ids":[1,2,3]}`+"\n"+`{"input_ids":[1,2]}`+"\n"), "--method", "sam"}, "ragged.jsonl:2: sequence length 2 differs"},
		{"id out of range", []string{"--train", write("oob.jsonl", `{"input_ids":[1,2,10]}`+"\n"), "--method", "adamw"}, "token id 10 at position 2 is out of range [0, 10)"},
		{"too long", []string{"--train", write("long.jsonl", `{"input_ids":[1,2,3,4,5,6,7,8,9]}`+"\n"), "--method", "adamw"}, "exceed n_positions 8"},
		{"not json", []string{"--train", write("bad.jsonl", "{input_ids: 1}\n"), "--method", "adamw"}, "bad.jsonl:1"},
		{"conflict", []string{"--train", good, "--method", "sgd", "--optimizer", "adamw"}, "conflicts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(c.name, " ", "-"))
			args := append([]string{"finetune", "--model", modelDir, "--out", out, "--steps", "2", "--batch-size", "2", "--lr", "0.1"}, c.args...)
			var stderr bytes.Buffer
			if rc := runMain(args, &bytes.Buffer{}, &stderr); rc == 0 {
				t.Fatal("bad input accepted")
			}
			if !strings.Contains(stderr.String(), c.want) {
				t.Fatalf("error %q does not mention %q", stderr.String(), c.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatal("OUTDIR was created on error")
			}
		})
	}
}

// TestFinetuneResumesExactly interrupts a run (shuffled data, dropout, noise)
// and resumes it: the result is bit-identical to an uninterrupted run.
func TestFinetuneResumesExactly(t *testing.T) {
	dir := t.TempDir()
	cfg := gpt2.Small(20, 8, 8, 1, 2)
	cfg.ResidPdrop, cfg.EmbdPdrop, cfg.AttnPdrop = 0.1, 0.1, 0.1
	m, _ := gpt2.New(cfg, 3)
	modelDir := filepath.Join(dir, "model")
	m.Save(modelDir)
	var lines []string
	for i := 0; i < 7; i++ {
		b, _ := json.Marshal(map[string]any{"input_ids": []int{i, (i * 3) % 20, (i * 7) % 20, 5, (i + 11) % 20}})
		lines = append(lines, string(b))
	}
	trainFile := filepath.Join(dir, "train.jsonl")
	os.WriteFile(trainFile, []byte(strings.Join(lines, "\n")), 0o644)
	run := func(out string, interrupt int) (int, string) {
		interruptAt = interrupt
		defer func() { interruptAt = -1 }()
		var stderr bytes.Buffer
		rc := runMain([]string{"finetune", "--model", modelDir, "--train", trainFile, "--out", out, "--method", "tram-x",
			"--steps", "6", "--batch-size", "3", "--lr", "1e-2", "--seed", "9", "--sigma", "0.1", "--dropout", "config", "--log", out + ".log"}, &bytes.Buffer{}, &stderr)
		return rc, stderr.String()
	}
	straight := filepath.Join(dir, "straight")
	if rc, msg := run(straight, -1); rc != 0 {
		t.Fatal(msg)
	}
	resumed := filepath.Join(dir, "resumed")
	rc, msg := run(resumed, 4)
	if rc == 0 || !strings.Contains(msg, "interrupted at step 4") {
		t.Fatalf("interrupt: rc %d, %s", rc, msg)
	}
	if _, err := os.Stat(resumed); !os.IsNotExist(err) {
		t.Fatal("an interrupted run wrote OUTDIR")
	}
	if rc, msg := run(resumed, -1); rc != 0 || !strings.Contains(msg, "resuming") {
		t.Fatalf("resume: rc %d, %s", rc, msg)
	}
	a, b := testutil.ReadAll(t, filepath.Join(straight, "model.safetensors")), testutil.ReadAll(t, filepath.Join(resumed, "model.safetensors"))
	for name, v := range a {
		for i := range v {
			if math.Float32bits(v[i]) != math.Float32bits(b[name][i]) {
				t.Fatalf("%s[%d]: uninterrupted %v, resumed %v", name, i, v[i], b[name][i])
			}
		}
	}
	// Equal runs write equal files: what differs between them (wall time,
	// the step a resumed run resumed at) is in run_info.json, not in the
	// model's metadata.
	fa, _ := os.ReadFile(filepath.Join(straight, "model.safetensors"))
	if fb, _ := os.ReadFile(filepath.Join(resumed, "model.safetensors")); len(fa) == 0 || !bytes.Equal(fa, fb) {
		t.Error("the resumed run's model.safetensors differs in bytes from the uninterrupted run's")
	}
	if info, err := finetune.ReadRunInfo(resumed); err != nil || info.ResumedAt != 4 {
		t.Errorf("run_info.json of the resumed run: %+v, %v (want resumed_at 4)", info, err)
	}
	la, _ := os.ReadFile(straight + ".log")
	lb, _ := os.ReadFile(resumed + ".log")
	if strings.Count(string(lb), "\n") != 6 || strings.Count(string(la), "\n") != 6 {
		t.Fatalf("logs have %d and %d lines, want 6", strings.Count(string(la), "\n"), strings.Count(string(lb), "\n"))
	}
	if _, err := os.Stat(resumed + ".partial"); !os.IsNotExist(err) {
		t.Fatal("snapshots left behind after the run completed")
	}
	// A different command does not resume someone else's run.
	run(filepath.Join(dir, "other"), 2)
	var stderr bytes.Buffer
	rc = runMain([]string{"finetune", "--model", modelDir, "--train", trainFile, "--out", filepath.Join(dir, "other"), "--method", "sam",
		"--steps", "6", "--batch-size", "3", "--lr", "1e-2", "--seed", "9", "--dropout", "config"}, &bytes.Buffer{}, &stderr)
	if rc == 0 || !strings.Contains(stderr.String(), `--method "tram-x"`) {
		t.Fatalf("mismatched resume: rc %d, %s", rc, stderr.String())
	}
	// Nor one with other dropout, or with a method option given that the
	// saved run left at its default.
	for _, c := range []struct{ extra, want string }{
		{"--dropout=0.0", `started with --dropout "config", this command has "0"`},
		{"--kappa=1", `started with --kappa "(method default)", this command has "1"`},
	} {
		stderr.Reset()
		args := []string{"finetune", "--model", modelDir, "--train", trainFile, "--out", filepath.Join(dir, "other"), "--method", "tram-x",
			"--steps", "6", "--batch-size", "3", "--lr", "1e-2", "--seed", "9", "--sigma", "0.1", "--dropout", "config", c.extra}
		if rc := runMain(args, &bytes.Buffer{}, &stderr); rc == 0 || !strings.Contains(stderr.String(), c.want) {
			t.Fatalf("resume with %s: rc %d, %s", c.extra, rc, stderr.String())
		}
	}
}
