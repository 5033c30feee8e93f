// Package reproduce runs studies: every run of a grid.Grid (rows ×
// regimes × training domains × seeds, tuning trials first) is a
// finetune.Spec executed and then evaluated on every domain of its family,
// or on the test sets of a study's own data (family.Evaluate, plus the
// WiSE-FT points of base runs), recorded in
// DIR/runs/ID.json (DIR/tuning/ for trials); then the summary and the
// report (package report) are written. Runs go side by side as child
// processes of the tram binary (`tram reproduce … --no-report` for one run)
// or as the tasks of a Slurm job array, so one run in a study, the same run
// rerun alone and the same run as a Slurm task are one code path with the
// same numbers. Finished runs are skipped and interrupted ones resume from
// their snapshots. `tram reproduce` parses its flags into Options and calls
// Run.
package reproduce

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/data/userdata"
	"github.com/tramlab/tram/eval"
	"github.com/tramlab/tram/family"
	"github.com/tramlab/tram/finetune"
	"github.com/tramlab/tram/grid"
	"github.com/tramlab/tram/internal/buildinfo"
	"github.com/tramlab/tram/internal/gemm"
	"github.com/tramlab/tram/internal/parallel"
	"github.com/tramlab/tram/wiseft"
)

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

// A reproducer is one Run: its Options checked and resolved
// (newReproducer).
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
	// dataSHA is the sha256 of the family's built data manifest (empty for
	// a study's own data), recorded in every run's record.
	dataSHA string
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
	slurm    SlurmOptions
	args     []string // the command line, for grid.json
	// threadsGiven and jobsGiven say that the thread count and the number
	// of jobs were given, not defaulted.
	threadsGiven, jobsGiven bool
	// binary is the tram binary of child processes ("": this one);
	// prepare, when set, sees each run's Spec before it executes here.
	binary  string
	prepare func(*finetune.Spec)
}

// Options configure a study run: what Run runs and where. The zero value
// of every field but Study is a default.
type Options struct {
	// Study is the study to run, as read: grid.LoadStudy's, or one of
	// grid.Families (required). Run does not modify it.
	Study *grid.Grid
	// StudyFile is the file Study was read from, or "" for a family's
	// embedded study: child processes, Slurm tasks and each record's rerun
	// command name the study by it (--study FILE) or by the family.
	StudyFile string
	// Set are `tram finetune` flags (by name, without dashes) set for every
	// run, over the recipe and under each row's own (--set FLAG=VALUE).
	Set map[string]string
	// Methods selects the rows, as grid.Grid.Select takes it ("": all).
	Methods string
	// Seeds runs seeds 1…Seeds (0: the study's; with Quick, 2); Seed runs
	// that one seed only (0: none). They exclude each other.
	Seeds, Seed int
	// TrainDomain restricts the runs to one training domain ("": the
	// study's); Regime to one regime ("": every regime).
	TrainDomain, Regime string
	// Model is the pretrained model directory (default the study's model,
	// else pretrained/FAMILY), Data the directory `tram data build` wrote
	// (default data.DefaultOutDir(); unused by a study with its own data,
	// grid.Grid.UserData), Out the study's directory (default
	// results/FAMILY, results/FAMILY-quick with Quick).
	Model, Data, Out string
	// Quick runs the same pipeline, tiny: for checking the machinery.
	Quick bool
	// Jobs is how many runs go side by side, each a child process (0:
	// cores / Threads); with the Slurm executor, how many tasks run at once
	// (0: no limit).
	Jobs int
	// Threads is the kernel thread count of every run (0: 1, or with the
	// Slurm executor Slurm.CPUsPerTask when that is set).
	Threads int
	// SaveEvery is how often each run snapshots, in steps (0: 25).
	SaveEvery int
	// KeepModels keeps each fine-tuned model in Out/models/ID.
	KeepModels bool
	// AllowDirty runs even though this binary was built from a modified
	// working tree.
	AllowDirty bool
	// NoReport runs the selected runs only, without grid.json, summary or
	// report: what executors use for each child run. Trial restricts such
	// a run to one tuning trial (grid.Row.TrialName).
	NoReport bool
	Trial    string
	// Executor is where the runs go: "local" (the default: this machine,
	// Jobs at a time) or "slurm" (a job array, with Slurm's options).
	Executor string
	Slurm    SlurmOptions
	// Binary is the tram binary child processes run (default
	// os.Executable()); it takes the arguments of `tram reproduce`.
	Binary string
	// Args is the command line (after `tram reproduce`) recorded in
	// grid.json (default: the study's name).
	Args []string
	// Stderr receives progress and diagnostics (default os.Stderr).
	Stderr io.Writer
	// PrepareRun, when set, is called with each run's finetune.Spec before
	// it executes in this process (tests set InterruptAfter with it).
	PrepareRun func(*finetune.Spec)
}

