package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/eval"
	"github.com/tramlab/tram/family"
	"github.com/tramlab/tram/grid"
	"github.com/tramlab/tram/internal/gemm"
	"github.com/tramlab/tram/internal/parallel"
	"github.com/tramlab/tram/wiseft"
)

func init() {
	register(&command{name: "reproduce", summary: "run a family's grid of methods × seeds and write results and a report", run: runReproduce})
}

// quickFlags shrink every run of a --quick grid; quickEval its evaluation.
var quickFlags = map[string]string{"steps": "6", "batch-size": "8", "eval-every": "3", "warmup": "1"}

const quickSeeds = 2

// gridFile is DIR/grid.json: the grid a directory holds (the union of the
// rows and seeds of every invocation that wrote into it) and how it was
// run.
type gridFile struct {
	grid.Grid
	SeedList []int    `json:"seed_list"`
	Quick    bool     `json:"quick"`
	Model    string   `json:"model"`
	Data     string   `json:"data"`
	Command  string   `json:"command"`
	Commands []string `json:"commands"`
}

type reproducer struct {
	g                  *grid.Grid
	rows               []grid.Row
	seeds              []int
	tuneSeeds          []int // the tuning seeds to run (none: no tuning)
	domains            []string
	model, data, out   string
	quick              bool
	jobs, threads      int
	saveEvery          int
	keepModels, worker bool
	allowDirty         bool
	// study is the study file (""": a family's embedded study); study0 the
	// study as read, before --set and --quick.
	study  string
	study0 *grid.Grid
	// trial restricts a worker to one tuning trial (Row.TrialName).
	trial  string
	stderr io.Writer
	// executor is "local" (this machine) or "slurm" (a job array; see
	// slurm.go), with slurm's options.
	executor string
	slurm    slurmOptions
	args     []string // the command line, for grid.json
}

