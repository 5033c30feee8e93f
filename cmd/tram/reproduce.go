package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/family"
	"github.com/tramlab/tram/grid"
	"github.com/tramlab/tram/reproduce"
)

func init() {
	register(&command{name: "reproduce", summary: "run a family's grid of methods × seeds and write results and a report", run: runReproduce})
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
			"then the evaluation seeds), evaluate WiSE-FT points of the base runs, and name regimes; with a\n"+
			"data: key it fine-tunes any model directory of the family on your own files and tests it on\n"+
			"the test sets you name (docs/STUDIES.md, \"Your own data\").\n\n"+
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
	var slurm reproduce.SlurmOptions
	methods := fs.String("methods", "all", "rows to run: all, zeroshot, main, frontier, ablation, or comma-separated row names (see above)")
	seeds := fs.Int("seeds", 0, "run seeds 1…N (default: the family's, 5 for vision and xling, 3 for lm; --quick: 2)")
	seed := fs.Int("seed", 0, "run this one seed only (≥ 1) instead of 1…N")
	trainDomain := fs.String("train-domain", "", "training domain: lm, one of the grid's two (default both); vision, any digit domain of\n"+
		"--data (default the recipe's, script); xling: en; a study with its own data (data:): its train_domains")
	dataDir := fs.String("data", data.DefaultOutDir(), "`DIR` that `tram data build` (or `tram data demo`) wrote (unused by a study with its own data:\nkey, whose files the study names)")
	model := fs.String("model", "", "pretrained model `DIR` (default pretrained/FAMILY)")
	out := fs.String("out", "", "output `DIR` (default results/FAMILY, or results/FAMILY-quick with --quick; a study with its own\ndata: results/NAME, the study's name)")
	quick := fs.Bool("quick", false, "the same pipeline, tiny: "+quickDesc()+", 2 seeds; for checking the\nmachinery (minutes), not for results")
	jobs := fs.Int("jobs", 0, "runs side by side, each a child process of this binary (default: cores / --threads)")
	threads := fs.Int("threads", 1, "kernel threads per run; part of what makes a run's numbers (bit-identical for the same\nseed and thread count)")
	saveEvery := fs.Int("save-every", 25, "snapshot each run every N steps (≥ 1) so that an interrupted run loses at most N steps")
	keep := fs.Bool("keep-models", false, "keep each fine-tuned model in DIR/models/ID (default: deleted once evaluated)")
	executor := fs.String("executor", "local", "where the runs go: local (this machine, --jobs at a time) or slurm (one Slurm job-array task\nper unfinished run; see the slurm flags below)")
	slurmFlags(fs, &slurm)
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
	if err := checkSlurmFlags(fs, *executor); err != nil {
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
	case fam == "":
		return errors.New("name the family first (tram reproduce vision|lm|xling [flags]), or give --study FILE")
	default:
		var ok bool
		if g0, ok = grid.Families[fam]; !ok {
			return fmt.Errorf("unknown family %q; valid: %s (or --study FILE)", fam, strings.Join(family.Names, ", "))
		}
	}
	if g0.UserData != nil && flagGiven(fs, "data") {
		return fmt.Errorf("--data names the built-in datasets' directory, and the study %s has its own data (its data: key)", *studyFile)
	}
	set := map[string]string{}
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimPrefix(k, "--")
		if !ok || k == "" {
			return fmt.Errorf("--set %q: want FLAG=VALUE, e.g. --set steps=60", kv)
		}
		set[k] = v
	}
	switch {
	case *threads < 1:
		return fmt.Errorf("--threads %d: must be ≥ 1", *threads)
	case *saveEvery < 1:
		return fmt.Errorf("--save-every %d: must be ≥ 1", *saveEvery)
	}
	o := reproduce.Options{Study: g0, StudyFile: *studyFile, Set: set, Methods: *methods, Seeds: *seeds, Seed: *seed,
		TrainDomain: *trainDomain, Regime: *regime, Model: *model, Data: *dataDir, Out: *out, Quick: *quick, Jobs: *jobs,
		SaveEvery: *saveEvery, KeepModels: *keep, AllowDirty: *allowDirty, NoReport: *worker, Trial: *trial,
		Executor: *executor, Slurm: slurm, Args: args, Stderr: stderr}
	if flagGiven(fs, "threads") {
		o.Threads = *threads
	}
	o.Slurm.Poll, o.Slurm.QueryEvery, o.Slurm.Grace = slurmPoll, slurmQueryEvery, slurmGrace
	if interruptAt > 0 || testHookWriteOutput != nil {
		o.PrepareRun = applyTestHooks
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return reproduce.Run(ctx, o, stdout)
}

// flagGiven reports whether the flag name was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
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
	quick := reproduce.QuickFlags()
	for _, k := range slices.Sorted(maps.Keys(quick)) {
		parts = append(parts, "--"+k+" "+quick[k])
	}
	return strings.Join(parts, ", ") + ", small evaluation sets"
}
