package finetune

// This file is the fine-tuning configuration of `tram finetune`: its flags
// (Spec), their validation, the recipe they may come from (recipe.go), and
// the run they describe (Execute), which writes OUTDIR atomically.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/data"
	datalm "github.com/tramlab/tram/data/lm"
	"github.com/tramlab/tram/data/userdata"
	datavision "github.com/tramlab/tram/data/vision"
	"github.com/tramlab/tram/family"
	"github.com/tramlab/tram/internal/buildinfo"
	"github.com/tramlab/tram/internal/gemm"
	"github.com/tramlab/tram/internal/parallel"
	"github.com/tramlab/tram/internal/progress"
	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/sharp"
)

// A Spec is one fine-tuning run as the flags of `tram finetune` describe
// it: DefineFlags binds them onto a FlagSet (ParseSpec parses a command
// line, SpecFromFlags a map of flag values), Validate checks them, and
// Execute runs it.
type Spec struct {
	model, trainFile, out, method, optimizer, logFile, schedule, dropout string
	dataDir, domain, task, head, selectBy, configFile                    string
	steps, batch, warmup, micro, saveEvery, headWarmup, evalEvery        int
	lr, momentum, wd, beta1, beta2, adamEps, clip                        float64
	seed                                                                 uint64
	noShuffle, stopNonFinite                                             bool

	// The user's own data (package userdata): --train FILE|DIR with
	// --valid, --test NAME=PATH, the column flags and --block-size.
	validFile string
	tests     userdata.NamedList
	columns   userdata.Columns
	blockSize int

	// options holds the parsed values of the method-option flags
	// (optionFlags), by flag name: *float64, *bool or *string.
	options map[string]any
	// set names the flags given explicitly on the command line.
	set map[string]bool
	// args are the flags that define the run, as strings: a resumed run
	// must repeat them.
	args map[string]string

	// fs is the FlagSet the flags are bound on (DefineFlags).
	fs *flag.FlagSet

	// Set by the caller, not by flags (tram reproduce sets them):
	// Checkpoints are steps after which OnCheckpoint gets the model (to
	// evaluate it); Progress replaces the progress bar (and the closing
	// line on stderr).
	Checkpoints  []int
	OnCheckpoint func(step int, setup *family.Setup) error
	Progress     func(done, total int, note string)
	// InterruptAfter, when positive, makes the run behave as if
	// interrupted after that step (it snapshots and fails), for tests.
	InterruptAfter int
	// BeforeRename, when set, runs after OUTDIR's files are written into
	// their temporary directory and before it is renamed into place; its
	// error fails the write (for tests).
	BeforeRename func(tmp string) error
}

// Outcome is what a finished run reports.
type Outcome struct {
	Kept, Skipped int
	Wall          time.Duration
	// Eval is the test sets' report (--test), written to EvalResultsFile.
	Eval *family.Report
}

// optionFlags are the command-line flags of sharp.Options, in the order
// --help lists them. field is the Options field each sets, as
// sharp.OptionsUsed names it. A method's defaults come from
// sharp.DefaultOptions; a flag given explicitly replaces the default, zero
// included, and a flag the method does not use is an error.
var optionFlags = []struct{ name, field, usage string }{
	{"rho", "Rho", "radius ρ of SAM, ASAM and asam+* (≥ 0)"},
	{"gamma", "Gamma", "radius γ of FSAM and TRAM-Fisher (≥ 0)"},
	{"eta", "Eta", "FSAM/TRAM-Fisher damping η in f = 1 + η·g²; for ASAM and TRAM, the offset η in T = |θ| + η\n(≥ 0)"},
	{"lambda", "Lambda", "weight λ of the TRPO, R3F/R4F and MESA regularizers (and asam+*): loss + λ·reg_d; of l2sp:\n" +
		"loss + (λ/2)·‖θ − θ0‖² over the pretrained parameters, the new head excluded (≥ 0)"},
	{"ema-decay", "EMADecay", "EMA decay β of tram-ema's target and mesa's teacher, in [0, 1] (tram-ema: 0 is exactly\ntram-prev, 1 tram-theta0)"},
	{"sigma", "Sigma", "standard deviation σ of the input-embedding noise of tram-x, tram-fisher and r3f/r4f (≥ 0)"},
	{"tau", "Tau", "MESA temperature τ (> 0)"},
	{"uniform-noise", "UniformNoise", "draw the input-embedding noise from U(−σ, σ) instead of N(0, σ²)"},
	{"divergence", "Divergence", "divergence d_t of TRAM's trust region: kl (KL(target ‖ current), the paper's), kl-reverse,\nkl-symmetric, l2, mmd"},
	{"kappa", "Kappa", "multiplier κ of TRAM's radius: the radius is κ·d_t (≥ 0)"},
	{"max-radius", "MaxRadius", "cap on TRAM's radius κ·d_t (≥ 0; inf: no cap)"},
	{"weights-only", "WeightsOnly", "ASAM/TRAM adaptivity (T = |θ| + η) only on parameters whose name contains \"weight\", as in\nASAM's code; the others get T = 1"},
	{"no-gradient-factor", "NoGradientFactor", "TRAM's perturbation without the gradient factor, as in the paper's public code (an\nablation: the paper's Eq. 7 has it)"},
	{"target-eval-mode", "TargetEvalMode", "run TRAM's trust-region target forward in evaluation mode (no dropout) while the current\nmodel trains with dropout, as the paper's public code does (an ablation; needs --dropout on to\nmatter)"},
	{"m-sharpness", "MSharpness", "m-sharpness: one ascent per micro-batch, from its own gradient (needs --micro-batches ≥ 2)"},
	{"one-sided-kl", "OneSidedKL", "R3F's penalty one-sided, KL(p(·|x+z) ‖ p(·|x)) as the paper's Eq. 5, instead of the\nsymmetric KL"},
}