func runReproduce(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reproduce", "vision|lm|xling | --study FILE  [--methods all|ROW,...] [--seeds N | --seed S] [--data DIR] [--quick] [--out DIR] [--jobs N] [flags]",
		"Runs a study: every row (a method and its settings, on top of the family's recipe,\n"+
			"recipes/FAMILY.yaml) × regimes × training domains × seeds, each run fine-tuned from the\n"+
			"pretrained model and evaluated on every domain of the family, then writes summary.json and\n"+
			"the report (report.md, report.html; see tram report). For a seed, every row sees the same data\n"+
			"order, new-head initialization and evaluation examples, so comparisons are paired by seed.\n"+
			"vision, lm and xling are the paper's three studies (grid/studies/FAMILY.yaml, embedded);\n"+
			"--study FILE runs a study file of your own (format: docs/STUDIES.md), which may tune its rows\n"+
			"(every candidate at the tuning seeds first, chosen on the training domain's validation loss,\n"+
			"then the evaluation seeds), evaluate WiSE-FT points of the base runs, and name regimes.\n\n"+
			"Rows (--methods; also all, zeroshot, main, frontier, ablation):\n"+rowsHelp()+"\n"+
			"Resumable: finished runs (DIR/runs/ID.json) are skipped and an interrupted run resumes from its\n"+
			"snapshot (DIR/state/ID.model.partial), so after Ctrl-C or kill -9 rerunning the same command\n"+
			"gives the same numbers. A single run reruns alone with --methods ROW --seed S (and --train-domain\n"+
			"D for lm) and the same --threads; its record holds that command. Results record the thread\n"+
			"count: numbers are bit-identical for the same seed and thread count.\n\n"+
			"DIR holds: grid.json (the grid and the commands), machine.json, runs/ID.json (one per run:\n"+
			"row, method, seed, every fine-tuning flag, per-domain metrics, wall times, threads, backend,\n"+
			"version), runs/ID.log.jsonl (the step log), summary.json (mean, 95% CI and n per row and\n"+
			"domain; paired tests), report.md, report.html and plots/.", stderr)
	var r0 reproducer
	methods := fs.String("methods", "all", "rows to run: all, zeroshot, main, frontier, ablation, or comma-separated row names (see above)")
	seeds := fs.Int("seeds", 0, "run seeds 1…N (default: the family's, 5 for vision and xling, 3 for lm; --quick: 2)")
	seed := fs.Int("seed", 0, "run this one seed only (≥ 1) instead of 1…N")
	trainDomain := fs.String("train-domain", "", "training domain: lm, one of the grid's two (default both); vision, any digit domain of\n"+
		"--data (default the recipe's, script); xling: en")
	dataDir := fs.String("data", data.DefaultOutDir(), "`DIR` that `tram data build` (or `tram data demo`) wrote")
	model := fs.String("model", "", "pretrained model `DIR` (default pretrained/FAMILY)")
	out := fs.String("out", "", "output `DIR` (default results/FAMILY, or results/FAMILY-quick with --quick)")
	quick := fs.Bool("quick", false, "the same pipeline, tiny: "+quickDesc()+", 2 seeds; for checking the\nmachinery (minutes), not for results")
	jobs := fs.Int("jobs", 0, "runs side by side, each a child process of this binary (default: cores / --threads)")
	threads := fs.Int("threads", 1, "kernel threads per run; part of what makes a run's numbers (bit-identical for the same\nseed and thread count)")
	saveEvery := fs.Int("save-every", 25, "snapshot each run every N steps (≥ 1) so that an interrupted run loses at most N steps")
	keep := fs.Bool("keep-models", false, "keep each fine-tuned model in DIR/models/ID (default: deleted once evaluated)")
	executor := fs.String("executor", "local", "where the runs go: local (this machine, --jobs at a time) or slurm (one Slurm job-array task\nper unfinished run; see the slurm flags below)")
	slurmFlags(fs, &r0.slurm)
	var sets setFlags
	fs.Var(&sets, "set", "`FLAG=VALUE`: set a `tram finetune` flag for every run, over the recipe and under each row's\n"+
		"own (repeatable; e.g. --set steps=60); recorded in grid.json and in every run's flags")
	allowDirty := fs.Bool("allow-dirty", false, "run even though this binary was built from a modified working tree (its records then name a\ncommit no one can check out: fine for trying things, not for results to commit)")
	regime := fs.String("regime", "", "run this regime of the study only (default: every regime)")
	studyFile := fs.String("study", "", "run the study `FILE` (YAML; docs/STUDIES.md) instead of a family's embedded one")
	trial := fs.String("trial", "", "run only this tuning trial (ROW:FLAG=VALUE…, as the tuning table names it): what executors\nuse for each child run of a tuning")
	worker := fs.Bool("no-report", false, "run the selected runs only, without grid.json, summary or report (what executors use\nfor each child run)")
	fam, err := parseStudyFlags(fs, args)
	if err != nil {
		return err
	}
	if *executor != "local" && *executor != "slurm" {
		return fmt.Errorf("--executor %q: valid: local, slurm", *executor)
	}
	if err := r0.slurm.check(*executor); err != nil {
		return err
	}
	var g0 *grid.Grid
	switch {
	case *studyFile != "" && fam != "":
		return fmt.Errorf("name a family (%s) or give --study FILE, not both", strings.Join(family.Names, ", "))
	case *studyFile != "":
		if g0, err = grid.LoadStudy(*studyFile); err != nil {
			return fmt.Errorf("--study %w", err)
		}
		fam = g0.Family
	case fam == "":
		return errors.New("name the family first (tram reproduce vision|lm|xling [flags]), or give --study FILE")
	default:
		var ok bool
		if g0, ok = grid.Families[fam]; !ok {
			return fmt.Errorf("unknown family %q; valid: %s (or --study FILE)", fam, strings.Join(family.Names, ", "))
		}
	}
	g := *g0
	g.Flags = maps.Clone(g.Flags)
	if g.Flags == nil {
		g.Flags = map[string]string{}
	}
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimPrefix(k, "--")
		if !ok || k == "" {
			return fmt.Errorf("--set %q: want FLAG=VALUE, e.g. --set steps=60", kv)
		}
		switch k {
		case "method", "model", "data", "out", "log", "seed", "config", "save-every", "domain":
			return fmt.Errorf("--set %s: set by tram reproduce itself (use --methods, --model, --data, --out, --seed, --train-domain)", k)
		}
		g.Flags[k] = v
	}
	switch {
	case *seeds < 0:
		return fmt.Errorf("--seeds %d: must be ≥ 1", *seeds)
	case *seed < 0:
		return fmt.Errorf("--seed %d: seeds are numbered from 1", *seed)
	case *seed > 0 && *seeds > 0:
		return errors.New("--seed and --seeds exclude each other")
	case *threads < 1:
		return fmt.Errorf("--threads %d: must be ≥ 1", *threads)
	case *jobs < 0:
		return fmt.Errorf("--jobs %d: must be ≥ 1 (or 0 for cores / --threads)", *jobs)
	case *saveEvery < 1:
		return fmt.Errorf("--save-every %d: must be ≥ 1", *saveEvery)
	}
	r := &r0
	*r = reproducer{g: &g, slurm: r0.slurm, executor: *executor, args: args, model: *model, data: *dataDir, out: *out, quick: *quick, jobs: *jobs, threads: *threads,
		saveEvery: *saveEvery, keepModels: *keep, worker: *worker, allowDirty: *allowDirty, stderr: stderr,
		study: *studyFile, study0: g0, trial: *trial}
	if r.model == "" {
		r.model = cmp.Or(g.Model, filepath.Join("pretrained", fam))
	}
	if r.out == "" {
		r.out = filepath.Join("results", fam)
		if r.quick {
			r.out += "-quick"
		}
	}
	if r.jobs == 0 {
		r.jobs = max(1, runtime.NumCPU() / *threads)
	}
	if r.rows, err = g.Select(*methods); err != nil {
		return err
	}
	n := g.Seeds
	if r.quick {
		n = quickSeeds
		g.Eval = quickEval(g.Eval)
	}
	if *seeds > 0 {
		n = *seeds
	}
	for s := 1; s <= n; s++ {
		r.seeds = append(r.seeds, s)
	}
	if g.Tuning != nil {
		r.tuneSeeds = g.Tuning.Seeds
		if r.quick {
			r.tuneSeeds = r.tuneSeeds[:1]
			g.Tuning = &grid.Tuning{Seeds: r.tuneSeeds}
		}
		if slices.ContainsFunc(r.seeds, func(s int) bool { return slices.Contains(r.tuneSeeds, s) }) {
			return fmt.Errorf("--seeds %d: the evaluation seeds 1…%d would include tuning seeds %v: keep them disjoint", n, n, r.tuneSeeds)
		}
	}
	if *seed > 0 {
		r.seeds = []int{*seed}
		if slices.Contains(r.tuneSeeds, *seed) {
			r.seeds, r.tuneSeeds = nil, []int{*seed} // one tuning seed alone
		} else {
			r.tuneSeeds = nil
		}
	}
	if *regime != "" {
		reg, ok := g.Regime(*regime)
		if !ok {
			return fmt.Errorf("--regime %q: the study has regimes %s", *regime, strings.Join(g.RegimeNames(), ", "))
		}
		g.Regimes = []grid.Regime{reg}
	}
	if r.trial != "" && !r.worker {
		return errors.New("--trial is for the child runs of an executor (with --no-report)")
	}
	r.domains = g.Domains
	if *trainDomain != "" {
		if len(g.Domains) > 0 && !slices.Contains(g.Domains, *trainDomain) {
			return fmt.Errorf("--train-domain %q: the %s grid trains on %s", *trainDomain, fam, strings.Join(g.Domains, ", "))
		}
		if fam == "xling" && *trainDomain != "en" {
			return fmt.Errorf("--train-domain %q: xling trains on English (en)", *trainDomain)
		}
		if fam != "xling" {
			r.domains = []string{*trainDomain}
		}
	}
	if fam == "vision" && len(r.domains) == 1 {
		g.Domains = r.domains // a vision grid on another domain than the recipe's
	}
	if st, err := os.Stat(r.model); err != nil || !st.IsDir() {
		return fmt.Errorf("--model %s: no such model directory (the committed pretrained models are in pretrained/; run from the repository root or give --model)", r.model)
	}
	if fam2, err := family.Detect(r.model); err != nil {
		return err
	} else if fam2 != fam {
		return fmt.Errorf("--model %s is a %s model, not %s", r.model, fam2, fam)
	}
	if st, err := os.Stat(r.data); err != nil || !st.IsDir() {
		return fmt.Errorf("--data %s: no such directory (run `tram data fetch && tram data build %s`, or `tram data demo` for the demo)", r.data, fam)
	}
	if c := commit(); strings.HasSuffix(c, "+dirty") && !*allowDirty {
		return fmt.Errorf("this binary was built from a modified working tree (commit %s): its records would name code no one can check out; commit first and rebuild (make build), or pass --allow-dirty", c)
	}
	parallel.SetThreads(*threads)
	for _, d := range []string{"runs", "state", "tuning"} {
		if d == "tuning" && len(r.tuneSeeds) == 0 {
			continue
		}
		if err := os.MkdirAll(filepath.Join(r.out, d), 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	if !r.worker {
		if err := r.writeGridFile(args); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Phase 1, the tuning trials; phase 2, the evaluation runs, tuned rows
	// at the candidate their tuning chose.
	trials := r.trialRuns()
	if r.executor == "slurm" && !r.worker && r.slurm.dryRun {
		runs, err := r.evalRuns(true)
		if err != nil {
			return err
		}
		return r.slurmDryRun(append(trials, runs...), stdout)
	}
	total, failed := 0, 0
	for phase := 0; phase < 2; phase++ {
		runs := trials
		if phase == 1 {
			if runs, err = r.evalRuns(false); err != nil {
				return err
			}
		}
		if len(runs) == 0 {
			continue
		}
		var n int
		if r.executor == "slurm" && !r.worker {
			n, err = r.runSlurm(ctx, runs)
		} else {
			n, err = r.runAll(ctx, runs)
		}
		if err != nil {
			return err
		}
		total, failed = total+len(runs), failed+n
		if n > 0 {
			break // the evaluation runs need every trial
		}
	}
	if r.worker {
		if failed > 0 {
			return fmt.Errorf("%d of %d runs failed", failed, total)
		}
		return nil
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d runs failed (see above); rerun the same command to retry them: finished runs are kept", failed, total)
	}
	return r.finish(stdout)
}

// parseStudyFlags parses tram reproduce's arguments: a family name first,
// or flags only (with --study). It returns the family ("" when none).
func parseStudyFlags(fs *flag.FlagSet, args []string) (string, error) {
	fam := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		fam, args = args[0], args[1:]
	} else if len(args) == 0 {
		fs.Usage()
		return "", errUsage
	}
	return fam, parseFlags(fs, args)
}

// trialRow is a tuned row at one candidate: its own row, named
// ROW:FLAG=VALUE…, with the candidate's flags over the row's.
func trialRow(row grid.Row, cand map[string]string) grid.Row {
	t := row
	t.Name = row.TrialName(cand)
	t.Flags = maps.Clone(row.Flags)
	if t.Flags == nil {
		t.Flags = map[string]string{}
	}
	maps.Copy(t.Flags, cand)
	t.Tune = nil
	return t
}

// trialRuns lists the tuning runs of the selected rows: every candidate of
// every tuned row at every tuning seed (or --trial's alone).
func (r *reproducer) trialRuns() []grid.Run {
	if len(r.tuneSeeds) == 0 {
		return nil
	}
	var runs []grid.Run
	for _, row := range r.rows {
		for _, c := range row.TuneTrials() {
			if t := trialRow(row, c); r.trial == "" || t.Name == r.trial {
				for _, run := range r.g.Runs([]grid.Row{t}, r.domains, r.tuneSeeds) {
					run.Trial, run.Tuned = row.Name, c
					runs = append(runs, run)
				}
			}
		}
	}
	// Seed-major, as Runs orders them.
	slices.SortStableFunc(runs, func(a, b grid.Run) int { return a.Seed - b.Seed })
	return runs
}

// evalRuns lists the evaluation runs, every tuned row at the candidate its
// tuning chose. A tuned row whose tuning is not complete is an error, or,
// with dryRun, listed untuned (named as such).
func (r *reproducer) evalRuns(dryRun bool) ([]grid.Run, error) {
	if r.trial != "" || len(r.seeds) == 0 {
		return nil, nil
	}
	runs := r.g.Runs(r.rows, r.domains, r.seeds)
	chosen, err := r.chosen()
	if err != nil {
		return nil, err
	}
	for i, run := range runs {
		if len(run.Row.Tune) == 0 {
			continue
		}
		c, ok := chosen[grid.TuneKey(run.Row.Name, run.Regime, run.Domain)]
		if !ok {
			if dryRun {
				continue
			}
			return nil, fmt.Errorf("row %s is tuned, and its tuning (regime %q, training domain %q) is not complete in %s: run the tuning seeds %v first (rerunning this command does)",
				run.Row.Name, run.Regime, run.Domain, filepath.Join(r.out, "tuning"), r.g.Tuning.Seeds)
		}
		runs[i].Row = trialRow(run.Row, c)
		runs[i].Row.Name = run.Row.Name
		runs[i].Tuned = c
	}
	return runs, nil
}

// chosen reads the tuning trials done so far and returns the chosen
// candidates by grid.TuneKey.
func (r *reproducer) chosen() (map[string]map[string]string, error) {
	if r.g.Tuning == nil {
		return nil, nil
	}
	trials, err := grid.ReadTrials(r.out, r.g)
	if err != nil {
		return nil, err
	}
	return grid.Choose(grid.SummarizeTuning(r.g, trials)), nil
}

// setFlags collects the repeated --set FLAG=VALUE.
type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, " ") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

