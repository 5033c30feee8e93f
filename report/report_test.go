package report_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tramlab/tram/grid"
	"github.com/tramlab/tram/report"
)

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name        string
		fake        fake
		seeds, ask  []int
		wantMD      []string
		wantPlots   []string
		wantPartial bool
	}{
		{name: "vision", fake: fakeVision(), seeds: []int{1, 2, 3}, ask: []int{1, 2, 3},
			wantMD: []string{"# TRAM grid report: vision", "mnist (saturated)", "| tram-prev | **91.", "*frontier rows*",
				"paired t-test over seeds, two-sided", "](plots/bars.svg)", "ε-sharpness, trained on script", "**Runs** all 27 done",
				"**Data build** manifest.json sha256 `feedface`"},
			wantPlots: []string{"bars.svg", "frontier.svg", "curve-loss.svg", "curve-val-loss.svg", "curve-d.svg", "curve-eps-norm.svg"}},
		{name: "lm partial", fake: fakeLM(), seeds: []int{1, 2, 3}, ask: []int{1, 2, 3, 4}, wantPartial: true,
			wantMD: []string{"**Partial: 72 of 96 runs.**", "### Trained on cs", "## In-domain against out-of-domain perplexity",
				"| art | -1.000 | < 0.001 | -0.962 |", "](plots/correlation-tech.svg)",
				"the runs come from 2 builds of the data (manifest.json sha256 `c0ffee`, `feedface`)"},
			wantPlots: []string{"bars-tech.svg", "bars-cs.svg", "frontier-tech.svg", "correlation-tech.svg", "correlation-cs.svg", "curve-loss-cs.svg"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tc.fake.write(dir, tc.seeds, tc.ask); err != nil {
				t.Fatal(err)
			}
			res, err := report.Write(dir)
			if err != nil {
				t.Fatal(err)
			}
			if res.Partial != tc.wantPartial {
				t.Errorf("Partial = %v, want %v", res.Partial, tc.wantPartial)
			}
			for _, f := range append([]string{"summary.json", "report.md", "report.html"}, prefix("plots/", tc.wantPlots)...) {
				path := filepath.Join(dir, filepath.FromSlash(f))
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s not written: %v", f, err)
				}
			}
			md := read(t, dir, "report.md")
			for _, s := range tc.wantMD {
				if !strings.Contains(md, s) {
					t.Errorf("report.md lacks %q", s)
				}
			}
			html := read(t, dir, "report.html")
			if !strings.Contains(html, "<svg") {
				t.Error("report.html has no inline SVG")
			}
			if strings.Contains(html, "<script") {
				t.Error("report.html has a script")
			}
			rest := strings.ReplaceAll(html, `xmlns="http://www.w3.org/2000/svg"`, "")
			if strings.Contains(rest, "http://") || strings.Contains(rest, "https://") {
				i := max(strings.Index(rest, "http://"), strings.Index(rest, "https://"))
				t.Errorf("report.html refers to an URL: …%s…", rest[max(0, i-40):min(len(rest), i+60)])
			}
			if strings.Contains(html, "plots/") {
				t.Error("report.html links to plots/ instead of inlining them")
			}
			for _, f := range tc.wantPlots {
				if svg := read(t, dir, "plots/"+f); len(svg) > 200<<10 {
					t.Errorf("plots/%s is %d bytes", f, len(svg))
				}
			}
			if !strings.Contains(res.Headline, "| method | in-domain") {
				t.Errorf("headline:\n%s", res.Headline)
			}
		})
	}
}