// Run runs a study as o says: the tuning trials, then the evaluation runs,
// locally or on Slurm, skipping finished runs and resuming interrupted
// ones; then, unless o.NoReport, it writes the summary and the report
// (the headline table on stdout). Cancelling ctx interrupts the runs in
// flight, each saving a snapshot.
func Run(ctx context.Context, o Options, stdout io.Writer) error {
	r, err := newReproducer(o)
	if err != nil {
		return err
	}
	parallel.SetThreads(r.threads)
	for _, d := range []string{"runs", "state", "tuning"} {
		if d == "tuning" && len(r.tuneSeeds) == 0 {
			continue
		}
		if err := os.MkdirAll(filepath.Join(r.out, d), 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	if !r.worker {
		if err := r.writeGridFile(r.args); err != nil {
			return err
		}
	}
	// Phase 1, the tuning trials; phase 2, the evaluation runs, tuned rows
	// at the candidate their tuning chose.
	trials := r.trialRuns()
	if err := r.checkAll(trials); err != nil {
		return err
	}
	if r.executor == "slurm" && !r.worker && r.slurm.DryRun {
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

// newReproducer checks o and resolves it into the runs' settings: the
// study with o.Set and Quick applied, the rows, seeds, tuning seeds and
// training domains, and the defaults.
func newReproducer(o Options) (*reproducer, error) {
	g0 := o.Study
	if g0 == nil {
		return nil, errors.New("reproduce: no study (Options.Study)")
	}
	fam := g0.Family
	executor := cmp.Or(o.Executor, "local")
	if executor != "local" && executor != "slurm" {
		return nil, fmt.Errorf("--executor %q: valid: local, slurm", executor)
	}
	if o.Slurm.CPUsPerTask < 0 {
		return nil, fmt.Errorf("--cpus-per-task %d: must be ≥ 1", o.Slurm.CPUsPerTask)
	}
	for _, s := range o.Slurm.SbatchArgs {
		if err := CheckSbatchArg(s); err != nil {
			return nil, err
		}
	}
	g := *g0
	g.Flags = maps.Clone(g.Flags)
	if g.Flags == nil {
		g.Flags = map[string]string{}
	}
	for _, k := range slices.Sorted(maps.Keys(o.Set)) {
		switch k {
		case "method", "model", "data", "out", "log", "seed", "config", "save-every", "domain":
			return nil, fmt.Errorf("--set %s: set by tram reproduce itself (use --methods, --model, --data, --out, --seed, --train-domain)", k)
		}
		if slices.Contains(grid.DataFlags, k) {
			return nil, fmt.Errorf("--set %s: your own data are the study's data: key (docs/STUDIES.md), not flags", k)
		}
		g.Flags[k] = o.Set[k]
	}
	switch {
	case o.Seeds < 0:
		return nil, fmt.Errorf("--seeds %d: must be ≥ 1", o.Seeds)
	case o.Seed < 0:
		return nil, fmt.Errorf("--seed %d: seeds are numbered from 1", o.Seed)
	case o.Seed > 0 && o.Seeds > 0:
		return nil, errors.New("--seed and --seeds exclude each other")
	case o.Threads < 0:
		return nil, fmt.Errorf("--threads %d: must be ≥ 1", o.Threads)
	case o.Jobs < 0:
		return nil, fmt.Errorf("--jobs %d: must be ≥ 1 (or 0 for cores / --threads)", o.Jobs)
	case o.SaveEvery < 0:
		return nil, fmt.Errorf("--save-every %d: must be ≥ 1", o.SaveEvery)
	}
	stderr := o.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	r := &reproducer{g: &g, slurm: o.Slurm, executor: executor, args: o.Args, model: o.Model, data: cmp.Or(o.Data, data.DefaultOutDir()),
		out: o.Out, quick: o.Quick, jobs: o.Jobs, threads: cmp.Or(o.Threads, 1), threadsGiven: o.Threads > 0, jobsGiven: o.Jobs > 0,
		saveEvery: cmp.Or(o.SaveEvery, 25), keepModels: o.KeepModels, worker: o.NoReport, allowDirty: o.AllowDirty, stderr: stderr,
		study: o.StudyFile, study0: g0, trial: o.Trial, binary: o.Binary, prepare: o.PrepareRun}
	if r.args == nil {
		r.args = r.target()
	}
	if r.model == "" {
		r.model = cmp.Or(g.Model, filepath.Join("pretrained", fam))
	}
	if r.out == "" {
		r.out = filepath.Join("results", fam)
		if g.UserData != nil {
			r.out = filepath.Join("results", g.Name) // not among the built-in data's results
		}
		if r.quick {
			r.out += "-quick"
		}
	}
	if r.jobs == 0 {
		r.jobs = max(1, runtime.NumCPU()/r.threads)
	}
	var err error
	if r.rows, err = g.Select(cmp.Or(o.Methods, "all")); err != nil {
		return nil, err
	}
	n := g.Seeds
	if r.quick {
		n = quickSeeds
		g.Eval = quickEval(g.Eval)
	}
	if o.Seeds > 0 {
		n = o.Seeds
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
			return nil, fmt.Errorf("--seeds %d: the evaluation seeds 1…%d would include tuning seeds %v: keep them disjoint", n, n, r.tuneSeeds)
		}
	}
	if o.Seed > 0 {
		r.seeds = []int{o.Seed}
		if slices.Contains(r.tuneSeeds, o.Seed) {
			r.seeds, r.tuneSeeds = nil, []int{o.Seed} // one tuning seed alone
		} else {
			r.tuneSeeds = nil
		}
	}
	if o.Regime != "" {
		reg, ok := g.Regime(o.Regime)
		if !ok {
			return nil, fmt.Errorf("--regime %q: the study has regimes %s", o.Regime, strings.Join(g.RegimeNames(), ", "))
		}
		g.Regimes = []grid.Regime{reg}
	}
	if r.trial != "" && !r.worker {
		return nil, errors.New("--trial is for the child runs of an executor (with --no-report)")
	}
	r.domains = g.Domains
	user := g.UserData != nil
	if d := o.TrainDomain; d != "" {
		if len(g.Domains) > 0 && !slices.Contains(g.Domains, d) {
			return nil, fmt.Errorf("--train-domain %q: the %s grid trains on %s", d, fam, strings.Join(g.Domains, ", "))
		}
		if fam == "xling" && !user && d != "en" {
			return nil, fmt.Errorf("--train-domain %q: xling trains on English (en)", d)
		}
		if fam != "xling" || user {
			r.domains = []string{d}
		}
	}
	if fam == "vision" && len(r.domains) == 1 {
		g.Domains = r.domains // a vision grid on another domain than the recipe's
	}
	if st, err := os.Stat(r.model); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("--model %s: no such model directory (the committed pretrained models are in pretrained/; run from the repository root or give --model)", r.model)
	}
	if fam2, err := family.Detect(r.model); err != nil {
		return nil, err
	} else if fam2 != fam {
		return nil, fmt.Errorf("--model %s is a %s model (its config.json's model_type), and the study's family is %s: give a %s model, or set family: %s in the study",
			r.model, fam2, fam, fam, fam2)
	}
	if user {
		if err := checkUserData(&g); err != nil {
			return nil, err
		}
	} else if st, err := os.Stat(r.data); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("--data %s: no such directory (run `tram data fetch && tram data build %s`, or `tram data demo` for the demo)", r.data, fam)
	} else if sum, err := data.ManifestSHA256(filepath.Join(r.data, fam)); err == nil {
		r.dataSHA = sum
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("--data %s: %w", r.data, err)
	} // a missing manifest: the runs fail with the family's own message
	if c := buildinfo.Commit(); strings.HasSuffix(c, "+dirty") && !r.allowDirty {
		return nil, fmt.Errorf("this binary was built from a modified working tree (commit %s): its records would name code no one can check out; commit first and rebuild (make build), or pass --allow-dirty", c)
	}
	return r, nil
}

// checkUserData checks that every file or folder of a study's own data
// exists, naming the study file's line otherwise.
func checkUserData(g *grid.Grid) error {
	u := g.UserData
	check := func(key, path string) error {
		if path == "" {
			return nil
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s: %s: %w", g.DataWhere(key), key, err)
		}
		return nil
	}
	if err := check("data.train", u.Train); err != nil {
		return err
	}
	if err := check("data.valid", u.Valid); err != nil {
		return err
	}
	for _, t := range u.Tests {
		if err := check("data.tests."+t.Name, t.Path); err != nil {
			return err
		}
	}
	return nil
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

// QuickFlags returns the `tram finetune` flags that shrink every run of a
// Quick study.
func QuickFlags() map[string]string { return maps.Clone(quickFlags) }

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
	if r.g.UserData != nil {
		gf.Data = "" // the study's own data are in user_data
	}
	gf.Rows = nil
	var old gridFile
	if raw, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(raw, &old); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		if old.Family != r.g.Family || old.Quick != r.quick {
			return fmt.Errorf("--out %s holds a %s grid (quick %v), not %s (quick %v): choose another --out", r.out, old.Family, old.Quick, r.g.Family, r.quick)
		}
		if (old.UserData == nil) != (r.g.UserData == nil) {
			what := map[bool]string{true: "the built-in data", false: "its own data (data:)"}
			return fmt.Errorf("--out %s holds a study on %s, and this one runs on %s: choose another --out", r.out, what[old.UserData == nil], what[r.g.UserData == nil])
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
		"host": host, "tram_version": buildinfo.Version, "tram_commit": buildinfo.Commit(), "gemm_backend": gemm.Backend(), "threads": threads, "jobs": jobs}
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
	want := definingFlags(f.Flags())
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if (k == "train" || k == "valid") && abs(rec.Flags[k]) == abs(want[k]) {
			continue // the same data, named from another directory (a Slurm task's paths are absolute)
		}
		if rec.Flags[k] != want[k] {
			return false, fmt.Errorf("%s was made with --%s %q, and this grid runs it with %q: use another --out, or remove the file to rerun it",
				path, k, rec.Flags[k], want[k])
		}
	}
	if rec.Data != "" && r.dataSHA != "" && rec.Data != r.dataSHA {
		return false, fmt.Errorf("%s was made from another build of the %s data (manifest sha256 %.12s), and --data %s is build %.12s: one grid's runs must share their data; rebuild it as recorded (its manifest lists every source package's version), use another --out, or remove the file to rerun it",
			path, r.g.Family, rec.Data, r.data, r.dataSHA)
	}
	return true, nil
}