// rowsHelp lists every family's rows for --help.
func rowsHelp() string {
	var b strings.Builder
	for _, fam := range family.Names {
		g := grid.Families[fam]
		fmt.Fprintf(&b, "  %s (base %s, %d seeds", fam, g.Base, g.Seeds)
		if len(g.Domains) > 0 {
			fmt.Fprintf(&b, ", trained on %s", strings.Join(g.Domains, " and "))
		}
		b.WriteString("):\n")
		for _, r := range g.Rows {
			fmt.Fprintf(&b, "    %-22s %-8s %s\n", r.Name, r.Kind, r.About)
		}
	}
	return b.String()
}

func quickDesc() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(quickFlags)) {
		parts = append(parts, "--"+k+" "+quickFlags[k])
	}
	return strings.Join(parts, ", ") + ", small evaluation sets"
}

func quickEval(e grid.Eval) grid.Eval {
	e.MaxExamples, e.MaxTokens = 48, 1024
	if e.CKA {
		e.CKAExamples = 16
	}
	if e.Sharpness {
		e.SharpExamples = 4
	}
	return e
}

// writeGridFile records the grid in DIR/grid.json, merged with what an
// earlier invocation recorded there (rows and seeds are a union).
func (r *reproducer) writeGridFile(args []string) error {
	path := filepath.Join(r.out, "grid.json")
	gf := gridFile{Grid: *r.g, Quick: r.quick, Model: r.model, Data: r.data}
	gf.Rows = nil
	var old gridFile
	if raw, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(raw, &old); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		if old.Family != r.g.Family || old.Quick != r.quick {
			return fmt.Errorf("--out %s holds a %s grid (quick %v), not %s (quick %v): choose another --out", r.out, old.Family, old.Quick, r.g.Family, r.quick)
		}
		gf.Commands = old.Commands
		gf.SeedList = old.SeedList
	}
	want := map[string]bool{}
	for _, row := range old.Rows {
		want[row.Name] = true
	}
	for _, row := range r.rows {
		want[row.Name] = true
	}
	for _, row := range r.g.Rows {
		if want[row.Name] {
			gf.Rows = append(gf.Rows, row)
		}
	}
	for _, s := range r.seeds {
		if !slices.Contains(gf.SeedList, s) {
			gf.SeedList = append(gf.SeedList, s)
		}
	}
	slices.Sort(gf.SeedList)
	gf.Command = "tram reproduce " + strings.Join(args, " ")
	gf.Commands = append(gf.Commands, gf.Command)
	if err := checkpoint.WriteJSON(path, gf); err != nil {
		return err
	}
	return checkpoint.WriteJSON(filepath.Join(r.out, "machine.json"), machineInfo(r.threads, r.jobs))
}