// TestDeterministic writes twice (with a stale plot in between) and
// compares every file.
func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	if err := fakeLM().write(dir, []int{1, 2, 3}, []int{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	first, err := report.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, f := range first.Files {
		before[f] = []byte(read(t, dir, mustRel(t, dir, f)))
	}
	stale := filepath.Join(dir, "plots", "gone.svg")
	if err := os.WriteFile(stale, []byte("<svg/>"), 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := report.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Files) != len(first.Files) {
		t.Fatalf("files: %d then %d", len(first.Files), len(second.Files))
	}
	for _, f := range second.Files {
		if got := read(t, dir, mustRel(t, dir, f)); !bytes.Equal([]byte(got), before[f]) {
			t.Errorf("%s differs between two writes", f)
		}
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("a stale plot was left in plots/")
	}
}

func TestWriteErrors(t *testing.T) {
	if _, err := report.Write(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no run records") {
		t.Errorf("empty directory: err = %v", err)
	}
}

// variant is a vision-like fake with the given rows (frontier rows contain
// ":lr=", other "row:variant" names are ablations), out-of-domain boosts,
// per-seed extras added out of domain, and aliases (a row whose values are
// another row's).
func variant(rows []string, b map[string]float64, extra map[string][]float64, alias map[string]string) fake {
	f := fakeVision()
	f.g = &grid.Grid{Family: "vision", Base: "sgd", Metric: "accuracy"}
	for _, n := range rows {
		kind := grid.Main
		switch {
		case strings.Contains(n, ":lr="):
			kind = grid.Frontier
		case strings.Contains(n, ":"):
			kind = grid.Ablation
		}
		f.g.Rows = append(f.g.Rows, row(n, kind))
	}
	f.value = func(r, _, domain string, seed int) float64 {
		x := 0.0
		if e := extra[r]; e != nil && domain != "script" {
			x = e[seed-1]
		}
		if a, ok := alias[r]; ok {
			r = a
		}
		return accuracy(b, r, domain, seed, 0.2) + x
	}
	return f
}

func TestClaims(t *testing.T) {
	sams := []string{"sgd", "sam", "asam", "fsam"}
	samBoost := map[string]float64{"sam": 0.3, "asam": 0.4, "fsam": 0.5}
	with := func(m map[string]float64, kv ...any) map[string]float64 {
		out := map[string]float64{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1].(float64)
		}
		return out
	}
	lmNoAnti := fakeLM()
	lmNoAnti.value = func(row, train, domain string, seed int) float64 {
		if domain == "art" {
			return lmValue(row, train, "cs", seed) + 3
		}
		return lmValue(row, train, domain, seed)
	}
	trams := []string{"sgd", "tram-prev", "tram-x", "tram-theta0", "tram-fisher"}
	regs := []string{"sgd", "trpo", "r3f", "mesa", "asam+trpo", "asam+r3f", "asam+mesa", "tram-x"}
	for _, tc := range []struct {
		name  string
		fake  fake
		claim int
		want  report.Verdict
	}{
		{"1 held: TRAM better on every seed", variant(append(sams, "tram-x"), with(samBoost, "tram-x", 2.0), nil, nil), 1, report.Held},
		{"1 not held: TRAM worse", variant(append(sams, "tram-x"), with(samBoost, "tram-x", -1.0), nil, nil), 1, report.NotHeld},
		// Worse on average but not significantly, and not equivalent: not
		// "not held", which needs equivalence or a significant difference.
		{"1 inconclusive: worse on average, not consistently", variant(append(sams, "tram-x"), with(samBoost, "tram-x", 0.6),
			map[string][]float64{"tram-x": {-2, 1, -1.5, 1}}, nil), 1, report.Inconclusive},
		{"1 inconclusive: better on average, not consistently", variant(append(sams, "tram-x"), with(samBoost, "tram-x", 0.6),
			map[string][]float64{"tram-x": {2, -1, 1.5, -1}}, nil), 1, report.Inconclusive},
		{"1 mixed: the win is the base optimizer's", variant(append(sams, "tram-x"), map[string]float64{"sam": -1, "asam": -1.2, "fsam": -0.8},
			nil, map[string]string{"tram-x": "sgd"}), 1, report.Mixed},
		{"1 not measured: no SAM rows", variant([]string{"sgd", "tram-x"}, map[string]float64{"tram-x": 2}, nil, nil), 1, report.NotMeasured},
		{"2 mixed: combinations beat the base", variant(regs, map[string]float64{"trpo": 0.2, "r3f": 0.3, "mesa": 0.1, "tram-x": 2,
			"asam+trpo": 0.5, "asam+r3f": 0.4, "asam+mesa": 0.6}, nil, nil), 2, report.Mixed},
		{"2 held", variant(regs, map[string]float64{"trpo": 0.2, "r3f": 0.3, "mesa": 0.1, "tram-x": 2,
			"asam+trpo": -1, "asam+r3f": -1.2, "asam+mesa": -0.8}, nil, nil), 2, report.Held},
		{"3 held", variant(trams, map[string]float64{"tram-prev": 2, "tram-x": 1.9, "tram-theta0": 1, "tram-fisher": 0.5}, nil, nil), 3, report.Held},
		{"3 not held", variant(trams, map[string]float64{"tram-prev": 1, "tram-x": 0.9, "tram-theta0": 2, "tram-fisher": 1.9}, nil, nil), 3, report.NotHeld},
		{"3 not measured: no tram-x", variant([]string{"sgd", "tram-prev", "tram-theta0"}, nil, nil, nil), 3, report.NotMeasured},
		{"4 not measured: accuracy", fakeVision(), 4, report.NotMeasured},
		{"4 held: art anticorrelated, tram-x and tram-theta0 below the line", fakeLM(), 4, report.Held},
		{"4 not held: no anticorrelated domain", lmNoAnti, 4, report.NotHeld},
		{"5 held: lower sharpness", fakeVision(), 5, report.Held},
		{"5 not measured: no sharpness", fakeLM(), 5, report.NotMeasured},
		{"6 held: higher CKA", fakeVision(), 6, report.Held},
		// Identical rows are equivalent only with six seeds or more: with no
		// spread, TOST is the exact sign test (2⁻ⁿ), Holm-adjusted.
		{"7 held: KL = MMD > L2", variant([]string{"sgd", "tram-x", "tram-x:mmd", "tram-x:l2"},
			map[string]float64{"tram-x": 2, "tram-x:l2": 1}, nil, map[string]string{"tram-x:mmd": "tram-x"}), 7, report.Held},
		{"8 not held: nograd identical", variant([]string{"sgd", "tram-prev", "tram-prev:nograd"},
			map[string]float64{"tram-prev": 2}, nil, map[string]string{"tram-prev:nograd": "tram-prev"}), 8, report.NotHeld},
		{"8 held: nograd worse", variant([]string{"sgd", "tram-prev", "tram-prev:nograd"},
			map[string]float64{"tram-prev": 2, "tram-prev:nograd": 1}, nil, nil), 8, report.Held},
		{"9 held: gain without dropout", variant([]string{"sgd", "tram-prev", "sgd:dropout", "tram-prev:dropout"},
			map[string]float64{"tram-prev": 1, "sgd:dropout": 0.5, "tram-prev:dropout": 2}, nil, nil), 9, report.Held},
		{"9 not measured", fakeVision(), 9, report.NotMeasured},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seeds := []int{1, 2, 3, 4}
			if tc.claim == 7 || tc.claim == 8 {
				seeds = []int{1, 2, 3, 4, 5, 6, 7, 8}
			}
			s := grid.Summarize(tc.fake.g, tc.fake.records(seeds))
			c := report.Claims(s)[tc.claim-1]
			if c.Number != tc.claim {
				t.Fatalf("claim %d in place %d", c.Number, tc.claim)
			}
			if c.Verdict != tc.want {
				t.Errorf("claim %d: %s, want %s\n  %s", c.Number, c.Verdict, tc.want, strings.Join(c.Evidence, "\n  "))
			}
			if len(c.Evidence) == 0 {
				t.Error("no evidence")
			}
		})
	}
}

