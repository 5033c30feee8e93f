package grid

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/tramlab/tram/family"
	"github.com/tramlab/tram/sharp"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestGridsAreValid: every row names a real method, names are unique, and
// every family has its base row, at least one frontier row and one
// zero-shot row, which takes no fine-tuning step.
func TestGridsAreValid(t *testing.T) {
	for fam, g := range Families {
		seen := map[string]bool{}
		base, frontier, zero := false, false, 0
		for _, r := range g.Rows {
			if seen[r.Name] {
				t.Errorf("%s: row %s twice", fam, r.Name)
			}
			seen[r.Name] = true
			if _, err := sharp.NewMethod(r.Method, sharp.DefaultOptions(r.Method)); err != nil {
				t.Errorf("%s: row %s: %v", fam, r.Name, err)
			}
			base = base || r.Name == g.Base
			frontier = frontier || r.Kind == Frontier
			if r.Kind == ZeroShot {
				zero++
				if r.Flags["steps"] != "0" {
					t.Errorf("%s: zero-shot row %s takes %q steps", fam, r.Name, r.Flags["steps"])
				}
			}
			if r.Kind != ZeroShot && r.Kind != Main && r.Kind != Frontier && r.Kind != Ablation {
				t.Errorf("%s: row %s has kind %q", fam, r.Name, r.Kind)
			}
		}
		if !base || !frontier || zero != 1 {
			t.Errorf("%s: base row %v, frontier rows %v, %d zero-shot rows (want 1)", fam, base, frontier, zero)
		}
	}
}

func TestSelectAndRuns(t *testing.T) {
	g := Families["lm"]
	rows, err := g.Select("adamw,frontier")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Name != "adamw" || rows[1].Kind != Frontier {
		t.Fatalf("Select(adamw,frontier) = %v", rows)
	}
	if _, err := g.Select("adamw,nosuch"); err == nil || !strings.Contains(err.Error(), `no row "nosuch"`) {
		t.Errorf("unknown row: %v", err)
	}
	runs := g.Runs(rows, g.Domains, []int{1, 2})
	if len(runs) != 12 || runs[0].Seed != 1 || runs[len(runs)-1].Seed != 2 {
		t.Fatalf("runs are seed-major: %v", runs)
	}
	if id := runs[1].ID(); id != "adamw_lr=0.001.scripture.s1" {
		t.Errorf("ID = %q", id)
	}
	f := g.FinetuneFlags(runs[1])
	if f["lr"] != "0.001" || f["method"] != "adamw" || f["seed"] != "1" || f["domain"] != "scripture" {
		t.Errorf("FinetuneFlags = %v", f)
	}
	if x := Families["xling"].FinetuneFlags(Run{Row: Row{Name: "adamw:nowarmup", Method: "adamw", Flags: map[string]string{"head-warmup": "0"}}, Seed: 1}); x["head-warmup"] != "0" {
		t.Errorf("a row's flag overrides the grid's: %v", x)
	}
}