// machineInfo describes this machine for the results.
func machineInfo(threads, jobs int) map[string]any {
	cpu := ""
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	host, _ := os.Hostname()
	return map[string]any{"cpu": cpu, "cores": runtime.NumCPU(), "go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH,
		"host": host, "tram_version": version, "tram_commit": commit(), "gemm_backend": gemm.Backend(), "threads": threads, "jobs": jobs}
}

// runState is what the progress display knows of a run in flight.
type runState struct {
	id          string
	done, total int
	note        string
}

// runAll runs every unfinished run, r.jobs at a time, and returns how many
// failed. Failures are reported and the others go on.
func (r *reproducer) runAll(ctx context.Context, runs []grid.Run) (failed int, err error) {
	var pending []grid.Run
	for _, run := range runs {
		done, err := r.finished(run)
		if err != nil {
			return 0, err
		}
		if !done {
			pending = append(pending, run)
		}
	}
	total, skipped := len(runs), len(runs)-len(pending)
	if skipped > 0 && !r.worker {
		fmt.Fprintf(r.stderr, "tram reproduce: %d of %d runs already done in %s\n", skipped, total, r.out)
	}
	if len(pending) == 0 {
		return 0, nil
	}
	disp := newGridDisplay(r.stderr, total, skipped, r.jobs)
	defer disp.stop()
	work := make(chan grid.Run)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sub := r.jobs > 1 && len(pending) > 1
	for w := 0; w < min(r.jobs, len(pending)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for run := range work {
				if ctx.Err() != nil {
					continue // interrupted: start nothing new
				}
				st := disp.begin(run.ID())
				start := time.Now()
				var rec *grid.Record
				var err error
				if sub {
					rec, err = r.runChild(ctx, run, st, disp)
				} else {
					rec, err = r.runOne(ctx, run, func(done, total int, note string) { disp.update(st, done, total, note) })
				}
				disp.finish(st, rec, err, time.Since(start), r.g)
				if err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		}()
	}
dispatch:
	for _, run := range pending {
		select {
		case work <- run:
		case <-ctx.Done():
			break dispatch
		}
	}
	close(work)
	wg.Wait()
	if ctx.Err() != nil {
		return failed, errors.New("interrupted: every run in flight saved a snapshot; rerun the same command to resume")
	}
	return failed, nil
}

