// Package pretrain trains the small "foundation" models that tram's three
// experiment families fine-tune: a ResNet-style CNN on print glyphs
// (vision), a GPT-2-layout decoder on general English (lm) and a
// BERT/RoBERTa-layout multilingual encoder (xling), each with its tokenizer
// where the family reads text.
//
// A run writes a Hugging Face-layout directory (config.json,
// model.safetensors, tokenizer.json where text) and a CARD.md that says what
// data, command, version, steps, time and threads made it and what it reached
// on its training and held-out data. Runs are resumable: they snapshot into
// OUT.partial every SaveEvery steps and when interrupted, and a rerun of the
// same command continues bit for bit at the same thread count. Nothing is
// written to OUT until the run is complete.
package pretrain

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/internal/gemm"
	"github.com/tramlab/tram/internal/parallel"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/sharp"
	"github.com/tramlab/tram/train"
)

// Families lists the families Run accepts.
var Families = []string{"vision", "lm", "xling"}

// Options control a pretraining run. Zero Steps, Batch and LR take the
// family's recipe.
type Options struct {
	// Data is the directory `tram data build` writes into (it holds
	// vision/, lm/ and xling/).
	Data string
	// Out is the model directory to write.
	Out string
	// Steps, Batch and LR override the recipe when positive.
	Steps, Batch int
	LR           float64
	Seed         uint64
	// Corpus picks the lm family's pretraining text: "dictionary" (the
	// default: GCIDE entries and WordNet glosses) or "broad" (the
	// dictionary interleaved with the training splits of all eight
	// LM-Register domains — never their validation or test documents). Other
	// families have one corpus and refuse the option.
	Corpus string
	// SaveEvery snapshots the run every that many steps (0: only when
	// interrupted).
	SaveEvery int
	// Command is the command line recorded in the card; Version the tram
	// version.
	Command, Version string
	// Progress, when set, is called after every step.
	Progress func(done, total int, loss float64)
	// Log, when set, receives a line of text at the start, on resume and at
	// the end.
	Log io.Writer
}

// Result is what a run reached, as written into the card.
type Result struct {
	Family     string
	Steps      int
	Resumed    int // the step the run resumed from (0: started fresh)
	Wall       time.Duration
	Params     int
	TrainLoss  float64 // on a fixed sample of the training data, at the end
	ValidLoss  float64 // on the held-out data
	TrainAcc   float64 // classification families only (vision), else NaN-free 0
	ValidAcc   float64
	ValidPPL   float64 // lm only
	Extra      []string
	DataSHA256 string // of the data's manifest.json
}

// recipe is what a family contributes to a run.
type recipe struct {
	family string
	model  nn.Module
	base   optim.Optimizer
	sched  optim.Schedule
	task   train.Stream
	steps  int
	clip   float64
	// settings are recorded in the card and must match on resume.
	settings [][2]string
	// evaluate returns the end-of-run metrics.
	evaluate func(r *Result)
	// save writes the model (and tokenizer) into dir.
	save func(dir string) error
	// dataDir is the family's data directory (its manifest is checksummed).
	dataDir string
	// notes describe the data and the model for the card.
	notes []string
}

// Run pretrains the named family's model into o.Out.
func Run(ctx context.Context, family string, o Options) (*Result, error) {
	if o.Out == "" {
		return nil, fmt.Errorf("pretrain: no output directory")
	}
	if err := checkWritable(o.Out); err != nil {
		return nil, err
	}
	var (
		r   *recipe
		err error
	)
	switch family {
	case "lm":
		r, err = lmRecipe(o)
	case "vision":
		r, err = visionRecipe(o)
	case "xling":
		r, err = xlingRecipe(o)
	default:
		return nil, fmt.Errorf("unknown family %q; valid: %s", family, strings.Join(Families, ", "))
	}
	if err != nil {
		return nil, err
	}
	return r.run(ctx, o)
}