// optimizerFlags names the base optimizer each optimizer-specific flag
// belongs to; giving one for the other optimizer is an error.
var optimizerFlags = map[string]string{"momentum": "sgd", "beta1": "adamw", "beta2": "adamw", "adam-eps": "adamw"}

// outputFiles are the files tram finetune writes into OUTDIR. An existing
// OUTDIR holding anything else is refused, since OUTDIR is replaced as a
// whole at the end of the run.
var outputFiles = []string{"config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json", RunInfoFile, EvalResultsFile}

// EvalResultsFile is written beside the model when --test names test
// sets: their family.Report (as Hugging Face's Trainer writes
// eval_results.json).
const EvalResultsFile = "eval_results.json"

// userDataFlags were added after the first committed runs: when not given
// they are left out of Flags, so that snapshots of those runs still resume.
var userDataFlags = map[string]bool{"valid": true, "test": true, "text-column": true, "text-pair-column": true, "label-column": true, "block-size": true}

// RunInfoFile is written beside the model: what varies between two runs that
// compute the same model (wall time, the step a resumed run resumed at).
// Keeping it out of model.safetensors makes equal runs write equal model
// files (cmp), as the pretrained models do.
const RunInfoFile = "run_info.json"

// RunInfo is the content of RunInfoFile.
type RunInfo struct {
	TrainSeconds float64 `json:"train_seconds"`
	// ResumedAt is the step this process resumed from a snapshot (0: it
	// ran from the start).
	ResumedAt int `json:"resumed_at"`
	// KeptValLoss is the training domain's validation loss of the kept
	// parameters, when the run validated them.
	KeptValLoss *float64 `json:"kept_val_loss,omitempty"`
}

// Description is the command description of `tram finetune --help`.
func Description() string {
	return "Fine-tunes a pretrained model directory (config.json, model.safetensors, and tokenizer.json for\n" +
		"text) with one of the methods of docs/METHOD.md and writes the result to OUTDIR with the same\n" +
		"tensor names. The data are a family's training domain (--data DIR --domain D: vision digits,\n" +
		"LM-Register text, GetText-X sentences; a new classification head is added where the family has\n" +
		"one) or your own (--train, --valid, --test NAME=PATH: labelled texts in JSONL or CSV for an\n" +
		"encoder, image folders DIR/<class>/*.png for an image model, text for a GPT-2 model, or\n" +
		"pre-tokenized sequences; docs/DATA-YOURS.md). A language model's loss is\n" +
		"the mean cross-entropy over every predicted position (1…T−1), and its divergences average over\n" +
		"the logits of positions 0…T−2; a classifier's are over its examples' logits.\n" +
		"Methods: " + wrapList(sharp.MethodNames, 100-len("Methods: "), 100) + ".\n\n" +
		"Every flag is checked before any work starts; an error names the flag and its valid values.\n" +
		"Nothing is written to OUTDIR unless the whole run succeeds: the model and tokenizer are written\n" +
		"into a temporary sibling of OUTDIR and renamed into place as the last step (an existing OUTDIR\n" +
		"holding only " + strings.Join(outputFiles, ", ") + " is replaced).\n" +
		"OUTDIR/config.json is a copy of the input's: fine-tuning changes no configuration, and --dropout\n" +
		"is recorded in the metadata of model.safetensors instead (tram_dropout and tram_dropout_probs,\n" +
		"next to tram_method, tram_optimizer, tram_options, tram_seed, …). If writing OUTDIR fails, the\n" +
		"finished run is kept in OUTDIR.partial: rerun the same command to write it. What varies between\n" +
		"two runs that compute the same model (wall time, the step a resumed run resumed at) is written to\n" +
		"OUTDIR/" + RunInfoFile + ", not into the model's metadata: equal runs write equal model files."
}

