// Package report turns the directory a grid run writes (`tram reproduce`)
// into a report a person can read and check: it recomputes summary.json
// from the run records with grid.Summarize, and writes report.md (for
// reading on a forge), report.html (one self-contained page: the SVG
// inlined, inline CSS, no scripts, nothing fetched) and plots/*.svg.
//
// The report holds the paper's tables (one per training domain, mean ± 95%
// interval over seeds), paired comparisons by seed (the best TRAM row
// against the best other row, every row against the base optimizer, the
// gain over the base optimizer's in-domain/out-of-domain frontier),
// training curves from the step logs, per-domain bar charts, the frontier,
// the Figure-2 correlation plots for perplexity, ε-sharpness and CKA, and a
// verdict on each of the paper's claims computed from the numbers (see
// Claims). The same directory always gives byte-identical report.md,
// report.html and summary.json.
//
// The directory holds:
//
//	grid.json          the grid that was run, its "seed_list" and "commands"
//	machine.json       the machine, version, threads (optional)
//	runs/ID.json       one grid.Record per run
//	runs/ID.log.jsonl  the run's step log
//	summary.json       grid.Summary, rewritten by Write
package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/grid"
)

// Result lists what Write wrote.
type Result struct {
	// Files are the paths written (DIR/summary.json, DIR/report.md,
	// DIR/report.html, DIR/plots/NAME.svg), in that order.
	Files []string
	// Headline is the headline table in Markdown (see Headline).
	Headline string
	// Runs counts the records read; Expected the runs grid.json asks for
	// (rows × training domains × seeds; 0 when unknown) and Missing those
	// of them without a record yet. Partial is Missing > 0.
	Runs, Expected, Missing int
	Partial                 bool
	// Claims are the verdicts of the report's Claims section.
	Claims []Claim
}

// Write reads the grid directory dir, recomputes dir/summary.json from its
// records and writes dir/report.md, dir/report.html and dir/plots/*.svg
// (plots of an earlier report that this one no longer draws are removed).
// Every file is written atomically.
func Write(dir string) (*Result, error) {
	in, err := read(dir)
	if err != nil {
		return nil, err
	}
	// The claims first: they complete the summary's comparisons (Holm)
	// that the headline's verdicts read.
	res := &Result{Runs: len(in.recs), Expected: len(in.expected), Missing: len(in.missing), Claims: Claims(in.sum)}
	res.Headline = Headline(in.sum)
	res.Partial = res.Missing > 0
	js, err := json.MarshalIndent(in.sum, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("summary.json: %w", err)
	}
	d, figs := build(in, res.Claims)
	// The plots first, so that the reports never link to a missing one.
	if err := os.MkdirAll(filepath.Join(dir, "plots"), 0o755); err != nil {
		return nil, err
	}
	var plots []string
	keep := map[string]bool{}
	for _, f := range figs {
		path := filepath.Join(dir, "plots", f.name)
		if err := writeFile(path, f.svg); err != nil {
			return nil, err
		}
		plots = append(plots, path)
		keep[f.name] = true
	}
	title := fmt.Sprintf("TRAM grid report: %s", in.g.Family)
	for _, f := range []struct {
		name string
		data []byte
	}{{"summary.json", append(js, '\n')}, {"report.md", d.markdown()}, {"report.html", d.html(title)}} {
		path := filepath.Join(dir, f.name)
		if err := writeFile(path, f.data); err != nil {
			return nil, err
		}
		res.Files = append(res.Files, path)
	}
	res.Files = append(res.Files, plots...)
	old, _ := filepath.Glob(filepath.Join(dir, "plots", "*.svg"))
	for _, f := range old {
		if !keep[filepath.Base(f)] {
			os.Remove(f)
		}
	}
	return res, nil
}