func TestHeadline(t *testing.T) {
	f := fakeVision()
	s := grid.Summarize(f.g, f.records([]int{1, 2, 3}))
	h := report.Headline(s)
	for _, want := range []string{"Training domain **script**", "| method | in-domain (script) | OOD avg | vs sgd | n |",
		"| tram-prev | **91.", "| *frontier rows* |"} {
		if !strings.Contains(h, want) {
			t.Errorf("headline lacks %q:\n%s", want, h)
		}
	}
}

func read(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustRel(t *testing.T, dir, path string) string {
	t.Helper()
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(rel)
}

func prefix(p string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = p + n
	}
	return out
}

// One seed tests nothing: a claim whose rows share a single seed is not
// measured, however large the difference.
func TestOneSeedDecidesNothing(t *testing.T) {
	for _, tc := range []struct {
		claim int
		fake  fake
	}{
		{1, variant([]string{"sgd", "sam", "tram-x"}, map[string]float64{"sam": 0.3, "tram-x": 2}, nil, nil)},
		{7, variant([]string{"sgd", "tram-x", "tram-x:mmd", "tram-x:l2"},
			map[string]float64{"tram-x": 2, "tram-x:l2": 1}, nil, map[string]string{"tram-x:mmd": "tram-x"})},
	} {
		s := grid.Summarize(tc.fake.g, tc.fake.records([]int{1}))
		c := report.Claims(s)[tc.claim-1]
		if c.Verdict != report.NotMeasured {
			t.Errorf("claim %d on one seed: %s, want %s\n  %s", tc.claim, c.Verdict, report.NotMeasured, strings.Join(c.Evidence, "\n  "))
		}
	}
}