// finetuneArgs returns the `tram finetune` arguments of a run.
func (r *reproducer) finetuneArgs(run grid.Run) []string { return grid.Args(r.runFlags(run)) }

// finetuneCommand returns the `tram finetune` command equivalent to a run
// (with the study's own data, it scores the test sets too: --test).
func (r *reproducer) finetuneCommand(run grid.Run) string {
	args := append([]string{"tram", "finetune"}, r.finetuneArgs(run)...)
	if u := r.g.UserData; u != nil {
		args = append(args, u.TestArgs()...)
	}
	return shellJoin(args)
}

// runFlags returns the `tram finetune` flags of a run, by name.
func (r *reproducer) runFlags(run grid.Run) map[string]string {
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
		if u := r.g.UserData; u != nil && u.Valid == "" {
			flags["eval-every"] = "0" // nothing to validate on
		}
	}
	switch {
	case strings.HasSuffix(r.g.Recipe, ".yaml"):
		flags["config"] = r.g.Recipe
	case r.g.Recipe != "":
		flags["config"] = "recipe:" + r.g.Recipe
	}
	flags["model"] = r.model
	if r.g.UserData == nil {
		flags["data"] = r.data
	}
	flags["out"] = filepath.Join(r.out, "state", id+".model")
	flags["log"] = strings.TrimSuffix(r.recordPath(run), ".json") + ".log.jsonl"
	flags["save-every"] = strconv.Itoa(r.saveEvery)
	return flags
}

