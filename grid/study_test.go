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

// TestParseStudyData: a study's data: key — paths resolved against the
// study file's directory, test sets in the file's order, the data's
// flags in place of --domain — and its errors, each naming the file and
// the line.
func TestParseStudyData(t *testing.T) {
	good := `name: mine
family: xling
model: models/my-bert
base: adamw
seeds: 2
train_domains: [news]
flags: {steps: "30", batch-size: "8", lr: "1e-4", eval-every: "10"}
tuning: {seeds: [101]}
data:
  train: data/train.csv
  valid: /abs/valid.jsonl
  tests:
    news: data/news.csv
    forum: data/forum.csv
    blogs: data/blogs.csv
  text_column: review
  label_column: sentiment
rows:
  - {name: adamw, tune: {lr: ["1e-4", "3e-5"]}}
  - {name: tram-theta0, tune: {lr: ["1e-4", "3e-5"]}}
`
	file := filepath.Join("studies", "mine.yaml")
	g, err := ParseStudy(file, []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	u := g.UserData
	if u == nil || u.Train != filepath.Join("studies", "data", "train.csv") || u.Valid != "/abs/valid.jsonl" || g.Recipe != "" ||
		u.TextColumn != "review" || u.LabelColumn != "sentiment" || u.TextPairColumn != "" {
		t.Fatalf("parsed %+v, data %+v", g, u)
	}
	var names []string
	for _, ts := range u.Tests {
		names = append(names, ts.Name)
	}
	if !slices.Equal(names, []string{"news", "forum", "blogs"}) || u.Tests[1].Path != filepath.Join("studies", "data", "forum.csv") {
		t.Errorf("tests %+v: want the file's order, paths relative to the study file", u.Tests)
	}
	run := g.Runs(g.Rows[:1], g.Domains, []int{1})[0]
	f := g.FinetuneFlags(run)
	if run.ID() != "adamw.news.s1" || f["train"] != u.Train || f["valid"] != u.Valid || f["text-column"] != "review" ||
		f["label-column"] != "sentiment" || f["domain"] != "" || f["text-pair-column"] != "" || f["block-size"] != "" {
		t.Errorf("run %s: flags %v", run.ID(), f)
	}
	if got := g.DataWhere("data.tests.forum"); got != file+":14" {
		t.Errorf("DataWhere(data.tests.forum) = %s", got)
	}
	if args := u.TestArgs(); len(args) != 6 || args[1] != "news="+u.Tests[0].Path {
		t.Errorf("TestArgs %v", args)
	}
	// The record of such a run names its in-domain test set by the run's
	// domain, whatever the family.
	rec := Record{Family: "xling", Domain: "news", Flags: map[string]string{"domain": "", "train": u.Train}}
	if rec.InDomain() != "news" {
		t.Errorf("InDomain %q", rec.InDomain())
	}
	for _, tc := range []struct{ name, edit, want, msg string }{
		{"unknown data key", "  text_column: review\n", "  text_column: review\n  colour: red\n", `:17: unknown key "colour"`},
		{"no train", "  train: data/train.csv\n", "", ":9: data.train: missing"},
		{"no tests", "    news: data/news.csv\n    forum: data/forum.csv\n    blogs: data/blogs.csv\n", "", ":12: data.tests: a mapping"},
		{"tests as a list", "  tests:\n    news: data/news.csv\n    forum: data/forum.csv\n    blogs: data/blogs.csv\n", "  tests: [data/news.csv]\n", ":12: data.tests: a mapping"},
		{"tests missing", "  tests:\n    news: data/news.csv\n    forum: data/forum.csv\n    blogs: data/blogs.csv\n", "", ":9: data.tests: missing"},
		{"bad test name", "    forum: data", "    fo/rum: data", `:14: data.tests: "fo/rum" is not a valid test-set name`},
		{"empty test path", "    forum: data/forum.csv", "    forum:", ":14: data.tests.forum: the test set's path"},
		{"in-domain set not a test set", "train_domains: [news]", "train_domains: [wiki]", ":6: train_domains: with data:, name the one test set drawn like the training data (the in-domain one; the others are out of domain): one of news, forum, blogs"},
		{"two training domains", "train_domains: [news]", "train_domains: [news, forum]", ":6: train_domains:"},
		{"no training domain", "train_domains: [news]\n", "", ":8: train_domains:"},
		{"tuning without validation", "  valid: /abs/valid.jsonl\n", "", ":8: tuning: tuned rows are chosen on the validation loss: give data.valid"},
		{"data flag in flags", `eval-every: "10"}`, `eval-every: "10", train: x.csv}`, ":7: flags: --train describes your own data: give it in the study's data: key"},
		{"data flag tuned", `tune: {lr: ["1e-4", "3e-5"]}}` + "\n  - {name: tram-theta0", `tune: {label-column: ["a", "b"]}}` + "\n  - {name: tram-theta0", ":19: rows[0].tune: --label-column comes from the study's data: key"},
		{"block size for a classifier", "  label_column: sentiment\n", "  label_column: sentiment\n  block_size: 64\n", ":18: data.block_size: a xling study's data are labelled texts"},
		{"negative block size", "  label_column: sentiment\n", "  label_column: sentiment\n  block_size: -1\n", ":18: data.block_size: must be ≥ 0"},
		{"empty data", "data:\n  train: data/train.csv\n", "data:\n", ":9: data: give the training set"},
	} {
		bad := strings.Replace(good, tc.edit, tc.want, 1)
		if bad == good {
			t.Fatalf("%s: edit did not apply", tc.name)
		}
		if tc.name == "empty data" {
			bad = good[:strings.Index(good, "data:\n")] + "data:\nrows:\n  - {name: adamw}\n"
		}
		_, err := ParseStudy(file, []byte(bad))
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), file+":") || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %q, want %q", tc.name, err, file+tc.msg)
		}
	}
}
