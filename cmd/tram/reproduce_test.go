package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	tramdata "github.com/tramlab/tram/data"
	"github.com/tramlab/tram/grid"
)

// readRecord reads one run's record.
func readRecord(t *testing.T, dir, id string) grid.Record {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "runs", id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var r grid.Record
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReproduceQuick runs a --quick vision grid on fixture data three
// ways (in process, as child processes with --jobs 2, and with one run
// interrupted and resumed) and checks that every run's metrics agree
// exactly, that finished runs are skipped, and that the summary is
// written.
func TestReproduceQuick(t *testing.T) {
	data, pre := familyFixture(t)
	base := []string{"reproduce", "vision", "--quick", "--methods", "sgd,tram-theta0", "--data", data, "--model", pre["vision"], "--threads", "1"}
	run := func(dir string, extra ...string) string {
		t.Helper()
		var stderr bytes.Buffer
		if rc := runMain(append(append(append([]string{}, base...), "--out", dir), extra...), &bytes.Buffer{}, &stderr); rc != 0 {
			t.Fatalf("tram reproduce %v: %s", extra, stderr.String())
		}
		return stderr.String()
	}
	ids := []string{"sgd.s1", "tram-theta0.s1", "sgd.s2", "tram-theta0.s2"}

	inproc := filepath.Join(t.TempDir(), "a")
	run(inproc, "--jobs", "1")
	for _, id := range ids {
		r := readRecord(t, inproc, id)
		if len(r.Metrics) != 7 || r.Metrics[0].Accuracy == nil || r.Threads != 1 || r.Steps != 6 {
			t.Fatalf("%s: unexpected record %+v", id, r)
		}
		if id == "sgd.s1" && len(r.Checkpoints) != 2 {
			t.Errorf("the base row evaluates 2 checkpoints, got %d", len(r.Checkpoints))
		}
		if !strings.Contains(r.Command, "--methods "+r.Row+" --seed") {
			t.Errorf("%s: command %q does not rerun the run alone", id, r.Command)
		}
	}
	for _, f := range []string{"grid.json", "machine.json", "summary.json"} {
		if _, err := os.Stat(filepath.Join(inproc, f)); err != nil {
			t.Error(err)
		}
	}
	if out := run(inproc, "--jobs", "1"); !strings.Contains(out, "4 of 4 runs already done") {
		t.Errorf("a rerun should skip every run; said:\n%s", out)
	}
	// Every record names its data build, and a grid refuses to mix builds.
	build, err := tramdata.ManifestSHA256(filepath.Join(data, "vision"))
	if err != nil {
		t.Fatal(err)
	}
	if r := readRecord(t, inproc, "sgd.s1"); r.Data != build {
		t.Fatalf("record's data_sha256 %q, want the manifest's %q", r.Data, build)
	}
	drifted := filepath.Join(t.TempDir(), "drifted")
	if err := os.CopyFS(drifted, os.DirFS(inproc)); err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(drifted, "runs", "sgd.s1.json")
	raw, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rec, bytes.Replace(raw, []byte(build), []byte(strings.Repeat("0", 64)), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if rc := runMain(append(append([]string{}, base...), "--out", drifted, "--jobs", "1"), &bytes.Buffer{}, &stderr); rc == 0 ||
		!strings.Contains(stderr.String(), "another build of the vision data") {
		t.Errorf("a grid resumed on another data build should refuse; rc %d, said:\n%s", rc, stderr.String())
	}

	// Child processes (this test binary acting as tram).
	t.Setenv("TRAM_TEST_AS_MAIN", "1")
	children := filepath.Join(t.TempDir(), "b")
	run(children, "--jobs", "2")

	// One run alone, interrupted after 3 steps, then resumed.
	resumed := filepath.Join(t.TempDir(), "c")
	interruptAt = 3
	stderr.Reset()
	rc := runMain(append(append([]string{}, base...), "--out", resumed, "--methods", "tram-theta0", "--seed", "2", "--jobs", "1", "--save-every", "2"), &bytes.Buffer{}, &stderr)
	interruptAt = -1
	if rc == 0 {
		t.Fatalf("the interrupted run should fail; said:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(resumed, "runs", "tram-theta0.s2.json")); err == nil {
		t.Fatal("an interrupted run wrote its record")
	}
	run(resumed, "--methods", "tram-theta0", "--seed", "2", "--jobs", "1", "--save-every", "2")

	for _, id := range ids {
		a := readRecord(t, inproc, id)
		b := readRecord(t, children, id)
		if !reflect.DeepEqual(a.Metrics, b.Metrics) || !reflect.DeepEqual(a.Checkpoints, b.Checkpoints) {
			t.Errorf("%s: child-process metrics differ from in-process ones", id)
		}
		if id == "tram-theta0.s2" {
			c := readRecord(t, resumed, id)
			if !reflect.DeepEqual(a.Metrics, c.Metrics) {
				t.Errorf("%s: the resumed run's metrics differ from the uninterrupted one's", id)
			}
		}
	}
}

func TestReproduceErrors(t *testing.T) {
	data, pre := familyFixture(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"reproduce", "vision", "--methods", "nosuch"}, `no row "nosuch"`},
		{[]string{"reproduce", "nosuch"}, "unknown family"},
		{[]string{"reproduce", "lm", "--train-domain", "poetry"}, "trains on scripture, tech"},
		{[]string{"reproduce", "vision", "--model", pre["lm"]}, "is a lm model"},
		{[]string{"reproduce", "vision", "--seed", "1", "--seeds", "2"}, "exclude each other"},
		{[]string{"reproduce", "--quick"}, "name the family first"},
	} {
		var stderr bytes.Buffer
		args := append(c.args, "--data", data, "--out", t.TempDir())
		if !strings.Contains(strings.Join(c.args, " "), "--model") {
			args = append(args, "--model", pre[c.args[1]])
		}
		if c.args[1] == "nosuch" || strings.HasPrefix(c.args[1], "-") {
			args = c.args
		}
		if rc := runMain(args, &bytes.Buffer{}, &stderr); rc == 0 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: rc %d, stderr %q, want it to contain %q", c.args, rc, stderr.String(), c.want)
		}
	}
}

