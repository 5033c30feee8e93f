package reproduce

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tramlab/tram/family"
	"github.com/tramlab/tram/grid"
)

// TestEveryGridRowParses: every row of every grid, with the recipe, is a
// valid tram finetune command line (flags, values, method options),
// with and without --quick.
func TestEveryGridRowParses(t *testing.T) {
	dir := t.TempDir()
	for _, fam := range family.Names {
		for _, quick := range []bool{false, true} {
			g := *grid.Families[fam]
			r := &reproducer{g: &g, model: "pretrained/" + fam, data: dir, out: dir, quick: quick, saveEvery: 25}
			domains := g.Domains
			if len(domains) == 0 {
				domains = []string{""}
			}
			for _, run := range g.Runs(g.Rows, domains, []int{1}) {
				f, err := r.parse(run)
				if err == nil {
					err = f.Validate()
				}
				if err != nil {
					t.Errorf("%s (quick %v): %v", run.ID(), quick, err)
				}
			}
		}
	}
}

// TestCommittedRecordsMatchStudies: every committed run record
// (results/FAMILY/runs/*.json) was made with exactly the tram finetune
// flags that the embedded study gives its row, seed and training domain
// today, so `tram reproduce FAMILY` reruns the committed runs (and skips
// them as finished) rather than different ones.
func TestCommittedRecordsMatchStudies(t *testing.T) {
	for _, fam := range family.Names {
		dir := filepath.Join("..", "results", fam)
		g := *grid.Families[fam]
		recs, err := grid.ReadRecords(dir, &g)
		if err != nil || len(recs) == 0 {
			t.Skipf("no committed %s records (%v)", fam, err)
		}
		r := &reproducer{g: &g, model: "pretrained/" + fam, data: t.TempDir(), out: dir, saveEvery: 25, study0: &g}
		for _, rec := range recs {
			row, ok := g.Row(rec.Row)
			if !ok {
				t.Errorf("%s: record of row %s, which the study lacks", fam, rec.Row)
				continue
			}
			domain := ""
			if len(g.Domains) > 0 {
				domain = rec.Domain
			}
			run := grid.Run{Row: row, Domain: domain, Seed: rec.Seed}
			if done, err := r.finished(run); err != nil || !done {
				t.Errorf("%s %s: finished %v, %v", fam, run.ID(), done, err)
			}
		}
	}
}

// TestStudyFilesParse: every study file of the repository (studies/*.yaml,
// docs/examples/*.yaml) loads, and every run it would make — tuning
// trials and evaluation runs at each candidate — has valid flags.
func TestStudyFilesParse(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "studies", "*.yaml"))
	more, _ := filepath.Glob(filepath.Join("..", "docs", "examples", "*.yaml"))
	files = append(files, more...)
	if len(files) == 0 {
		t.Fatal("no study files found")
	}
	dir := t.TempDir()
	for _, file := range files {
		g, err := grid.LoadStudy(file)
		if err != nil {
			t.Error(err)
			continue
		}
		if u := g.UserData; u != nil {
			// The data are the user's, absent here: every path must lie in
			// the repository (written relative to the study file), and
			// stand-ins that exist take their place for the flags' check.
			c := *u
			c.Tests = slices.Clone(u.Tests)
			for _, p := range append([]*string{&c.Train, &c.Valid}, testPaths(c.Tests)...) {
				if *p == "" {
					continue
				}
				if rel := filepath.Clean(*p); filepath.IsAbs(rel) || strings.HasPrefix(rel, filepath.Join("..", "..")) {
					t.Errorf("%s: data path %s lies outside the repository", file, *p)
				}
				*p = dir
			}
			g.UserData = &c
		}
		r := &reproducer{g: g, model: "pretrained/" + g.Family, data: dir, out: dir, saveEvery: 25, study: file}
		r.rows, r.seeds, r.domains = g.Rows, []int{1}, g.Domains
		if g.Tuning != nil {
			r.tuneSeeds = g.Tuning.Seeds
		}
		if err := r.checkAll(r.trialRuns()); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}

func testPaths(tests []grid.TestSet) []*string {
	var out []*string
	for i := range tests {
		out = append(out, &tests[i].Path)
	}
	return out
}