// DefineFlags defines the flags of `tram finetune`, with their help texts,
// on fs and returns the Spec they fill. After fs.Parse, call Resolve.
func DefineFlags(fs *flag.FlagSet) *Spec {
	f := &Spec{options: map[string]any{}, set: map[string]bool{}, fs: fs}
	fs.StringVar(&f.model, "model", "", "input model directory: config.json and model.safetensors, tokenizer.json copied to OUTDIR\nwhen present (required)")
	fs.StringVar(&f.trainFile, "train", "", "your training data instead of --data/--domain (docs/DATA-YOURS.md): labelled texts for an\n"+
		"encoder (.jsonl, .csv, .tsv; the label set is the file's, sorted, written to config.json's\n"+
		"id2label), an image folder DIR/<class>/*.png|*.jpg for an image model, or for a GPT-2 model text\n"+
		"(.txt, one document per line, or .jsonl with a text field) packed into --block-size blocks, or\n"+
		`pre-tokenized JSONL lines {"input_ids": [...]} all of one length T ≤ n_positions`)
	fs.StringVar(&f.validFile, "valid", "", "your validation data, as --train (needed by --eval-every and --select best)")
	fs.Var(&f.tests, "test", "a test set of your data as `NAME=PATH` (repeatable): after training, each is scored as a\n"+
		"domain (accuracy with its 95% interval, or perplexity), written to OUTDIR/"+EvalResultsFile)
	f.columns.DefineFlags(fs)
	fs.IntVar(&f.blockSize, "block-size", 0, "your text for a GPT-2 model: tokens per training block (documents joined by <|endoftext|>;\n0: n_positions)")
	fs.StringVar(&f.dataDir, "data", data.DefaultOutDir(), "`DIR` that `tram data build` wrote; with --domain, the family's training data (the family\n"+
		"comes from the model's config.json)")
	fs.StringVar(&f.domain, "domain", "", "training domain: vision, a digit domain ("+strings.Join(datavision.DigitDomains, ", ")+");\n"+
		"lm, an LM-Register domain ("+strings.Join(datalm.Domains, ", ")+");\nxling: en (the default; training is on English)")
	fs.StringVar(&f.task, "task", "gettext", "xling task: gettext (GetText-X) or mansec (ManSec-X)")
	fs.StringVar(&f.head, "head", "new", "classification head: new (a fresh head sized to the task's labels, initialized from --seed;\n"+
		"the pretrained head is dropped, as Hugging Face's ignore_mismatched_sizes), keep (your data: the\n"+
		"checkpoint's own head, whose id2label must be the data's labels) or pretrained-rows (vision: the\n"+
		"pretrained 62-way glyph head's rows of the digits 0-9, so that TRAM-θ0's reference predicts\n"+
		"digits rather than noise)")
	fs.IntVar(&f.headWarmup, "head-warmup", 0, "train the new head alone for N steps (a linear probe, plain base optimizer; the rest of the\n"+
		"model is frozen, so --clip sees the head's gradient alone) before full fine-tuning; TRAM's θ0\n"+
		"is taken after it (≥ 0)")
	fs.IntVar(&f.evalEvery, "eval-every", 0, "validate on the training domain's validation split every N steps and after the last; each\n"+
		"result is a {\"step\", \"eval\"} record in --log (≥ 0; 0: never)")
	fs.StringVar(&f.selectBy, "select", "last", "checkpoint to keep: last, or best (lowest training-domain validation loss among the\n"+
		"--eval-every validations; never an out-of-domain number)")
	fs.StringVar(&f.configFile, "config", "", "YAML recipe `FILE` whose keys are these flags' names (and \"methods\": {METHOD: {flag: value}}\n"+
		"for per-method options); flags given on the command line override it; an unknown key is an\n"+
		"error naming its line. recipe:NAME reads a recipe built into tram (recipe:vision, recipe:lm,\n"+
		"recipe:xling: the files of the repository's recipes/). With --train (your data) a recipe's keys\n"+
		"about the built-in data are skipped: domain, task, data, head: pretrained-rows, and eval-every and\n"+
		"select unless --valid is given")
	fs.StringVar(&f.out, "out", "", "output model directory (required); its parent must be writable, and it must differ from --model")
	fs.StringVar(&f.method, "method", "", "method (required): "+wrapList(sharp.MethodNames, 80, 90)+";\nr4f needs a spectrally normalized classification head, which a GPT-2 language model lacks")
	fs.IntVar(&f.steps, "steps", 0, "number of optimizer steps (required, ≥ 0). 0 writes the starting model without fine-tuning: the\nzero-shot model, or with --head-warmup N a linear probe (the new head trained alone)")
	fs.IntVar(&f.batch, "batch-size", 0, "sequences per step (required, 1 … the number of sequences in --train)")
	fs.Float64Var(&f.lr, "lr", 0, "peak learning rate (required, > 0)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed for shuffling, dropout and noise: the same seed and thread count give bit-identical runs")
	fs.BoolVar(&f.noShuffle, "no-shuffle", false, "take lines in file order: batch i row j is line (i·B + j) mod N (default: a fresh\nshuffle of the lines every epoch)")
	fs.StringVar(&f.dropout, "dropout", "0", "dropout probability P in [0, 1) for every dropout the model defines (GPT-2:\n"+
		"resid_pdrop, embd_pdrop, attn_pdrop), or \"config\" to keep config.json's. The fine-tuning\n"+
		"default is 0, so that d_t measures only the parameter or input change (docs/METHOD.md §9.4).\n"+
		"Said on stderr when on; recorded in every --log record (\"dropout\") and in the model's metadata\n"+
		"(tram_dropout); OUTDIR/config.json keeps the input's values")
	fs.StringVar(&f.optimizer, "optimizer", "adamw", "base optimizer: sgd or adamw (--method sgd|adamw sets it too)")
	fs.Float64Var(&f.momentum, "momentum", 0, "SGD momentum, in [0, 1) (--optimizer sgd only)")
	fs.Float64Var(&f.wd, "weight-decay", 0, "weight decay (≥ 0), applied to every parameter (SGD: coupled; AdamW: decoupled)")
	fs.Float64Var(&f.beta1, "beta1", 0.9, "AdamW β1, in [0, 1) (--optimizer adamw only)")
	fs.Float64Var(&f.beta2, "beta2", 0.99, "AdamW β2, in [0, 1) (the paper's language setting; --optimizer adamw only)")
	fs.Float64Var(&f.adamEps, "adam-eps", 1e-8, "AdamW ε (> 0; --optimizer adamw only)")
	for _, o := range optionFlags {
		usage := o.usage + "\n(default: per method, see below)"
		switch reflect.ValueOf(sharp.Options{}).FieldByName(o.field).Kind() {
		case reflect.Bool:
			f.options[o.name] = fs.Bool(o.name, false, usage)
		case reflect.Float64:
			f.options[o.name] = fs.Float64(o.name, 0, usage)
		default:
			f.options[o.name] = fs.String(o.name, "", usage)
		}
	}
	fs.StringVar(&f.schedule, "schedule", "constant", "learning-rate schedule: constant, cosine (warmup, then cosine decay to 0), linear\n(warmup, then linear decay to 0)")
	fs.IntVar(&f.warmup, "warmup", 0, "linear warmup steps of the cosine and linear schedules, in [0, --steps]")
	fs.IntVar(&f.micro, "micro-batches", 1, "split each batch into this many micro-batches (gradient accumulation); ≥ 1 and dividing\n--batch-size")
	fs.Float64Var(&f.clip, "clip-norm", 0, "clip the gradient to this global L2 norm (≥ 0; 0: off)")
	fs.BoolVar(&f.stopNonFinite, "stop-on-nonfinite", false, "stop with an error at a non-finite loss, gradient or radius instead of skipping the step")
	fs.StringVar(&f.logFile, "log", "", "write one JSON object per step to this file (outside OUTDIR): step, loss, d (TRAM's\n"+
		"d_t before κ and the cap, or the fixed ρ or γ), radius (the radius used), reg_d (the\n"+
		"regularizer's divergence, unweighted), eps_norm, grad_norm, sharp_grad_norm, lr, skipped,\n"+
		"dropout ({resid_pdrop, embd_pdrop, attn_pdrop} as applied), pass1_ms, target_ms, pass2_ms,\n"+
		"update_ms; a resumed run appends")
	fs.IntVar(&f.saveEvery, "save-every", 0, "snapshot the run every N steps (≥ 0; 0: only on interrupt) into OUTDIR.partial (an\n"+
		"interrupted run, e.g. by Ctrl-C, always snapshots); rerunning the same command resumes from the\nnewest snapshot")
	return f
}