// finished reports whether a run's record exists, checking that it was
// made with the flags this invocation would use.
func (r *reproducer) finished(run grid.Run) (bool, error) {
	path := r.recordPath(run)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	var rec grid.Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return false, fmt.Errorf("%s: %v (remove it to rerun the run)", path, err)
	}
	f, err := r.parse(run)
	if err != nil {
		return false, err
	}
	want := definingFlags(f.args)
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if rec.Flags[k] != want[k] {
			return false, fmt.Errorf("%s was made with --%s %q, and this grid runs it with %q: use another --out, or remove the file to rerun it",
				path, k, rec.Flags[k], want[k])
		}
	}
	return true, nil
}

// finetuneArgs returns the `tram finetune` arguments of a run.
func (r *reproducer) finetuneArgs(run grid.Run) []string {
	id := run.ID()
	flags := r.g.FinetuneFlags(run)
	if r.quick {
		maps.Copy(flags, quickFlags)
		if _, ok := flags["head-warmup"]; ok && flags["head-warmup"] != "0" {
			flags["head-warmup"] = "2"
		}
		// A row's own flags stay over the quick ones (a zero-shot row
		// takes no step, quick or not); none of them sets a head warm-up.
		for k, v := range run.Row.Flags {
			if k != "head-warmup" {
				flags[k] = v
			}
		}
	}
	flags["config"] = "recipe:" + r.g.Recipe
	if strings.HasSuffix(r.g.Recipe, ".yaml") {
		flags["config"] = r.g.Recipe
	}
	flags["model"] = r.model
	flags["data"] = r.data
	flags["out"] = filepath.Join(r.out, "state", id+".model")
	flags["log"] = strings.TrimSuffix(r.recordPath(run), ".json") + ".log.jsonl"
	flags["save-every"] = strconv.Itoa(r.saveEvery)
	return grid.Args(flags)
}