// parse returns the finetune.Spec of a run.
func (r *reproducer) parse(run grid.Run) (*finetune.Spec, error) {
	f, err := finetune.SpecFromFlags(r.runFlags(run))
	if err != nil {
		return nil, fmt.Errorf("run %s: %v", run.ID(), err)
	}
	return f, nil
}

// checkAll validates every run the study will make before any starts —
// the evaluation runs of tuned rows at their first candidate, since their
// choice comes later — so that a bad flag in a row is refused now, not
// after hours of tuning.
func (r *reproducer) checkAll(trials []grid.Run) error {
	if r.worker {
		return nil
	}
	runs := slices.Clone(trials)
	for _, run := range r.g.Runs(r.rows, r.domains, r.seeds) {
		if c := run.Row.TuneTrials(); c != nil {
			name := run.Row.Name
			run.Row = trialRow(run.Row, c[0])
			run.Row.Name = name
		}
		runs = append(runs, run)
	}
	for _, run := range runs {
		f, err := r.parse(run)
		if err == nil {
			err = f.Validate()
		}
		if err == nil && run.Trial != "" && f.Flags()["eval-every"] == "0" {
			err = errors.New("a tuned row is chosen on its validation loss, and its tuning runs never validate: give eval-every (in the study's flags or the recipe)")
		}
		if err != nil {
			row := run.Row.Name
			if run.Trial != "" {
				row = run.Trial
			}
			if r.study != "" {
				return fmt.Errorf("%s: row %s: %v", r.g.Where(row), run.Row.Name, err)
			}
			return err
		}
	}
	return nil
}

