package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/wiseft"
)

// interpolateModels writes a pretrained model with a 3-class head and a
// masked-LM bias, and a model fine-tuned from it with a 2-class head, a
// new classifier bias and a tokenizer.
func interpolateModels(t *testing.T) (pre, tuned string) {
	t.Helper()
	root := t.TempDir()
	write := func(name string, ts []checkpoint.Tensor, files ...string) string {
		dir := filepath.Join(root, name)
		os.Mkdir(dir, 0o755)
		if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
		if err := checkpoint.WriteJSON(filepath.Join(dir, "config.json"), map[string]string{"name": name}); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			os.WriteFile(filepath.Join(dir, f), []byte(name+" "+f), 0o644)
		}
		return dir
	}
	pre = write("pretrained", []checkpoint.Tensor{
		{Name: "enc.weight", Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}},
		{Name: "bn.num_batches_tracked", Data: []float32{10}, DType: "I64"},
		{Name: "head.weight", Shape: []int{3, 2}, Data: make([]float32, 6)},
		{Name: "mlm.bias", Shape: []int{2}, Data: []float32{1, 1}},
	}, "CARD.md")
	tuned = write("tuned", []checkpoint.Tensor{
		{Name: "enc.weight", Shape: []int{2, 2}, Data: []float32{3, 2, 1, 0}},
		{Name: "bn.num_batches_tracked", Data: []float32{20}, DType: "I64"},
		{Name: "head.weight", Shape: []int{2, 2}, Data: []float32{5, 6, 7, 8}},
		{Name: "classifier.bias", Shape: []int{2}, Data: []float32{-1, 1}},
	}, "tokenizer.json")
	return pre, tuned
}

func TestInterpolate(t *testing.T) {
	pre, tuned := interpolateModels(t)
	out := filepath.Join(t.TempDir(), "wise")
	var stdout, stderr bytes.Buffer
	if rc := runMain([]string{"interpolate", "--from", pre, "--to", tuned, "--alpha", "0.25", "--out", out}, &stdout, &stderr); rc != 0 {
		t.Fatalf("exit %d: %s", rc, stderr.String())
	}
	want := []string{
		"wrote " + out + ": 1 tensors interpolated at alpha 0.25, 3 taken from " + tuned + ", 1 of " + pre + "'s left out",
		"taken from " + tuned + ": bn.num_batches_tracked: dtype I64 is not a float type",
		"taken from " + tuned + ": classifier.bias: not in the pretrained model",
		"taken from " + tuned + ": head.weight: shape [2 2] differs from the pretrained model's [3 2]",
		"left out (only in " + pre + "): mlm.bias",
		"copied from " + tuned + ": config.json, tokenizer.json",
	}
	if got := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n"); !slices.Equal(got, want) {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), strings.Join(want, "\n"))
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %q", stderr.String())
	}
	w, err := checkpoint.ReadAll(filepath.Join(out, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	// 0.75·[1 2 3 4] + 0.25·[3 2 1 0]; the rest is the tuned model's.
	if !slices.Equal(w["enc.weight"], []float32{1.5, 2, 2.5, 3}) || !slices.Equal(w["head.weight"], []float32{5, 6, 7, 8}) ||
		!slices.Equal(w["classifier.bias"], []float32{-1, 1}) || !slices.Equal(w["bn.num_batches_tracked"], []float32{20}) || len(w) != 4 {
		t.Errorf("weights %v", w)
	}
	for _, f := range []string{"config.json", "tokenizer.json"} {
		a, _ := os.ReadFile(filepath.Join(tuned, f))
		if b, err := os.ReadFile(filepath.Join(out, f)); err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s not copied from the tuned model (%v)", f, err)
		}
	}
	sf, err := checkpoint.Open(filepath.Join(out, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	if sf.Metadata[wiseft.MetaAlpha] != "0.25" || sf.Metadata[wiseft.MetaFrom] != filepath.ToSlash(pre) || sf.Metadata[wiseft.MetaTo] != filepath.ToSlash(tuned) {
		t.Errorf("metadata %v", sf.Metadata)
	}

	// Rerunning into the same directory replaces it; extrapolation needs
	// --extrapolate.
	stdout.Reset()
	if rc := runMain([]string{"interpolate", "--from", pre, "--to", tuned, "--alpha", "2", "--extrapolate", "--out", out}, &stdout, &stderr); rc != 0 {
		t.Fatalf("--extrapolate: exit %d: %s", rc, stderr.String())
	}
	if w, _ := checkpoint.ReadAll(filepath.Join(out, "model.safetensors")); !slices.Equal(w["enc.weight"], []float32{5, 2, -1, -4}) {
		t.Errorf("alpha 2: %v", w["enc.weight"])
	}
}

func TestInterpolateHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if rc := runMain([]string{"interpolate", "--help"}, &stdout, &stderr); rc != 0 {
		t.Fatalf("exit %d", rc)
	}
	for _, s := range []string{"-from", "-to", "-alpha", "-out", "-extrapolate", "Interpolated:", "Taken from TUNED", "copied byte for", "tram_wiseft_alpha"} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("--help does not explain %q:\n%s", s, stderr.String())
		}
	}
}