// TestTargetEvalMode: with dropout on, --target-eval-mode changes TRAM's
// d_t (the reference forward runs without dropout); with dropout 0 it
// changes nothing.
func TestTargetEvalMode(t *testing.T) {
	data, pre := familyFixture(t)
	dOf := func(dropout string, evalMode bool) []float64 {
		t.Helper()
		dir := t.TempDir()
		args := []string{"finetune", "--model", pre["lm"], "--data", data, "--domain", "scripture", "--out", filepath.Join(dir, "m"),
			"--method", "tram-prev", "--steps", "3", "--batch-size", "4", "--lr", "0.01", "--seed", "3", "--dropout", dropout,
			"--log", filepath.Join(dir, "log.jsonl")}
		if evalMode {
			args = append(args, "--target-eval-mode")
		}
		var stderr bytes.Buffer
		if rc := runMain(args, &bytes.Buffer{}, &stderr); rc != 0 {
			t.Fatalf("finetune: %s", stderr.String())
		}
		raw, _ := os.ReadFile(filepath.Join(dir, "log.jsonl"))
		var ds []float64
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			var rec struct{ D float64 }
			json.Unmarshal([]byte(line), &rec)
			ds = append(ds, rec.D)
		}
		return ds
	}
	if a, b := dOf("0", false), dOf("0", true); !reflect.DeepEqual(a, b) {
		t.Errorf("dropout 0: d_t %v with the reference in training mode, %v in evaluation mode; want equal", a, b)
	}
	if a, b := dOf("0.3", false), dOf("0.3", true); reflect.DeepEqual(a, b) {
		t.Errorf("dropout 0.3: d_t %v in both modes; the evaluation-mode reference should change it", a)
	}
}