func TestStatistics(t *testing.T) {
	e := Estimated([]float64{1, 2, 3}, []int{1, 2, 3})
	// t(0.975, 2) = 4.302653; sd = 1; half-width 4.302653/√3.
	if !near(e.Mean, 2, 1e-12) || !near(e.CI95, 4.302653/math.Sqrt(3), 1e-5) {
		t.Errorf("Estimated = %+v", e)
	}
	a := Estimated([]float64{10, 12, 11, 13}, []int{1, 2, 3, 4})
	b := Estimated([]float64{9, 10, 10, 11}, []int{1, 2, 3, 4})
	p := PairedTest(a, b, true)
	// differences 1, 2, 1, 2: mean 1.5, sd 0.57735, t = 5.196, dof 3 → p = 0.01385.
	if !near(p.Diff.Mean, 1.5, 1e-12) || !near(p.P, 0.013847, 1e-5) || p.Wins != 4 || p.Losses != 0 {
		t.Errorf("PairedTest = %+v", p)
	}
	if q := PairedTest(a, b, false); q.Wins != 0 || q.Losses != 4 {
		t.Errorf("lower is better: %+v", q)
	}
	// Every seed differing by the same amount: the exact sign test, 2·2⁻ⁿ.
	for n, want := range map[int]float64{2: 0.5, 3: 0.25, 5: 0.0625, 6: 0.03125} {
		seeds := []int{1, 2, 3, 4, 5, 6}[:n]
		x, y := make([]float64, n), make([]float64, n)
		for i := range x {
			x[i], y[i] = float64(i)+0.5, float64(i)
		}
		if q := PairedTest(Estimated(x, seeds), Estimated(y, seeds), true); !near(q.P, want, 1e-12) {
			t.Errorf("%d seeds all +0.5: p = %v, want %v", n, q.P, want)
		}
	}
	if q := PairedTest(a, a, true); !math.IsNaN(q.P) {
		t.Errorf("identical rows: p = %v, want NaN", q.P)
	}
	rho, pv := Pearson([]float64{1, 2, 3, 4}, []float64{2, 4, 6, 8.5})
	if rho < 0.99 || pv > 0.01 {
		t.Errorf("Pearson = %v, %v", rho, pv)
	}
	l := Fit([]float64{0, 1, 2}, []float64{1, 3, 5})
	if !near(l.Intercept, 1, 1e-12) || !near(l.Slope, 2, 1e-12) {
		t.Errorf("Fit = %+v", l)
	}
	pts := []Point{{In: 90, Out: 80}, {In: 94, Out: 78}, {In: 92, Out: 79.5}}
	for _, c := range []struct {
		in, want float64
		outside  bool
	}{{91, 79.75, false}, {93, 78.75, false}, {95, 77.25, true}, {88, 80.5, true}} {
		got, outside := Interpolate(pts, c.in)
		if !near(got, c.want, 1e-9) || outside != c.outside {
			t.Errorf("Interpolate(%v) = %v, %v; want %v, %v", c.in, got, outside, c.want, c.outside)
		}
	}
	raw, err := json.Marshal(Estimated(nil, nil))
	if err != nil || !strings.Contains(string(raw), `"mean":null`) {
		t.Errorf("NaN must marshal as null: %s, %v", raw, err)
	}
}

func acc(d string, v float64) family.DomainResult {
	a := v / 100
	return family.DomainResult{Domain: d, Accuracy: &a}
}

// TestSummarize: OOD average without the saturated domain, paired
// difference to the base row, and the frontier gain.
func TestSummarize(t *testing.T) {
	g := Families["vision"]
	rec := func(row, kind string, seed int, in, sat, ood float64) Record {
		return Record{Family: "vision", Row: row, Method: strings.Split(row, ":")[0], Kind: kind, Domain: "script", Seed: seed,
			Flags:   map[string]string{"domain": "script"},
			Metrics: []family.DomainResult{acc("print", sat), acc("script", in), acc("segment", ood), acc("uci", ood+2)}}
	}
	var recs []Record
	for s := 1; s <= 3; s++ {
		o := float64(s)
		recs = append(recs,
			rec("sgd", Main, s, 94, 99.5, 60+o),
			rec("sgd:lr=0.01", Frontier, s, 92, 99.6, 62+o),
			rec("tram-theta0", Main, s, 93, 99.4, 63+o))
	}
	sum := Summarize(g, recs)
	if len(sum.Tables) != 1 {
		t.Fatalf("%d tables", len(sum.Tables))
	}
	tab := sum.Tables[0]
	if tab.Domains[0] != "script" || len(tab.Saturated) != 1 || tab.Saturated[0] != "print" {
		t.Fatalf("domains %v, saturated %v", tab.Domains, tab.Saturated)
	}
	var tram RowSummary
	for _, r := range tab.Rows {
		if r.Row == "tram-theta0" {
			tram = r
		}
	}
	// OOD avg = mean(segment, uci) = 64+s; base 61+s: +3 in every seed.
	if !near(tram.OOD.Mean, 66, 1e-9) || !near(tram.VsBaseOOD.Diff.Mean, 3, 1e-9) || tram.VsBaseOOD.Wins != 3 {
		t.Errorf("tram-theta0: OOD %+v, vs base %+v", tram.OOD, tram.VsBaseOOD)
	}
	// Frontier through (92, 63+s) and (94, 61+s): at 93 it is 62+s, and
	// the row reaches 64+s: a gain of +2.
	if !near(tram.Frontier.Mean, 2, 1e-9) || tram.FrontierOutside != 0 {
		t.Errorf("frontier gain %+v (outside %d)", tram.Frontier, tram.FrontierOutside)
	}
}