func TestInterpolateErrors(t *testing.T) {
	pre, tuned := interpolateModels(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	busy := filepath.Join(dir, "busy")
	os.Mkdir(busy, 0o755)
	os.WriteFile(filepath.Join(busy, "notes.txt"), []byte("mine"), 0o644)
	other := t.TempDir() // another architecture
	if err := checkpoint.WriteSafetensors(filepath.Join(other, "model.safetensors"), []checkpoint.Tensor{{Name: "x", Shape: []int{1}, Data: []float32{1}}}, nil); err != nil {
		t.Fatal(err)
	}
	flags := func(extra ...string) []string {
		return append([]string{"interpolate", "--from", pre, "--to", tuned, "--out", out}, extra...)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"interpolate"}, "missing required flags --from, --to, --alpha, --out"},
		{[]string{"interpolate", "--from", pre, "--to", tuned, "--out", out}, "missing required flag --alpha"},
		{flags("--alpha", "1.5"), "--alpha 1.5 lies outside [0, 1], WiSE-FT's range; add --extrapolate"},
		{flags("--alpha", "-0.1"), "--alpha -0.1 lies outside [0, 1]"},
		{flags("--alpha", "NaN", "--extrapolate"), "--alpha must be a finite number (got NaN)"},
		{flags("--alpha", "0.5", "--from", filepath.Join(dir, "nope")), "model directory " + filepath.Join(dir, "nope") + " does not exist"},
		{flags("--alpha", "0.5", "--to", dir), dir + " has no model.safetensors"},
		{flags("--alpha", "0.5", "--to", other), "share no float tensor"},
		{flags("--alpha", "0.5", "--out", busy), "exists and holds no model.safetensors"},
		{flags("--alpha", "0.5", "--out", tuned), "must be neither an input model directory"},
	} {
		var stdout, stderr bytes.Buffer
		if rc := runMain(c.args, &stdout, &stderr); rc == 0 || !strings.Contains(stderr.String(), c.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want one line containing %q", c.args[1:], rc, stderr.String(), c.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("%v: stdout %q", c.args[1:], stdout.String())
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 { // busy only
		t.Errorf("left behind in %s: %v", dir, ents)
	}
	// A malformed number is a usage error: the flag package explains it.
	var stdout, stderr bytes.Buffer
	if rc := runMain(flags("--alpha", "half"), &stdout, &stderr); rc == 0 || !strings.Contains(stderr.String(), `invalid value "half" for flag -alpha`) {
		t.Errorf("--alpha half: exit %d, %q", rc, stderr.String())
	}
}