func (r *recipe) run(ctx context.Context, o Options) (*Result, error) {
	res := &Result{Family: r.family, Steps: r.steps, Params: r.model.Params().Len()}
	sum, err := data.ManifestSHA256(r.dataDir)
	if err != nil {
		return nil, fmt.Errorf("pretrain: the data's manifest: %w (run `tram data build %s`)", err, r.family)
	}
	res.DataSHA256 = sum
	opt := sharp.New(r.model, r.base, mustMethod(), o.Seed)
	opt.ClipNorm = r.clip
	args := map[string]string{"family": r.family, "seed": fmt.Sprint(o.Seed), "data_sha256": sum}
	for _, kv := range r.settings {
		args[kv[0]] = kv[1]
	}
	loop := &train.Loop{Opt: opt, Schedule: r.sched, Task: r.task, Steps: r.steps,
		Dir: filepath.Clean(o.Out) + ".partial", SaveEvery: o.SaveEvery, Args: args}
	loop.OnResume = func(step int) {
		res.Resumed = step
		logf(o.Log, "pretrain %s: resuming %s at step %d\n", r.family, loop.Dir, step)
	}
	loop.OnStep = func(done int, st sharp.Stats) error {
		if st.Skipped {
			return fmt.Errorf("pretrain %s: step %d: %s", r.family, done, st.Reason)
		}
		if o.Progress != nil {
			o.Progress(done, r.steps, st.Loss)
		}
		return nil
	}
	logf(o.Log, "pretrain %s: %d parameters, %d steps, %d threads, backend %s\n", r.family, res.Params, r.steps, parallel.Threads(), gemm.Backend())
	start := time.Now()
	if _, err := loop.Run(ctx); err != nil {
		return nil, err
	}
	res.Wall = time.Since(start)
	r.evaluate(res)

	// Write everything into a temporary sibling, then move it into place.
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(o.Out)), "."+filepath.Base(o.Out)+".tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	if err := r.save(tmp); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "CARD.md"), []byte(r.card(o, res, args)), 0o644); err != nil {
		return nil, err
	}
	if err := replaceDir(tmp, o.Out); err != nil {
		return nil, err
	}
	if err := loop.Clean(); err != nil {
		return nil, err
	}
	logf(o.Log, "pretrain %s: done in %s; written to %s\n", r.family, res.Wall.Round(time.Second), o.Out)
	return res, nil
}

func mustMethod() sharp.Method {
	m, err := sharp.NewMethod("adamw", sharp.Options{})
	if err != nil {
		panic(err)
	}
	return m
}

// card renders CARD.md.
func (r *recipe) card(o Options, res *Result, args map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Pretrained %s model\n\n", r.family)
	fmt.Fprintf(&b, "Made by `tram pretrain %s` (package pretrain). Rebuild it with the command below; at the same\n", r.family)
	fmt.Fprintf(&b, "thread count the result is bit for bit the same (every random draw depends only on the seed and\nthe step, and every reduction has a fixed order).\n\n")
	fmt.Fprintf(&b, "## Command\n\n```sh\n%s\n```\n\n", o.Command)
	fmt.Fprintf(&b, "## Provenance\n\n| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| tram version | %s |\n| GEMM backend | %s |\n| threads | %d |\n", o.Version, gemm.Backend(), parallel.Threads())
	fmt.Fprintf(&b, "| data | `%s` (manifest.json sha256 `%s`) |\n", filepath.Base(r.dataDir), res.DataSHA256)
	fmt.Fprintf(&b, "| steps | %d |\n| wall time | %s", res.Steps, res.Wall.Round(time.Second))
	if res.Resumed > 0 {
		fmt.Fprintf(&b, " (this invocation; resumed at step %d)", res.Resumed)
	}
	fmt.Fprintf(&b, " |\n| parameters | %d |\n\n", res.Params)
	fmt.Fprintf(&b, "## Settings\n\n| setting | value |\n|---|---|\n")
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "| %s | %s |\n", k, args[k])
	}
	fmt.Fprintf(&b, "\n## What it reached\n\n| metric | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| train loss (fixed sample, end) | %.4f |\n| held-out loss | %.4f |\n", res.TrainLoss, res.ValidLoss)
	if r.family == "lm" {
		fmt.Fprintf(&b, "| held-out perplexity | %.2f |\n", res.ValidPPL)
	}
	if res.TrainAcc > 0 || res.ValidAcc > 0 {
		fmt.Fprintf(&b, "| train accuracy | %.2f%% |\n| held-out accuracy | %.2f%% |\n", 100*res.TrainAcc, 100*res.ValidAcc)
	}
	for _, e := range res.Extra {
		fmt.Fprintf(&b, "| %s |\n", e)
	}
	if len(r.notes) > 0 {
		fmt.Fprintf(&b, "\n## Data and model\n\n")
		for _, n := range r.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

// replaceDir moves the complete directory src to dst, replacing what was
// there.
func replaceDir(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		old := dst + ".old"
		os.RemoveAll(old)
		if err := os.Rename(dst, old); err != nil {
			return err
		}
		if err := os.Rename(src, dst); err != nil {
			os.Rename(old, dst)
			return err
		}
		return os.RemoveAll(old)
	}
	return os.Rename(src, dst)
}

// checkWritable checks, before any work, that out's parent exists and
// takes files.
func checkWritable(out string) error {
	parent := filepath.Dir(filepath.Clean(out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	f, err := os.CreateTemp(parent, ".tram-probe-")
	if err != nil {
		return fmt.Errorf("--out %s: cannot write into %s: %w", out, parent, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

func logf(w io.Writer, format string, a ...any) {
	if w != nil {
		fmt.Fprintf(w, format, a...)
	}
}

// pick returns v when positive, else def.
func pick[T int | float64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