// TestHolmFamily: Claims adjusts every comparison of a report as one
// family: adjusted p-values are never below the raw ones, some are above,
// and the rows' comparisons with the base row take part.
func TestHolmFamily(t *testing.T) {
	f := fakeVision()
	s := grid.Summarize(f.g, f.records([]int{1, 2, 3, 4}))
	report.Claims(s)
	if len(s.Comparisons) == 0 {
		t.Fatal("no comparisons recorded in the summary")
	}
	raised := 0
	check := func(what string, c grid.Comparison) {
		if math.IsNaN(c.P) {
			return
		}
		if c.PHolm < c.P {
			t.Errorf("%s: Holm p %g below raw p %g", what, c.PHolm, c.P)
		}
		if c.PHolm > c.P {
			raised++
		}
	}
	for _, c := range s.Comparisons {
		check(c.A+" − "+c.B, c.Comparison)
	}
	for _, r := range s.Tables[0].Rows {
		if r.Row != s.Base {
			check(r.Row+" vs base", r.VsBaseOOD)
		}
	}
	if raised == 0 {
		t.Error("no p-value was adjusted")
	}
}

// TestWriteCross: the cross-cell report of two studies has one column per
// training domain, every claim's verdict, the advantage plot and the JSON,
// and is the same when written twice.
func TestWriteCross(t *testing.T) {
	root := t.TempDir()
	vis, lm := filepath.Join(root, "vision"), filepath.Join(root, "lm")
	if err := fakeVision().write(vis, []int{1, 2, 3}, []int{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := fakeLM().write(lm, []int{1, 2, 3}, []int{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "cross")
	res, err := report.WriteCross(out, []string{vis, lm})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cells) < 2 || res.Cells[0].BestTRAM == "" || res.Cells[0].VsBase == nil {
		t.Fatalf("cells %+v", res.Cells)
	}
	md, err := os.ReadFile(filepath.Join(out, "cross.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| claim | ", "1. TRAM beats SAM/ASAM/FSAM out of domain", "TRAM vs the best robust fine-tuning baseline", "plots/advantage.svg"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("cross.md lacks %q:\n%s", want, md)
		}
	}
	svg1, _ := os.ReadFile(filepath.Join(out, "plots", "advantage.svg"))
	if _, err := report.WriteCross(out, []string{vis, lm}); err != nil {
		t.Fatal(err)
	}
	svg2, _ := os.ReadFile(filepath.Join(out, "plots", "advantage.svg"))
	if len(svg1) == 0 || !bytes.Equal(svg1, svg2) {
		t.Error("the advantage plot is missing or differs between two writes")
	}
}