// definingFlags drops the flags that do not change a run's numbers.
func definingFlags(args map[string]string) map[string]string {
	out := maps.Clone(args)
	for _, k := range []string{"model", "data", "out", "log", "save-every", "config"} {
		delete(out, k)
	}
	return out
}

// workerArgs are the flags every child run of an executor takes after the
// ones that select it: where things are, how to run, and --set.
func (r *reproducer) workerArgs() []string {
	args := []string{"--data", r.data, "--model", r.model, "--out", r.out,
		"--threads", strconv.Itoa(r.threads), "--jobs", "1", "--save-every", strconv.Itoa(r.saveEvery), "--no-report"}
	if r.g.UserData != nil {
		args = args[2:] // the study's own data: no --data
	}
	if r.quick {
		args = append(args, "--quick")
	}
	if r.keepModels {
		args = append(args, "--keep-models")
	}
	if r.allowDirty {
		args = append(args, "--allow-dirty")
	}
	return append(args, r.setArgs()...)
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
	if r.g.UserData == nil {
		args = append(args, "--data", r.data)
	}
	args = append(args, "--model", r.model, "--out", r.out, "--threads", strconv.Itoa(r.threads))
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
	modelDir := f.Out()
	steps := f.Steps()
	// ε-sharpness and CKA (the study's eval extras) are measured on an
	// evaluation run's final model only: the claims compare those, and a
	// tuning trial, a checkpoint or a WiSE-FT point needs its metric alone.
	finalOpts := r.evalOptions()
	metricOpts := finalOpts
	metricOpts.Sharpness, metricOpts.CKARef = false, ""
	if run.Trial != "" {
		finalOpts = metricOpts
	}
	ckptPath := func(step int) string { return filepath.Join(r.out, "state", fmt.Sprintf("%s.ckpt-%d.json", id, step)) }
	var ckSteps []int
	if run.Row.Name == r.g.Base {
		for _, frac := range r.g.Checkpoints {
			if s := int(math.Round(frac * float64(steps))); s > 0 && s < steps && !slices.Contains(ckSteps, s) {
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
		f.Progress = progress
		f.Checkpoints = ckSteps
		f.OnCheckpoint = func(step int, setup *family.Setup) error {
			progress(step, steps, "evaluating checkpoint")
			dir := filepath.Join(r.out, "state", fmt.Sprintf("%s.ckpt-%d.model", id, step))
			os.RemoveAll(dir)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			if err := setup.Save(dir, map[string]string{"tram_checkpoint_step": strconv.Itoa(step)}); err != nil {
				return err
			}
			rep, err := family.Evaluate(dir, metricOpts)
			if err != nil {
				return fmt.Errorf("evaluating step %d: %w", step, err)
			}
			return checkpoint.WriteJSON(ckptPath(step), grid.Checkpoint{Step: step, Metrics: rep.Domains})
		}
		if r.prepare != nil {
			r.prepare(f)
		}
		if _, err := f.Execute(ctx, notes); err != nil {
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
	info, err := finetune.ReadRunInfo(modelDir)
	if err != nil {
		return nil, err
	}
	progress(steps, steps, "evaluating")
	rep, err := family.Evaluate(modelDir, finalOpts)
	if err != nil {
		return nil, fmt.Errorf("evaluating: %w", err)
	}
	atoi := func(k string) int { v, _ := strconv.Atoi(meta[k]); return v }
	rec := &grid.Record{Family: r.g.Family, Row: run.Row.Name, Method: run.Row.Method, Kind: run.Row.Kind, Regime: run.Regime, Domain: run.Domain,
		Seed: run.Seed, Tuned: run.Tuned, ValLoss: info.KeptValLoss, Flags: definingFlags(f.Flags()), Command: r.command(run),
		Finetune: r.finetuneCommand(run),
		Steps:    steps, Kept: atoi("tram_kept_step"), Skipped: atoi("tram_skipped_steps"), Metrics: rep.Domains,
		Log: filepath.ToSlash(filepath.Join("runs", id+".log.jsonl")), TrainSeconds: info.TrainSeconds, EvalSeconds: rep.Seconds,
		Threads: parallel.Threads(), Backend: gemm.Backend(), Version: buildinfo.Version, Commit: buildinfo.Commit(), Data: r.dataSHA, EvalSettings: rep.Settings}
	if r.g.Family == "vision" && run.Domain == "" {
		rec.Domain = f.Domain()
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
	if err := r.wiseFT(run, modelDir, metricOpts, rec, progress); err != nil {
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
	if u := r.g.UserData; u != nil {
		o.Data = ""
		for _, t := range u.Tests {
			o.Tests = append(o.Tests, userdata.Named{Name: t.Name, Path: t.Path})
		}
		o.Columns = userdata.Columns{Text: u.TextColumn, Pair: u.TextPairColumn, Label: u.LabelColumn}
	}
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

// runChild runs one run as a child process (tram reproduce … --no-report
// for that run alone) and reads its record. The child reports progress
// through DIR/state/ID.progress; its stderr goes to DIR/state/ID.stderr.
func (r *reproducer) runChild(ctx context.Context, run grid.Run, st *runState, disp *gridDisplay) (*grid.Record, error) {
	exe, err := r.executable()
	if err != nil {
		return nil, err
	}
	id := run.ID()
	args := append(append(append([]string{"reproduce"}, r.target()...), r.runArgs(run)...), r.workerArgs()...)
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

// executable returns the tram binary that child processes run.
func (r *reproducer) executable() (string, error) {
	if r.binary != "" {
		return r.binary, nil
	}
	return os.Executable()
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
