package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tramlab/tram/family"
	"github.com/tramlab/tram/grid"
)

// TestStudyQuick runs the worked example of docs/STUDIES.md
// (docs/examples/vision-study.yaml) with --quick on fixture data: tuned
// rows (tuning trials first, then the evaluation seeds at the chosen
// candidates), an l2sp, an lp-ft and a zero-shot row, and WiSE-FT points
// of the base runs; the report holds the tuning table, the zero-shot
// comparison and the verdicts. The study here also asks for ε-sharpness
// and CKA, which only the evaluation runs' final models get.
func TestStudyQuick(t *testing.T) {
	data, pre := familyFixture(t)
	example, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", "vision-study.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	study := filepath.Join(t.TempDir(), "vision-study.yaml")
	extras := "eval: {cka: true, cka_examples: 8, sharpness: true, sharp_examples: 4, sharp_steps: 2}\n"
	if err := os.WriteFile(study, append(example, extras...), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "study")
	var stdout, stderr bytes.Buffer
	args := []string{"reproduce", "--study", study, "--quick", "--data", data, "--model", pre["vision"], "--out", out, "--jobs", "1"}
	if rc := runMain(args, &stdout, &stderr); rc != 0 {
		t.Fatalf("tram %s: %s", strings.Join(args, " "), stderr.String())
	}
	g, err := grid.LoadStudy(study)
	if err != nil {
		t.Fatal(err)
	}
	g.Tuning.Seeds = g.Tuning.Seeds[:1] // --quick keeps the first
	trials, err := grid.ReadTrials(out, g)
	if err != nil {
		t.Fatal(err)
	}
	// 4 tuned rows × 4 candidates × 1 tuning seed (--quick keeps the first).
	if len(trials) != 16 {
		t.Fatalf("%d tuning trials, want 16", len(trials))
	}
	for _, tr := range trials {
		if tr.Seed != 101 || tr.ValLoss == nil || len(tr.Tuned) == 0 {
			t.Fatalf("trial %s: seed %d, val loss %v, tuned %v", tr.Row, tr.Seed, tr.ValLoss, tr.Tuned)
		}
		if n := countExtras(tr.Metrics); n != 0 {
			t.Errorf("trial %s: %d domains with ε-sharpness or CKA, want none", tr.Row, n)
		}
	}
	chosen := grid.Choose(grid.SummarizeTuning(g, trials))
	for _, row := range []string{"sgd", "l2sp", "lp-ft", "tram-theta0"} {
		c := chosen[grid.TuneKey(row, "", "")]
		if c == nil {
			t.Fatalf("row %s: nothing chosen (%v)", row, chosen)
		}
		for _, seed := range []string{"s1", "s2"} {
			r := readRecord(t, out, row+"."+seed)
			for k, v := range c {
				if r.Flags[k] != v || r.Tuned[k] != v {
					t.Errorf("%s.%s runs %s=%q (tuned %v), its tuning chose %q", row, seed, k, r.Flags[k], r.Tuned, v)
				}
			}
			if n := countExtras(r.Metrics); n != 2*len(r.Metrics) {
				t.Errorf("%s.%s: ε-sharpness and CKA on %d of %d domains' two fields", row, seed, n, len(r.Metrics))
			}
			if seed == "s1" && row == "sgd" {
				if len(r.WiseFT) != 3 || len(r.Checkpoints) != 2 {
					t.Errorf("the base run has %d WiSE-FT points and %d checkpoints, want 3 and 2", len(r.WiseFT), len(r.Checkpoints))
				}
				for _, p := range r.WiseFT {
					if n := countExtras(p.Metrics); n != 0 {
						t.Errorf("WiSE-FT α=%g: %d ε-sharpness or CKA values, want none", p.Alpha, n)
					}
				}
				for _, c := range r.Checkpoints {
					if n := countExtras(c.Metrics); n != 0 {
						t.Errorf("checkpoint %d: %d ε-sharpness or CKA values, want none", c.Step, n)
					}
				}
			}
		}
	}
	if r := readRecord(t, out, "zero-shot.s1"); r.Steps != 0 {
		t.Errorf("the zero-shot row took %d steps", r.Steps)
	}
	if r := readRecord(t, out, "lp-ft.s1"); r.Flags["head"] != "new" || r.Flags["head-warmup"] != "2" {
		t.Errorf("lp-ft runs %v", r.Flags)
	}
	raw, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum grid.Summary
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, r := range sum.Tables[0].Rows {
		rows[r.Row] = true
	}
	for _, want := range []string{"zero-shot", "sgd", "l2sp", "lp-ft", "tram-theta0", "wise-ft:alpha=0.5"} {
		if !rows[want] {
			t.Errorf("summary lacks row %s (has %v)", want, rows)
		}
	}
	if len(sum.Tuning) != 4 || sum.Tables[0].ZeroShot != "zero-shot" {
		t.Errorf("summary: %d tuning tables, zero-shot row %q", len(sum.Tuning), sum.Tables[0].ZeroShot)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Tuning", "Against the starting model", "wise-ft:alpha=0.5", "equivalent", "oracle"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// Reruns skip everything, trials included.
	stderr.Reset()
	if rc := runMain(args, &stdout, &stderr); rc != 0 || !strings.Contains(stderr.String(), "16 of 16 runs already done") ||
		!strings.Contains(stderr.String(), "10 of 10 runs already done") {
		t.Errorf("rerun: rc %d, said:\n%s", rc, stderr.String())
	}
	// An invalid study file is refused before any run, naming file and line.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("family: vision\nbase: sgd\nseeds: 2\nrows:\n  - {name: sgd, flags: {seed: \"3\"}}\n"), 0o644)
	stderr.Reset()
	if rc := runMain([]string{"reproduce", "--study", bad, "--out", filepath.Join(t.TempDir(), "x")}, &stdout, &stderr); rc == 0 || !strings.Contains(stderr.String(), bad+":5") {
		t.Errorf("bad study: rc %d, said %q", rc, stderr.String())
	}
}

// countExtras counts the ε-sharpness and CKA values among a run's domains.
func countExtras(ms []family.DomainResult) int {
	n := 0
	for _, m := range ms {
		if m.Sharpness != nil {
			n++
		}
		if m.CKA != nil {
			n++
		}
	}
	return n
}

// TestStudyRegimes: a study with two regimes runs every row in each, one
// record per regime (IDs ROW.REGIME.sSEED) with the regime's flags, and
// reports one table per regime.
func TestStudyRegimes(t *testing.T) {
	data, pre := familyFixture(t)
	dir := t.TempDir()
	study := filepath.Join(dir, "regimes.yaml")
	os.WriteFile(study, []byte(`name: regimes
family: vision
base: sgd
seeds: 2
regimes:
  - {name: fast, flags: {lr: "0.04"}}
  - {name: slow, flags: {lr: "0.005"}}
rows:
  - {name: sgd}
  - {name: tram-theta0}
`), 0o644)
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	if rc := runMain([]string{"reproduce", "--study", study, "--quick", "--data", data, "--model", pre["vision"], "--out", out, "--jobs", "1"}, &stdout, &stderr); rc != 0 {
		t.Fatal(stderr.String())
	}
	for _, c := range []struct{ id, lr string }{{"sgd.fast.s1", "0.04"}, {"tram-theta0.slow.s2", "0.005"}} {
		r := readRecord(t, out, c.id)
		if r.Regime == "" || r.Flags["lr"] != c.lr || !strings.Contains(r.Command, "--regime "+r.Regime) {
			t.Errorf("%s: regime %q, lr %q, command %q", c.id, r.Regime, r.Flags["lr"], r.Command)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(out, "summary.json"))
	var sum grid.Summary
	if err := json.Unmarshal(raw, &sum); err != nil || len(sum.Tables) != 2 || sum.Tables[0].Regime != "fast" || sum.Tables[1].Regime != "slow" {
		t.Errorf("tables: %v, %+v", err, sum.Tables)
	}
}
