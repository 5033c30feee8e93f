package grid

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestEmbeddedStudiesMatchCommittedGrids: the embedded paper studies hold
// exactly the rows (method, kind, flags) and settings of the grids whose
// results are committed in results/FAMILY (grid.json), so `tram reproduce
// FAMILY` runs the committed runs again with the same flags.
func TestEmbeddedStudiesMatchCommittedGrids(t *testing.T) {
	for fam, g := range Families {
		raw, err := os.ReadFile(filepath.Join("..", "results", fam, "grid.json"))
		if err != nil {
			t.Skipf("no committed %s grid: %v", fam, err)
		}
		var committed Grid
		if err := json.Unmarshal(raw, &committed); err != nil {
			t.Fatal(err)
		}
		if committed.Base != g.Base || committed.Metric != g.Metric || committed.Recipe != g.Recipe ||
			!maps.Equal(committed.Flags, g.Flags) || !slices.Equal(committed.Domains, g.Domains) ||
			committed.Eval != g.Eval || !slices.Equal(committed.Checkpoints, g.Checkpoints) {
			t.Errorf("%s: settings differ from results/%s/grid.json:\n%+v\n%+v", fam, fam, committed, *g)
		}
		for _, cr := range committed.Rows {
			r, ok := g.Row(cr.Name)
			if !ok {
				t.Errorf("%s: committed row %s is not in the study", fam, cr.Name)
				continue
			}
			if r.Method != cr.Method || r.Kind != cr.Kind || !maps.Equal(r.Flags, cr.Flags) {
				t.Errorf("%s: row %s: study %+v, committed %+v", fam, cr.Name, r, cr)
			}
		}
	}
}

func TestParseStudy(t *testing.T) {
	good := `name: s
family: lm
base: adamw
seeds: 3
train_domains: [tech]
regimes:
  - {name: long, flags: {steps: "720"}}
tuning: {seeds: [101, 102]}
wise_ft: [0.5]
rows:
  - {name: zero-shot, kind: zeroshot, method: adamw}
  - {name: adamw, tune: {lr: ["1e-3", "3e-4"]}}
  - {name: tram-x, tune: {lr: ["1e-3", "3e-4"]}}
  - {name: l2sp, flags: {lambda: "0.01"}}
`
	g, err := ParseStudy("s.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if g.Metric != "perplexity" || g.Recipe != "lm" || len(g.Regimes) != 1 || g.Rows[0].Flags["steps"] != "0" {
		t.Errorf("parsed %+v", g)
	}
	runs := g.Runs(g.Rows[:2], g.Domains, []int{1})
	if len(runs) != 2 || runs[1].ID() != "adamw.long.tech.s1" || g.FinetuneFlags(runs[1])["steps"] != "720" {
		t.Errorf("runs %v, flags %v", runs, g.FinetuneFlags(runs[1]))
	}
	if tr := g.Rows[1].TuneTrials(); len(tr) != 2 || tr[0]["lr"] != "1e-3" || g.Rows[1].TrialName(tr[1]) != "adamw:lr=3e-4" {
		t.Errorf("trials %v", tr)
	}
	for _, tc := range []struct{ name, edit, want string }{
		{"unknown key", "seeds: 3\n", "seeds: 3\ncolour: red\n"},
		{"unknown method", "{name: l2sp,", "{name: l2sp, method: lion,"},
		{"tuning budgets differ", `{name: tram-x, tune: {lr: ["1e-3", "3e-4"]}}`, `{name: tram-x, tune: {lr: ["1e-3"]}}`},
		{"tuning seed is an evaluation seed", "[101, 102]", "[2, 102]"},
		{"reserved flag", `{lambda: "0.01"}`, `{lambda: "0.01", seed: "3"}`},
		{"no base row", "base: adamw", "base: sgd"},
		{"wise-ft alpha", "wise_ft: [0.5]", "wise_ft: [1.5]"},
		{"zero-shot with steps", "kind: zeroshot, method: adamw}", "kind: zeroshot, method: adamw, flags: {steps: \"5\"}}"},
		{"wrong type", "seeds: 3", "seeds: many"},
		{"duplicate row", "- {name: l2sp,", "- {name: adamw,"},
	} {
		bad := strings.Replace(good, tc.edit, tc.want, 1)
		if bad == good {
			t.Fatalf("%s: edit did not apply", tc.name)
		}
		_, err := ParseStudy("s.yaml", []byte(bad))
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		// Every error names the file and a line.
		if !strings.HasPrefix(err.Error(), "s.yaml:") || !strings.ContainsAny(strings.TrimPrefix(err.Error(), "s.yaml:")[:1], "0123456789") {
			t.Errorf("%s: error %q does not name the file and line", tc.name, err)
		}
	}
}