func (r *reproducer) parse(run grid.Run) (finetuneFlags, error) {
	var msg bytes.Buffer
	f, err := parseFinetune(r.finetuneArgs(run), &msg)
	if err != nil {
		return f, fmt.Errorf("run %s: %v %s", run.ID(), err, strings.TrimSpace(msg.String()))
	}
	return f, nil
}

// definingFlags drops the flags that do not change a run's numbers.
func definingFlags(args map[string]string) map[string]string {
	out := maps.Clone(args)
	for _, k := range []string{"model", "data", "out", "log", "save-every", "config"} {
		delete(out, k)
	}
	return out
}

// recordPath is where a run's record goes: DIR/runs/ID.json, or
// DIR/tuning/ID.json for a tuning trial.
func (r *reproducer) recordPath(run grid.Run) string {
	dir := "runs"
	if run.Trial != "" {
		dir = "tuning"
	}
	return filepath.Join(r.out, dir, run.ID()+".json")
}

// target names the study on a command line: the family, or --study FILE.
func (r *reproducer) target() []string {
	if r.study != "" {
		return []string{"--study", r.study}
	}
	return []string{r.g.Family}
}

// runArgs are the tram reproduce flags that select one run.
func (r *reproducer) runArgs(run grid.Run) []string {
	args := []string{"--methods", run.Row.Name, "--seed", strconv.Itoa(run.Seed)}
	if run.Trial != "" {
		args = []string{"--methods", run.Trial, "--trial", run.Row.Name, "--seed", strconv.Itoa(run.Seed)}
	}
	if run.Regime != "" {
		args = append(args, "--regime", run.Regime)
	}
	if run.Domain != "" {
		args = append(args, "--train-domain", run.Domain)
	}
	return args
}

// command returns the tram reproduce command that reruns one run alone.
func (r *reproducer) command(run grid.Run) string {
	args := append([]string{"tram", "reproduce"}, r.target()...)
	args = append(args, r.runArgs(run)...)
	args = append(args, "--data", r.data, "--model", r.model, "--out", r.out, "--threads", strconv.Itoa(r.threads))
	if r.quick {
		args = append(args, "--quick")
	}
	if run.Trial != "" {
		args = append(args, "--no-report")
	}
	return shellJoin(append(args, r.setArgs()...))
}

// setArgs returns the --set flags that differ from the study's.
func (r *reproducer) setArgs() []string {
	var args []string
	base := r.study0.Flags
	for _, k := range slices.Sorted(maps.Keys(r.g.Flags)) {
		if v, ok := base[k]; !ok || v != r.g.Flags[k] {
			args = append(args, "--set", k+"="+r.g.Flags[k])
		}
	}
	return args
}