func writeFile(path string, data []byte) error {
	return checkpoint.WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// gridFile is grid.json (as `tram reproduce` writes it): the grid that was
// run (its rows: the union of every invocation's), the seeds run, and the
// commands. "seeds" may also be the list of seeds (it hides the grid's
// default count then).
type gridFile struct {
	grid.Grid
	Seeds    json.RawMessage `json:"seeds"`
	SeedList []int           `json:"seed_list"`
	Command  string          `json:"command"`
	Commands []string        `json:"commands"`
	Quick    bool            `json:"quick"`
	Model    string          `json:"model"`
	Data     string          `json:"data"`
}

// input is a grid directory read into memory.
type input struct {
	dir     string
	g       *grid.Grid
	hasGrid bool // grid.json was read
	file    gridFile
	seeds   []int // the seeds grid.json asks for; nil when unknown
	machine map[string]any
	recs    []grid.Record
	sum     *grid.Summary
	// expected are the runs grid.json asks for, missing those without a
	// record.
	expected, missing []grid.Run
}

func read(dir string) (*input, error) {
	in := &input{dir: dir}
	if st, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	path := filepath.Join(dir, "grid.json")
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		var gf gridFile
		if err := json.Unmarshal(raw, &gf); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		in.g, in.hasGrid, in.file = &gf.Grid, true, gf
		in.seeds = gf.SeedList
		if in.seeds == nil {
			if in.seeds, err = parseSeeds(gf.Seeds); err != nil {
				return nil, fmt.Errorf("%s: seeds: %w", path, err)
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		in.g = &grid.Grid{}
	default:
		return nil, err
	}
	if in.recs, err = grid.ReadRecords(dir, in.g); err != nil {
		return nil, err
	}
	if len(in.recs) == 0 {
		return nil, fmt.Errorf("%s: no run records (runs/*.json)", dir)
	}
	if in.g.Family == "" {
		in.g.Family = in.recs[0].Family
	}
	// Fill what grid.json lacks (or the whole grid) from the family's.
	if def, ok := grid.Families[in.g.Family]; ok {
		if !in.hasGrid {
			g := *def
			in.g = &g
			if in.recs, err = grid.ReadRecords(dir, in.g); err != nil {
				return nil, err
			}
		}
		if in.g.Metric == "" {
			in.g.Metric = def.Metric
		}
		if in.g.Base == "" {
			in.g.Base = def.Base
		}
	} else if !in.hasGrid {
		return nil, fmt.Errorf("%s: no grid.json, and the records' family %q has no built-in grid", dir, in.g.Family)
	}
	if in.g.Metric == "" {
		return nil, fmt.Errorf("%s: grid.json names no metric", path)
	}
	if in.hasGrid && in.seeds != nil {
		in.expected = in.g.Runs(in.g.Rows, in.g.Domains, in.seeds)
		// Without training domains in the grid, a record names the
		// recipe's own (Record.Domain) where the run has "".
		domain := func(d string) string {
			if len(in.g.Domains) == 0 {
				return ""
			}
			return d
		}
		have := map[string]bool{}
		for _, r := range in.recs {
			have[runKey(r.Row, r.Regime+"|"+domain(r.Domain), r.Seed)] = true
		}
		for _, r := range in.expected {
			if !have[runKey(r.Row.Name, r.Regime+"|"+domain(r.Domain), r.Seed)] {
				in.missing = append(in.missing, r)
			}
		}
	}
	raw, err = os.ReadFile(filepath.Join(dir, "machine.json"))
	switch {
	case err == nil:
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&in.machine); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "machine.json"), err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	in.sum = grid.Summarize(in.g, in.recs)
	trials, err := grid.ReadTrials(dir, in.g)
	if err != nil {
		return nil, err
	}
	in.sum.Tuning = grid.SummarizeTuning(in.g, trials)
	return in, nil
}

func runKey(row, domain string, seed int) string {
	return row + "\x00" + domain + "\x00" + strconv.Itoa(seed)
}

// parseSeeds reads grid.json's seeds: a list, or a count n (seeds 1…n).
func parseSeeds(raw json.RawMessage) ([]int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []int
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, fmt.Errorf("want a list of seeds or a count: %s", raw)
	}
	list = make([]int, n)
	for i := range list {
		list[i] = i + 1
	}
	return list, nil
}

// machineLine formats machine.json: the known keys in a fixed order, then
// the others sorted.
func machineLine(m map[string]any) string {
	known := []struct{ key, label string }{{"cpu", "CPU"}, {"cores", "cores"}, {"os", "OS"}, {"go", "Go"}}
	var parts []string
	for _, k := range known {
		if v, ok := m[k.key]; ok {
			parts = append(parts, fmt.Sprintf("%s %v", k.label, v))
		}
	}
	skip := map[string]bool{"cpu": true, "cores": true, "os": true, "go": true, "tram_version": true,
		"tram_commit": true, "threads": true, "jobs": true, "host": true}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !skip[k] {
			parts = append(parts, fmt.Sprintf("%s %v", k, m[k]))
		}
	}
	return strings.Join(parts, ", ")
}

// distinct returns the distinct non-empty values of f over the records, in
// sorted order.
func distinct(recs []grid.Record, f func(grid.Record) string) []string {
	set := map[string]bool{}
	for _, r := range recs {
		if v := f(r); v != "" {
			set[v] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// fileSafe is the run IDs' rule for file names.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._+=-", r):
			return r
		}
		return '_'
	}, s)
}