// ParseSpec defines the flags of `tram finetune` on fs (DefineFlags),
// parses args with it and resolves the result (Resolve). Errors of the
// flag package are fs's (which prints them, and the usage, on its output).
func ParseSpec(fs *flag.FlagSet, args []string) (*Spec, error) {
	f := DefineFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := f.Resolve(); err != nil {
		return nil, err
	}
	return f, nil
}

// SpecFromFlags returns the Spec of the `tram finetune` flags given as a
// map from flag name (without dashes) to value, as on the command line
// (--config included, applied as it is there).
func SpecFromFlags(flags map[string]string) (*Spec, error) {
	fs := flag.NewFlagSet("tram finetune", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var args []string
	for _, k := range slices.Sorted(maps.Keys(flags)) {
		args = append(args, "--"+k+"="+flags[k])
	}
	f, err := ParseSpec(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		err = errors.New("help requested")
	}
	return f, err
}

// Resolve completes a Spec whose FlagSet has been parsed: it notes the
// flags given, applies the --config recipe to the others and records the
// flags that define the run (Flags).
func (f *Spec) Resolve() error {
	fs := f.fs
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if f.configFile != "" {
		if err := applyConfig(fs, f.set, f.configFile); err != nil {
			return err
		}
	}
	// The flags that define the run: a resumed run must repeat them. A
	// method option not given is recorded as such, since giving it, even
	// with the value 0, replaces the method's default.
	f.args = map[string]string{}
	fs.VisitAll(func(fl *flag.Flag) {
		switch _, option := f.options[fl.Name]; {
		case fl.Name == "out" || fl.Name == "log" || fl.Name == "save-every" || fl.Name == "config":
		case userDataFlags[fl.Name] && !f.set[fl.Name]:
		case option && !f.set[fl.Name]:
			f.args[fl.Name] = "(method default)"
		default:
			f.args[fl.Name] = fl.Value.String()
		}
	})
	return nil
}

// Flags returns the flags that define the run, by name, as strings (a
// resumed run must repeat them): every flag but --out, --log, --save-every
// and --config, a method option not given as "(method default)". It is
// the Spec's own map: Validate and Execute write --dropout's canonical
// spelling into it.
func (f *Spec) Flags() map[string]string { return f.args }

// Out returns OUTDIR (--out).
func (f *Spec) Out() string { return f.out }

// Steps returns the number of optimizer steps (--steps).
func (f *Spec) Steps() int { return f.steps }

// Domain returns the training domain (--domain).
func (f *Spec) Domain() string { return f.domain }

// Validate checks every flag that can be checked without reading the model
// or the data, as Execute does first.
func (f *Spec) Validate() error {
	c := *f
	_, _, err := validate(&c)
	return err
}

// MethodDefaultsHelp lists, for --help, the options each method uses and
// their defaults (sharp.DefaultOptions), methods with the same list on one
// line.
func MethodDefaultsHelp() string {
	var b strings.Builder
	b.WriteString("\nMethod options (--rho … --one-sided-kl) each method uses, with its defaults. A flag given\n" +
		"explicitly replaces the default, zero included (--ema-decay 0 is β = 0); a flag the method\n" +
		"does not use is an error. Switches are off unless marked (on).\n")
	var names []string
	var lists [][]string
	for _, m := range sharp.MethodNames {
		def := sharp.DefaultOptions(m)
		var items []string
		for _, field := range sharp.OptionsUsed(m) {
			item := "--" + optionFlagName(field)
			switch v := reflect.ValueOf(def).FieldByName(field); {
			case v.Kind() != reflect.Bool:
				item += " " + formatOption(v)
			case v.Bool():
				item += " (on)"
			}
			items = append(items, item)
		}
		if len(items) == 0 {
			items = []string{"none"}
		}
		if n := len(lists); n > 0 && slices.Equal(lists[n-1], items) {
			names[n-1] += ", " + m
			continue
		}
		names, lists = append(names, m), append(lists, items)
	}
	for i := range names {
		line := "  " + names[i] + ":"
		for j, item := range lists[i] {
			if j < len(lists[i])-1 {
				item += ","
			}
			if len([]rune(line))+1+len([]rune(item)) > 100 {
				b.WriteString(line + "\n")
				line = "      "
			} else {
				line += " "
			}
			line += item
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// wrapList joins names with ", ", breaking the line before a name that
// would pass column first (the first line) or width (the others).
func wrapList(names []string, first, width int) string {
	var b strings.Builder
	col, limit := 0, first
	for i, n := range names {
		if i > 0 {
			b.WriteString(",")
			if col+2+len(n) > limit {
				b.WriteString("\n")
				col, limit = 0, width
			} else {
				b.WriteString(" ")
				col++
			}
		}
		b.WriteString(n)
		col += len(n) + 1
	}
	return b.String()
}

// optionFlagName returns the flag that sets an Options field.
func optionFlagName(field string) string {
	for _, o := range optionFlags {
		if o.field == field {
			return o.name
		}
	}
	return strings.ToLower(field) // not reached: TestOptionFlagsCoverOptionsUsed
}

// formatOption writes an option's value as its flag would take it.
func formatOption(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Float64:
		if math.IsInf(v.Float(), 1) {
			return "inf"
		}
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	}
	if d, ok := v.Interface().(sharp.Divergence); ok && d != nil {
		return d.Name()
	}
	return fmt.Sprint(v.Interface())
}

// methodOptions returns sharp.DefaultOptions(f.method) with every method
// flag given explicitly applied, after checking that the method uses it and
// that its value is in range.
func methodOptions(f Spec) (sharp.Options, error) {
	o := sharp.DefaultOptions(f.method)
	o.Seed = f.seed
	used := sharp.OptionsUsed(f.method)
	ov := reflect.ValueOf(&o).Elem()
	for _, of := range optionFlags {
		if !f.set[of.name] {
			continue
		}
		if !slices.Contains(used, of.field) {
			var valid []string
			for _, u := range used {
				valid = append(valid, "--"+optionFlagName(u))
			}
			if len(valid) == 0 {
				return o, fmt.Errorf("--%s is not an option of --method %s, which takes none of the method options", of.name, f.method)
			}
			return o, fmt.Errorf("--%s is not an option of --method %s; its options are %s", of.name, f.method, strings.Join(valid, ", "))
		}
		fv := ov.FieldByName(of.field)
		switch p := f.options[of.name].(type) {
		case *bool:
			fv.SetBool(*p)
		case *float64:
			if err := checkOptionRange(of.name, *p); err != nil {
				return o, err
			}
			fv.SetFloat(*p)
		case *string: // --divergence
			d, err := sharp.DivergenceByName(*p)
			if err != nil {
				return o, fmt.Errorf("--%s: %w", of.name, err)
			}
			fv.Set(reflect.ValueOf(d))
		}
	}
	if o.MSharpness && f.micro < 2 {
		return o, fmt.Errorf("--m-sharpness needs --micro-batches ≥ 2 (each micro-batch gets its own ascent); got %d", f.micro)
	}
	return o, nil
}

// checkOptionRange checks the value of a numeric method-option flag.
func checkOptionRange(name string, x float64) error {
	ok, rng := x >= 0 && !math.IsInf(x, 1), "≥ 0 and finite"
	switch name {
	case "ema-decay":
		ok, rng = x >= 0 && x <= 1, "in [0, 1]"
	case "tau":
		ok, rng = x > 0 && !math.IsInf(x, 1), "> 0 and finite"
	case "max-radius":
		ok, rng = x >= 0, "≥ 0 (inf: no cap)"
	}
	if !ok { // NaN fails every comparison
		return fmt.Errorf("--%s must be %s (got %v)", name, rng, x)
	}
	return nil
}

// optionsString writes the options a method uses as "flag=value" pairs,
// for the model's metadata.
func optionsString(method string, o sharp.Options) string {
	var parts []string
	for _, field := range sharp.OptionsUsed(method) {
		parts = append(parts, optionFlagName(field)+"="+formatOption(reflect.ValueOf(o).FieldByName(field)))
	}
	return strings.Join(parts, " ")
}

// parseDropout checks --dropout: "config" or a probability in [0, 1). It
// returns the canonical spelling (the resume check compares it) and the
// probability (−1 for config).
func parseDropout(s string) (string, float64, error) {
	if s == "config" {
		return s, -1, nil
	}
	p, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(p) || p < 0 || p >= 1 {
		return "", 0, fmt.Errorf(`--dropout must be "config" or a probability in [0, 1) (got %q)`, s)
	}
	return strconv.FormatFloat(p, 'g', -1, 64), p, nil
}

// validate checks every flag that can be checked without reading the model
// or the data, and resolves the optimizer, schedule and method options.
func validate(f *Spec) (sched optim.Schedule, opts sharp.Options, err error) {
	var missing []string
	for _, r := range []struct {
		name string
		ok   bool
	}{{"model", f.model != ""}, {"out", f.out != ""}, {"method", f.method != ""},
		{"steps", f.set["steps"]}, {"batch-size", f.set["batch-size"]}, {"lr", f.set["lr"]}} {
		if !r.ok {
			missing = append(missing, "--"+r.name)
		}
	}
	if len(missing) > 0 {
		return nil, opts, fmt.Errorf("missing required flags: %s", strings.Join(missing, ", "))
	}
	if !slices.Contains(sharp.MethodNames, f.method) {
		return nil, opts, fmt.Errorf("--method: unknown method %q; valid methods: %s", f.method, strings.Join(sharp.MethodNames, ", "))
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	for _, c := range []struct {
		bad  bool
		flag string
		rng  string
		got  any
	}{
		{f.steps < 0, "steps", "≥ 0 (0: no fine-tuning step; with --head-warmup a linear probe alone)", f.steps},
		{f.batch < 1, "batch-size", "≥ 1", f.batch},
		{!(f.lr > 0) || !finite(f.lr), "lr", "> 0 and finite", f.lr},
		{f.micro < 1 || f.batch%f.micro != 0, "micro-batches", fmt.Sprintf("≥ 1 and divide --batch-size %d", f.batch), f.micro},
		{f.warmup < 0 || f.warmup > f.steps, "warmup", fmt.Sprintf("in [0, --steps %d]", f.steps), f.warmup},
		{f.saveEvery < 0, "save-every", "≥ 0 (0: only on interrupt)", f.saveEvery},
		{!(f.clip >= 0) || !finite(f.clip), "clip-norm", "≥ 0 and finite (0: off)", f.clip},
		{!(f.wd >= 0) || !finite(f.wd), "weight-decay", "≥ 0 and finite", f.wd},
		{!(f.momentum >= 0 && f.momentum < 1), "momentum", "in [0, 1)", f.momentum},
		{!(f.beta1 >= 0 && f.beta1 < 1), "beta1", "in [0, 1)", f.beta1},
		{!(f.beta2 >= 0 && f.beta2 < 1), "beta2", "in [0, 1)", f.beta2},
		{!(f.adamEps > 0) || !finite(f.adamEps), "adam-eps", "> 0 and finite", f.adamEps},
		{f.headWarmup < 0, "head-warmup", "≥ 0", f.headWarmup},
		{f.evalEvery < 0, "eval-every", "≥ 0 (0: never)", f.evalEvery},
	} {
		if c.bad {
			return nil, opts, fmt.Errorf("--%s must be %s (got %v)", c.flag, c.rng, c.got)
		}
	}
	seqs := f.trainFile != "" && userdata.HasTokenIDs(f.trainFile)
	user := f.trainFile != "" && !seqs
	switch {
	case f.trainFile != "" && f.set["domain"]:
		return nil, opts, errors.New("--train and --domain exclude each other: --train takes your data, --data/--domain a family's domain")
	case f.trainFile != "" && f.set["task"]:
		return nil, opts, errors.New("--task chooses a built-in xling task (--data); with --train the task is your data's")
	case seqs && (f.evalEvery > 0 || f.headWarmup > 0 || f.set["head"] || f.validFile != "" || len(f.tests) > 0 || f.set["block-size"]):
		return nil, opts, fmt.Errorf("--train %s holds pre-tokenized sequences: --eval-every, --head-warmup, --head, --valid, --test and --block-size need text or labelled data", f.trainFile)
	case f.trainFile == "" && (f.validFile != "" || len(f.tests) > 0 || f.set["block-size"] || f.columns != userdata.Columns{}):
		return nil, opts, errors.New("--valid, --test, --block-size and the column flags describe your own data: give --train FILE|DIR too")
	case user && f.evalEvery > 0 && f.validFile == "":
		return nil, opts, errors.New("--eval-every needs --valid FILE|DIR with your data (the validation set)")
	case f.blockSize < 0:
		return nil, opts, fmt.Errorf("--block-size must be ≥ 0 (got %d)", f.blockSize)
	case f.head == "keep" && !user:
		return nil, opts, errors.New("--head keep needs your own data (--train): the built-in tasks' labels are not a pretrained head's")
	case f.selectBy != "last" && f.selectBy != "best":
		return nil, opts, fmt.Errorf("--select must be last or best (got %q)", f.selectBy)
	case f.selectBy == "best" && f.evalEvery == 0:
		return nil, opts, errors.New("--select best needs --eval-every N (the validation loss decides)")
	case f.head != "new" && f.head != "keep" && f.head != "pretrained-rows":
		return nil, opts, fmt.Errorf("--head must be new, keep or pretrained-rows (got %q)", f.head)
	case f.task != "gettext" && f.task != "mansec":
		return nil, opts, fmt.Errorf("--task must be gettext or mansec (got %q)", f.task)
	}
	for _, p := range append([]string{f.trainFile, f.validFile}, testPaths(f.tests)...) {
		if _, err := os.Stat(p); p != "" && err != nil {
			return nil, opts, fmt.Errorf("your data: %w", err)
		}
	}
	if f.trainFile == "" {
		if st, err := os.Stat(f.dataDir); err != nil || !st.IsDir() {
			return nil, opts, fmt.Errorf("--data %s: no such directory (run `tram data fetch && tram data build`), or give --train FILE", f.dataDir)
		}
	}
	if f.optimizer != "sgd" && f.optimizer != "adamw" {
		return nil, opts, fmt.Errorf("--optimizer: unknown optimizer %q; valid: sgd, adamw", f.optimizer)
	}
	if (f.method == "sgd" || f.method == "adamw") && f.optimizer != f.method {
		if f.set["optimizer"] {
			return nil, opts, fmt.Errorf("--method %s conflicts with --optimizer %s", f.method, f.optimizer)
		}
		f.optimizer = f.method
	}
	for _, name := range slices.Sorted(maps.Keys(optimizerFlags)) {
		if f.set[name] && optimizerFlags[name] != f.optimizer {
			return nil, opts, fmt.Errorf("--%s is an option of --optimizer %s, and this run's optimizer is %s", name, optimizerFlags[name], f.optimizer)
		}
	}
	if f.schedule == "constant" && f.set["warmup"] {
		return nil, opts, errors.New("--warmup needs --schedule cosine or linear (the constant schedule has no warmup)")
	}
	if sched, err = optim.ParseSchedule(f.schedule, f.lr, f.warmup, f.steps); err != nil {
		return nil, opts, fmt.Errorf("--schedule: %w", err)
	}
	canon, _, err := parseDropout(f.dropout)
	if err != nil {
		return nil, opts, err
	}
	f.dropout, f.args["dropout"] = canon, canon
	if opts, err = methodOptions(*f); err != nil {
		return nil, opts, err
	}
	if err := checkOut(f.out, f.model, f.logFile); err != nil {
		return nil, opts, err
	}
	return sched, opts, nil
}

// checkOut checks that OUTDIR can be written at the end of the run: it
// differs from the input model, an existing OUTDIR holds only what tram
// finetune writes, and its parent (or the nearest existing ancestor) is a
// writable directory, proven by creating and removing a probe file.
func checkOut(out, model, logFile string) error {
	a := abs(out)
	if a == abs(model) {
		return errors.New("--out must differ from --model")
	}
	if l := abs(logFile); logFile != "" && (l == a || strings.HasPrefix(l, a+string(filepath.Separator))) {
		return fmt.Errorf("--log %s lies inside --out %s, which is replaced as a whole at the end of the run", logFile, out)
	}
	if st, err := os.Lstat(out); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("--out %s exists and is not a directory", out)
		}
		ents, err := os.ReadDir(out)
		if err != nil {
			return fmt.Errorf("--out %s: %w", out, err)
		}
		for _, e := range ents {
			if !slices.Contains(outputFiles, e.Name()) || !e.Type().IsRegular() {
				return fmt.Errorf("--out %s exists and holds %s, which tram finetune does not write (OUTDIR is replaced as a whole): choose another directory or empty it", out, e.Name())
			}
		}
	} else if !os.IsNotExist(err) {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	dir := filepath.Dir(a)
	for {
		st, err := os.Stat(dir)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("--out %s: %s is not a directory", out, dir)
			}
			break
		}
		if !os.IsNotExist(err) || filepath.Dir(dir) == dir {
			return fmt.Errorf("--out %s: %w", out, err)
		}
		dir = filepath.Dir(dir)
	}
	probe, err := os.CreateTemp(dir, ".tram-probe-*")
	if err != nil {
		return fmt.Errorf("--out %s: cannot write in %s: %w", out, dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// Execute runs the fine-tuning run: it validates every flag before any
// work and before touching OUTDIR, opens the model and its data, runs it
// (resuming from OUTDIR.partial when an earlier run of the same flags
// left a snapshot there; ctx's cancellation interrupts it with a
// snapshot) and writes OUTDIR atomically. Notices go to stderr, and the
// progress bar too unless Progress is set.
func (s *Spec) Execute(ctx context.Context, stderr io.Writer) (*Outcome, error) {
	f := *s
	// Validate everything before any work, and before touching OUTDIR.
	sched, opts, err := validate(&f)
	if err != nil {
		return nil, err
	}
	method, err := sharp.NewMethod(f.method, opts)
	if err != nil {
		return nil, err
	}
	var dropout *float64
	if _, p, _ := parseDropout(f.dropout); p >= 0 {
		dropout = &p
	}
	// The model, its data and its validation split: pre-tokenized
	// sequences (--train), or a family's domain (--data, --domain).
	var setup *family.Setup
	if f.trainFile != "" && !userdata.HasTokenIDs(f.trainFile) {
		if fam, err := family.Detect(f.model); err != nil {
			return nil, err
		} else if method.SpectralHead && fam == "lm" {
			return nil, fmt.Errorf("--method %s needs a spectrally normalized classification head; a GPT-2 language model has none", f.method)
		}
		setup, err = family.Open(f.model, family.Options{Batch: f.batch, Micro: f.micro, Seed: f.seed, Head: f.head,
			SpectralHead: method.SpectralHead, Dropout: dropout,
			User: &family.UserData{Train: f.trainFile, Valid: f.validFile, Columns: f.columns, BlockSize: f.blockSize}})
	} else if f.trainFile != "" {
		if method.SpectralHead {
			return nil, fmt.Errorf("--method %s needs a spectrally normalized classification head; a GPT-2 language model has none", f.method)
		}
		setup, err = family.OpenSequences(f.model, family.SequencesOptions{File: f.trainFile, Batch: f.batch, Micro: f.micro,
			Seed: f.seed, NoShuffle: f.noShuffle, Dropout: dropout})
	} else {
		if fam, err := family.Detect(f.model); err != nil {
			return nil, err
		} else if method.SpectralHead && fam == "lm" {
			return nil, fmt.Errorf("--method %s needs a spectrally normalized classification head; a GPT-2 language model has none", f.method)
		}
		setup, err = family.Open(f.model, family.Options{Data: f.dataDir, Domain: f.domain, Task: f.task, Batch: f.batch,
			Micro: f.micro, Seed: f.seed, Head: f.head, SpectralHead: method.SpectralHead, Dropout: dropout})
	}
	if err != nil {
		return nil, err
	}
	if f.batch > setup.TrainSize {
		return nil, fmt.Errorf("--batch-size %d exceeds the %d training examples of the %s domain %s (valid: 1 … %d)", f.batch, setup.TrainSize, setup.Family, setup.Domain, setup.TrainSize)
	}
	if f.headWarmup > 0 && setup.HeadHi <= setup.HeadLo {
		return nil, fmt.Errorf("--head-warmup %d: the %s model gets no new head", f.headWarmup, setup.Family)
	}
	if f.evalEvery > 0 && setup.Validate == nil {
		return nil, errors.New("--eval-every needs a validation split: fine-tune on a family's domain (--data, --domain), or give --valid")
	}
	for _, n := range setup.Notices {
		fmt.Fprintf(stderr, "tram finetune: %s\n", n)
	}
	newBase := func() optim.Optimizer {
		if f.optimizer == "sgd" {
			return optim.NewSGD(f.lr, f.momentum, f.wd)
		}
		a := optim.NewAdamW(f.lr, f.wd)
		a.Beta1, a.Beta2, a.Eps = f.beta1, f.beta2, f.adamEps
		return a
	}
	base := newBase()
	var logw *os.File
	stateDir := filepath.Clean(f.out) + ".partial"
	if f.logFile != "" {
		mode := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		if _, err := os.Stat(filepath.Join(stateDir, "latest")); err == nil {
			mode = os.O_CREATE | os.O_WRONLY | os.O_APPEND // a resumed run appends
		}
		if logw, err = os.OpenFile(f.logFile, mode, 0o644); err != nil {
			return nil, fmt.Errorf("--log: %w", err)
		}
		defer logw.Close()
	}
	dropJSON, _ := json.Marshal(setup.Dropout)
	on := false
	for _, p := range setup.Dropout {
		on = on || p > 0
	}
	if on && setup.Family == "lm" && f.trainFile != "" {
		fmt.Fprintf(stderr, "tram finetune: dropout on (--dropout %s: resid_pdrop %g, embd_pdrop %g, attn_pdrop %g): d measures dropout noise too\n",
			f.dropout, setup.Dropout["resid_pdrop"], setup.Dropout["embd_pdrop"], setup.Dropout["attn_pdrop"])
	}
	bar := progress.New(stderr, "finetune "+f.method, f.steps)
	onProgress := func(done, total int, note string) { bar.Update(done, note) }
	if f.Progress != nil {
		bar.Enabled, onProgress = false, f.Progress
	}
	cfg := Config{Setup: setup, Method: method, Base: base, Schedule: sched, Steps: f.steps, Seed: f.seed,
		ClipNorm: f.clip, StopOnNonFinite: f.stopNonFinite, EvalEvery: f.evalEvery, Select: f.selectBy,
		HeadWarmup: f.headWarmup, NewHeadWarmupBase: newBase, StateDir: stateDir, SaveEvery: f.saveEvery, Args: f.args,
		LogFields: map[string]any{"dropout": json.RawMessage(dropJSON)},
		Progress:  onProgress,
		Notify:    func(msg string) { fmt.Fprintf(stderr, "tram finetune: %s\n", msg) }}
	if logw != nil {
		cfg.Log = logw
	}
	if f.InterruptAfter > 0 {
		cfg.InterruptAfter = f.InterruptAfter
	}
	if f.OnCheckpoint != nil {
		cfg.Checkpoints = f.Checkpoints
		cfg.OnCheckpoint = func(step int) error { return f.OnCheckpoint(step, setup) }
	}
	res, err := Run(ctx, cfg)
	bar.Done()
	if err != nil {
		return nil, err
	}
	meta := map[string]string{
		"tram_version": buildinfo.Version, "tram_commit": buildinfo.Commit(), "tram_method": f.method, "tram_steps": fmt.Sprint(f.steps),
		"tram_skipped_steps": fmt.Sprint(res.Skipped), "tram_gemm_backend": gemm.Backend(),
		"tram_threads": fmt.Sprint(parallel.Threads()), "tram_seed": fmt.Sprint(f.seed),
		"tram_optimizer": f.optimizer, "tram_options": optionsString(f.method, opts),
		"tram_dropout": f.dropout, "tram_dropout_probs": string(dropJSON),
		"tram_family": setup.Family, "tram_select": f.selectBy, "tram_kept_step": fmt.Sprint(res.Kept),
	}
	info := RunInfo{TrainSeconds: math.Round(res.Wall.Seconds()*1e3) / 1e3, ResumedAt: res.Resumed}
	if !math.IsNaN(res.KeptLoss) {
		info.KeptValLoss = &res.KeptLoss
	}
	if setup.Domain != "" {
		meta["tram_domain"] = setup.Domain
	}
	if f.headWarmup > 0 {
		meta["tram_head_warmup"] = fmt.Sprint(f.headWarmup)
	}
	var evalReport *family.Report
	save := func(dir string) error {
		if err := setup.Save(dir, meta); err != nil {
			return err
		}
		if len(f.tests) > 0 {
			// Score the written model on the test sets, as `tram eval
			// --test` would score OUTDIR.
			rep, err := family.Evaluate(dir, family.EvalOptions{Tests: f.tests, Columns: f.columns})
			if err != nil {
				return fmt.Errorf("--test: %w", err)
			}
			rep.Model, evalReport = f.out, rep
			if err := checkpoint.WriteJSON(filepath.Join(dir, EvalResultsFile), rep); err != nil {
				return err
			}
		}
		return checkpoint.WriteJSON(filepath.Join(dir, RunInfoFile), info)
	}
	if err := writeOutput(f.out, save, f.BeforeRename); err != nil {
		if serr := res.Snapshot(); serr != nil {
			return nil, fmt.Errorf("writing --out %s failed: %v; saving the finished run to %s failed too: %v", f.out, err, stateDir, serr)
		}
		return nil, fmt.Errorf("writing --out %s failed: %v; the finished run is saved in %s: rerun the same command to write it", f.out, err, stateDir)
	}
	os.RemoveAll(stateDir) // the run is complete: its snapshots are no longer needed
	kept := ""
	if f.selectBy == "best" {
		kept = fmt.Sprintf("; kept step %d (validation loss %.4f)", res.Kept, res.KeptLoss)
	}
	if f.Progress == nil {
		fmt.Fprintf(stderr, "tram finetune: %d steps in %s (%d skipped)%s; model written to %s\n", f.steps-res.Resumed, res.Wall.Round(time.Millisecond), res.Skipped, kept, f.out)
	}
	return &Outcome{Kept: res.Kept, Skipped: res.Skipped, Wall: res.Wall, Eval: evalReport}, nil
}

// testPaths returns the paths of named test sets.
func testPaths(tests []userdata.Named) []string {
	var out []string
	for _, t := range tests {
		out = append(out, t.Path)
	}
	return out
}

// writeOutput writes the model, the input's config.json and tokenizer.json
// (when there is one) into a temporary sibling of out and renames it into
// place, replacing an existing out (checked by checkOut to hold only these
// files). beforeRename, when not nil, runs just before the rename, and its
// error fails the write. On error nothing is left at out that was not
// there before.
func writeOutput(out string, save func(dir string) error, beforeRename func(tmp string) error) error {
	out = filepath.Clean(out)
	parent, base := filepath.Dir(out), filepath.Base(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // gone after a successful rename
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := save(tmp); err != nil {
		return err
	}
	if beforeRename != nil {
		if err := beforeRename(tmp); err != nil {
			return err
		}
	}
	if _, err := os.Lstat(out); err == nil {
		// Replace the old OUTDIR: move it aside, move the new one in, and
		// only then remove the old one (or put it back on failure).
		old, err := os.MkdirTemp(parent, "."+base+".old-")
		if err != nil {
			return err
		}
		os.Remove(old) // a fresh name: os.Rename does not replace directories
		defer os.RemoveAll(old)
		if err := os.Rename(out, old); err != nil {
			return err
		}
		if err := os.Rename(tmp, out); err != nil {
			os.Rename(old, out)
			return err
		}
		return nil
	}
	return os.Rename(tmp, out)
}

// ReadRunInfo reads the run_info.json that Execute writes beside a model.
func ReadRunInfo(dir string) (RunInfo, error) {
	var info RunInfo
	raw, err := os.ReadFile(filepath.Join(dir, RunInfoFile))
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return info, fmt.Errorf("%s: %v", filepath.Join(dir, RunInfoFile), err)
	}
	return info, nil
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return filepath.Clean(a)
}