func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\*?;&|<>()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// runOne fine-tunes and evaluates one run in this process and writes its
// record. A model already written by an earlier, interrupted invocation
// is evaluated without training again.
func (r *reproducer) runOne(ctx context.Context, run grid.Run, progress func(done, total int, note string)) (*grid.Record, error) {
	id := run.ID()
	f, err := r.parse(run)
	if err != nil {
		return nil, err
	}
	modelDir := f.out
	evalOpts := r.evalOptions()
	ckptPath := func(step int) string { return filepath.Join(r.out, "state", fmt.Sprintf("%s.ckpt-%d.json", id, step)) }
	var ckSteps []int
	if run.Row.Name == r.g.Base {
		for _, frac := range r.g.Checkpoints {
			if s := int(math.Round(frac * float64(f.steps))); s > 0 && s < f.steps && !slices.Contains(ckSteps, s) {
				ckSteps = append(ckSteps, s)
			}
		}
	}
	notes, err := os.OpenFile(filepath.Join(r.out, "state", id+".out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer notes.Close()
	if _, err := os.Stat(filepath.Join(modelDir, "model.safetensors")); err != nil {
		f.progress = progress
		f.checkpoints = ckSteps
		f.onCheckpoint = func(step int, setup *family.Setup) error {
			progress(step, f.steps, "evaluating checkpoint")
			dir := filepath.Join(r.out, "state", fmt.Sprintf("%s.ckpt-%d.model", id, step))
			os.RemoveAll(dir)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			if err := setup.Save(dir, map[string]string{"tram_checkpoint_step": strconv.Itoa(step)}); err != nil {
				return err
			}
			rep, err := family.Evaluate(dir, evalOpts)
			if err != nil {
				return fmt.Errorf("evaluating step %d: %w", step, err)
			}
			return checkpoint.WriteJSON(ckptPath(step), grid.Checkpoint{Step: step, Metrics: rep.Domains})
		}
		if _, err := finetune(f, notes); err != nil {
			return nil, err
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	meta, err := readMetadata(modelDir)
	if err != nil {
		return nil, err
	}
	info, err := readRunInfo(modelDir)
	if err != nil {
		return nil, err
	}
	progress(f.steps, f.steps, "evaluating")
	rep, err := family.Evaluate(modelDir, evalOpts)
	if err != nil {
		return nil, fmt.Errorf("evaluating: %w", err)
	}
	atoi := func(k string) int { v, _ := strconv.Atoi(meta[k]); return v }
	rec := &grid.Record{Family: r.g.Family, Row: run.Row.Name, Method: run.Row.Method, Kind: run.Row.Kind, Regime: run.Regime, Domain: run.Domain,
		Seed: run.Seed, Tuned: run.Tuned, ValLoss: info.KeptValLoss, Flags: definingFlags(f.args), Command: r.command(run),
		Finetune: shellJoin(append([]string{"tram", "finetune"}, r.finetuneArgs(run)...)),
		Steps:    f.steps, Kept: atoi("tram_kept_step"), Skipped: atoi("tram_skipped_steps"), Metrics: rep.Domains,
		Log: filepath.ToSlash(filepath.Join("runs", id+".log.jsonl")), TrainSeconds: info.TrainSeconds, EvalSeconds: rep.Seconds,
		Threads: parallel.Threads(), Backend: gemm.Backend(), Version: version, Commit: commit(), EvalSettings: rep.Settings}
	if r.g.Family == "vision" && run.Domain == "" {
		rec.Domain = f.domain
	}
	for _, s := range ckSteps {
		raw, err := os.ReadFile(ckptPath(s))
		if err != nil {
			return nil, fmt.Errorf("checkpoint at step %d was not evaluated (%v): remove %s and rerun", s, err, modelDir)
		}
		var c grid.Checkpoint
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, err
		}
		rec.Checkpoints = append(rec.Checkpoints, c)
	}
	if err := r.wiseFT(run, modelDir, evalOpts, rec, progress); err != nil {
		return nil, err
	}
	if err := checkpoint.WriteJSON(r.recordPath(run), rec); err != nil {
		return nil, err
	}
	// The record is written: the run's working files are no longer needed.
	if r.keepModels {
		os.MkdirAll(filepath.Join(r.out, "models"), 0o755)
		os.RemoveAll(filepath.Join(r.out, "models", id))
		os.Rename(modelDir, filepath.Join(r.out, "models", id))
	}
	os.RemoveAll(modelDir)
	os.RemoveAll(modelDir + ".partial")
	for _, s := range ckSteps {
		os.Remove(ckptPath(s))
	}
	notes.Close()
	os.Remove(filepath.Join(r.out, "state", id+".out"))
	return rec, nil
}

// wiseFT evaluates the WiSE-FT points of a base run: its kept parameters
// interpolated with the pretrained ones at each of the study's α
// (package wiseft; a new head is the fine-tuned one).
func (r *reproducer) wiseFT(run grid.Run, modelDir string, opts family.EvalOptions, rec *grid.Record, progress func(done, total int, note string)) error {
	if run.Trial != "" || run.Row.Name != r.g.Base || len(r.g.WiseFT) == 0 {
		return nil
	}
	for _, a := range r.g.WiseFT {
		progress(rec.Steps, rec.Steps, fmt.Sprintf("evaluating WiSE-FT α=%g", a))
		dir := filepath.Join(r.out, "state", fmt.Sprintf("%s.wise-ft-%g.model", run.ID(), a))
		os.RemoveAll(dir)
		if _, err := wiseft.Interpolate(r.model, modelDir, dir, a); err != nil {
			return fmt.Errorf("WiSE-FT α=%g: %w", a, err)
		}
		rep, err := family.Evaluate(dir, opts)
		os.RemoveAll(dir)
		if err != nil {
			return fmt.Errorf("evaluating WiSE-FT α=%g: %w", a, err)
		}
		rec.WiseFT = append(rec.WiseFT, grid.WiseFTPoint{Alpha: a, Metrics: rep.Domains})
	}
	return nil
}

func (r *reproducer) evalOptions() family.EvalOptions {
	e := r.g.Eval
	o := family.EvalOptions{Data: r.data, MaxExamples: e.MaxExamples, MaxTokens: e.MaxTokens}
	if e.Sharpness {
		o.Sharpness, o.SharpExamples = true, e.SharpExamples
		o.SharpOptions = eval.SharpnessOptions{Eps: 1e-5, Steps: cmp.Or(e.SharpSteps, 10)}
	}
	if e.CKA {
		o.CKARef, o.CKAExamples = r.model, e.CKAExamples
	}
	return o
}

// readMetadata returns the metadata of a model directory's safetensors.
func readMetadata(dir string) (map[string]string, error) {
	f, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Metadata, nil
}

// readRunInfo reads the run_info.json tram finetune writes beside a model.
func readRunInfo(dir string) (runInfo, error) {
	var info runInfo
	raw, err := os.ReadFile(filepath.Join(dir, runInfoFile))
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return info, fmt.Errorf("%s: %v", filepath.Join(dir, runInfoFile), err)
	}
	return info, nil
}

// runChild runs one run as a child process (tram reproduce … --no-report
// for that run alone) and reads its record. The child reports progress
// through DIR/state/ID.progress; its stderr goes to DIR/state/ID.stderr.
func (r *reproducer) runChild(ctx context.Context, run grid.Run, st *runState, disp *gridDisplay) (*grid.Record, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	id := run.ID()
	args := append(append([]string{"reproduce"}, r.target()...), r.runArgs(run)...)
	args = append(args, "--data", r.data, "--model", r.model, "--out", r.out, "--threads", strconv.Itoa(r.threads), "--jobs", "1",
		"--save-every", strconv.Itoa(r.saveEvery), "--no-report")
	if r.allowDirty {
		args = append(args, "--allow-dirty")
	}
	if r.quick {
		args = append(args, "--quick")
	}
	if r.keepModels {
		args = append(args, "--keep-models")
	}
	args = append(args, r.setArgs()...)
	logPath := filepath.Join(r.out, "state", id+".stderr")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(exe, args...)
	cmd.Stderr, cmd.Stdout = logf, logf
	cmd.Env = append(os.Environ(), "TRAM_PROGRESS_FILE="+filepath.Join(r.out, "state", id+".progress"))
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			os.Remove(filepath.Join(r.out, "state", id+".progress"))
			if err != nil {
				return nil, fmt.Errorf("%v; its log %s ends:\n%s", err, logPath, tail(logPath, 8))
			}
			raw, err := os.ReadFile(r.recordPath(run))
			if err != nil {
				return nil, err
			}
			var rec grid.Record
			if err := json.Unmarshal(raw, &rec); err != nil {
				return nil, err
			}
			os.Remove(logPath)
			return &rec, nil
		case <-tick.C:
			if raw, err := os.ReadFile(filepath.Join(r.out, "state", id+".progress")); err == nil {
				var p struct {
					Done, Total int
					Note        string
				}
				if json.Unmarshal(raw, &p) == nil {
					disp.update(st, p.Done, p.Total, p.Note)
				}
			}
		case <-ctx.Done():
			// The child got the same signal and snapshots; wait for it.
			ctx = context.Background()
		}
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return "  " + strings.Join(lines, "\n  ")
}

// finish writes the summary and the report of everything DIR holds.
func (r *reproducer) finish(stdout io.Writer) error {
	recs, err := grid.ReadRecords(r.out, r.g)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	return writeReport(r.out, stdout, r.stderr)
}
