package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/internal/gemm"
	"github.com/tramlab/tram/internal/parallel"
	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/sharp"
	"github.com/tramlab/tram/train"
)

func init() {
	register(&command{name: "finetune", summary: "fine-tune a GPT-2-family model with TRAM or a baseline", run: runFinetune})
}

type finetuneFlags struct {
	model, trainFile, out, method, optimizer, logFile, schedule, divergence string
	steps, batch, warmup, micro, saveEvery                                  int
	lr, momentum, wd, rho, gamma, eta, lambda, emaDecay, sigma, tau         float64
	beta1, beta2, adamEps, clip                                             float64
	seed                                                                    uint64
	noShuffle, uniform, stopNonFinite                                       bool
	optimizerSet                                                            bool // --optimizer given explicitly
	args                                                                    map[string]string
}

func runFinetune(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("finetune", "--model DIR --train FILE --out OUTDIR --method M --steps K --batch-size B --lr LR [flags]",
		"Fine-tunes a GPT-2-family model directory (config.json, model.safetensors, tokenizer.json) on\n"+
			"token sequences and writes the result to OUTDIR with the same tensor names. The loss is the mean\n"+
			"cross-entropy over every predicted position (1…T−1); divergences average over the logits of\n"+
			"positions 0…T−2. Methods: "+strings.Join(sharp.MethodNames, ", ")+".\n"+
			"Nothing is written to OUTDIR unless the whole run succeeds.", stderr)
	var f finetuneFlags
	fs.StringVar(&f.model, "model", "", "input model directory (required)")
	fs.StringVar(&f.trainFile, "train", "", `training data: JSONL lines {"input_ids": [...]}, all of one length T ≤ n_positions (required)`)
	fs.StringVar(&f.out, "out", "", "output model directory (required)")
	fs.StringVar(&f.method, "method", "", "method: "+strings.Join(sharp.MethodNames, ", ")+" (required)")
	fs.IntVar(&f.steps, "steps", 0, "number of optimizer steps (required, ≥ 1)")
	fs.IntVar(&f.batch, "batch-size", 0, "sequences per step (required, ≥ 1)")
	fs.Float64Var(&f.lr, "lr", 0, "peak learning rate (required, > 0)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed for shuffling, dropout and noise")
	fs.BoolVar(&f.noShuffle, "no-shuffle", false, "take lines in file order: batch i row j is line (i·B + j) mod N")
	fs.StringVar(&f.optimizer, "optimizer", "adamw", "base optimizer: sgd or adamw (--method sgd|adamw sets it too)")
	fs.Float64Var(&f.momentum, "momentum", 0, "SGD momentum")
	fs.Float64Var(&f.wd, "weight-decay", 0, "weight decay, applied to every parameter (SGD: coupled; AdamW: decoupled)")
	fs.Float64Var(&f.beta1, "beta1", 0.9, "AdamW β1")
	fs.Float64Var(&f.beta2, "beta2", 0.99, "AdamW β2 (the paper's language setting)")
	fs.Float64Var(&f.adamEps, "adam-eps", 1e-8, "AdamW ε")
	fs.Float64Var(&f.rho, "rho", 0, "SAM/ASAM radius ρ (default 0.05 for sam, 0.5 for asam and asam+*)")
	fs.Float64Var(&f.gamma, "gamma", 0, "FSAM/TRAM-Fisher radius γ (default 0.1)")
	fs.Float64Var(&f.eta, "eta", 0, "FSAM/TRAM-Fisher damping η (default 0.1); for asam, ASAM's offset η (default 0)")
	fs.Float64Var(&f.lambda, "lambda", 0, "weight λ of the TRPO/R3F/MESA regularizer (default 0.1)")
	fs.Float64Var(&f.emaDecay, "ema-decay", 0.999, "EMA decay β of tram-ema and mesa")
	fs.Float64Var(&f.sigma, "sigma", 0, "input-embedding noise σ (default 0.01 for tram-x and tram-fisher, 0.1 for r3f)")
	fs.Float64Var(&f.tau, "tau", 0, "MESA temperature τ (default 1)")
	fs.BoolVar(&f.uniform, "uniform-noise", false, "draw noise from U(−σ, σ) instead of N(0, σ²)")
	fs.StringVar(&f.divergence, "divergence", "kl", "TRAM's divergence: kl, kl-reverse, kl-symmetric, l2, mmd")
	fs.StringVar(&f.schedule, "schedule", "constant", "learning-rate schedule: constant, cosine, linear")
	fs.IntVar(&f.warmup, "warmup", 0, "linear warmup steps of the schedule")
	fs.IntVar(&f.micro, "micro-batches", 1, "split each batch into this many micro-batches (gradient accumulation)")
	fs.Float64Var(&f.clip, "clip-norm", 0, "clip the gradient to this global L2 norm (0: off)")
	fs.BoolVar(&f.stopNonFinite, "stop-on-nonfinite", false, "stop with an error at a non-finite loss, gradient or radius instead of skipping the step")
	fs.StringVar(&f.logFile, "log", "", "write one JSON object per step to this file (step, loss, d, eps_norm, grad_norm, …)")
	fs.IntVar(&f.saveEvery, "save-every", 0, "snapshot the run every N steps into OUTDIR.partial (an interrupted run, e.g. by Ctrl-C, always\nsnapshots); rerunning the same command resumes from the newest snapshot")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fs.Visit(func(fl *flag.Flag) { f.optimizerSet = f.optimizerSet || fl.Name == "optimizer" })
	// The flags that define the run: a resumed run must repeat them.
	f.args = map[string]string{}
	fs.VisitAll(func(fl *flag.Flag) {
		switch fl.Name {
		case "out", "log", "save-every":
		default:
			f.args[fl.Name] = fl.Value.String()
		}
	})
	return finetune(f, stderr)
}

func finetune(f finetuneFlags, stderr io.Writer) error {
	// Validate everything before touching OUTDIR.
	var missing []string
	for _, r := range []struct {
		name string
		ok   bool
	}{{"--model", f.model != ""}, {"--train", f.trainFile != ""}, {"--out", f.out != ""}, {"--method", f.method != ""},
		{"--steps", f.steps > 0}, {"--batch-size", f.batch > 0}, {"--lr", f.lr > 0}} {
		if !r.ok {
			missing = append(missing, r.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing or invalid required flags: %s", strings.Join(missing, ", "))
	}
	if !slices.Contains(sharp.MethodNames, f.method) {
		return fmt.Errorf("unknown method %q; valid methods: %s", f.method, strings.Join(sharp.MethodNames, ", "))
	}
	if f.optimizer != "sgd" && f.optimizer != "adamw" {
		return fmt.Errorf("unknown optimizer %q; valid: sgd, adamw", f.optimizer)
	}
	if (f.method == "sgd" || f.method == "adamw") && f.optimizer != f.method {
		if f.optimizerSet {
			return fmt.Errorf("--method %s conflicts with --optimizer %s", f.method, f.optimizer)
		}
		f.optimizer = f.method
	}
	if f.micro < 1 || f.batch%f.micro != 0 {
		return fmt.Errorf("--micro-batches %d must divide --batch-size %d", f.micro, f.batch)
	}
	div, err := sharp.DivergenceByName(f.divergence)
	if err != nil {
		return err
	}
	sched, err := optim.ParseSchedule(f.schedule, f.lr, f.warmup, f.steps)
	if err != nil {
		return err
	}
	if abs(f.out) == abs(f.model) {
		return errors.New("--out must differ from --model")
	}
	model, err := gpt2.Load(f.model)
	if err != nil {
		return err
	}
	data, err := train.ReadJSONL(f.trainFile, model.Config.VocabSize)
	if err != nil {
		return err
	}
	if data.T > model.Config.NPositions {
		return fmt.Errorf("%s: sequences of length %d exceed n_positions %d", f.trainFile, data.T, model.Config.NPositions)
	}
	method, err := sharp.NewMethod(f.method, sharp.Options{Rho: f.rho, Gamma: f.gamma, Eta: f.eta, Lambda: f.lambda,
		EMADecay: f.emaDecay, Sigma: f.sigma, Tau: f.tau, UniformNoise: f.uniform, Divergence: div, Seed: f.seed})
	if err != nil {
		return err
	}
	if method.SpectralHead {
		return fmt.Errorf("method %s needs a spectrally normalized classification head; a GPT-2 language model has none", f.method)
	}
	var base optim.Optimizer
	if f.optimizer == "sgd" {
		base = optim.NewSGD(f.lr, f.momentum, f.wd)
	} else {
		a := optim.NewAdamW(f.lr, f.wd)
		a.Beta1, a.Beta2, a.Eps = f.beta1, f.beta2, f.adamEps
		base = a
	}
	task := train.NewLMTask(model, data, f.batch, !f.noShuffle, f.seed)
	task.Micro = f.micro
	opt := sharp.New(model, base, method, f.seed)
	opt.ClipNorm = f.clip
	opt.StopOnNonFinite = f.stopNonFinite

	// Resume from the newest snapshot of an interrupted run, if any.
	stateDir := filepath.Clean(f.out) + ".partial"
	first := 0
	prog, err := loadRun(stateDir, model, base, opt, f.args)
	switch {
	case err == nil:
		first, task.Cursor = prog.Step, prog.Cursor
		fmt.Fprintf(stderr, "tram finetune: resuming %s at step %d\n", stateDir, first)
	case !errors.Is(err, errNoRun):
		return err
	}
	var logw *os.File
	if f.logFile != "" {
		mode := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		if first > 0 {
			mode = os.O_CREATE | os.O_WRONLY | os.O_APPEND
		}
		if logw, err = os.OpenFile(f.logFile, mode, 0o644); err != nil {
			return err
		}
		defer logw.Close()
	}
	snapshot := func(step int) error {
		return saveRun(stateDir, model, base, opt, runProgress{Step: step, Cursor: task.Cursor, Args: f.args})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c := model.Config; c.ResidPdrop > 0 || c.EmbdPdrop > 0 {
		fmt.Fprintf(stderr, "tram finetune: dropout on (resid %.2g, embd %.2g, from config.json): d measures dropout noise too\n", c.ResidPdrop, c.EmbdPdrop)
	}
	if model.Config.AttnPdrop > 0 {
		fmt.Fprintf(stderr, "tram finetune: attn_pdrop %.2g is not applied (the fused attention has no dropout)\n", model.Config.AttnPdrop)
	}

	bar := newProgress(stderr, "finetune "+f.method, f.steps)
	start := time.Now()
	for step := first; step < f.steps; step++ {
		if step == interruptAt {
			stop() // test hook: behave as if interrupted here
			<-ctx.Done()
		}
		if ctx.Err() != nil {
			bar.done()
			if err := snapshot(step); err != nil {
				return fmt.Errorf("interrupted at step %d, and saving the run failed: %w", step, err)
			}
			return fmt.Errorf("interrupted at step %d; the run is saved in %s: rerun the same command to resume", step, stateDir)
		}
		base.SetLR(sched.LR(step))
		task.Next()
		st, err := opt.Step(task)
		if err != nil {
			return err
		}
		if st.Skipped {
			fmt.Fprintf(stderr, "tram finetune: step %d skipped: %s\n", st.Step, st.Reason)
		}
		if logw != nil {
			rec := map[string]any{"step": st.Step, "loss": st.Loss, "d": st.D, "eps_norm": st.EpsNorm, "grad_norm": st.GradNorm,
				"sharp_grad_norm": st.SharpGradNorm, "lr": base.LR(), "skipped": st.Skipped,
				"pass1_ms": ms(st.Pass1), "target_ms": ms(st.Target), "pass2_ms": ms(st.Pass2), "update_ms": ms(st.Update)}
			b, _ := json.Marshal(finite(rec))
			fmt.Fprintln(logw, string(b))
		}
		bar.update(step+1, fmt.Sprintf("loss %.4f d %.3g", st.Loss, st.D))
		if f.saveEvery > 0 && (step+1)%f.saveEvery == 0 && step+1 < f.steps {
			if err := snapshot(step + 1); err != nil {
				return err
			}
		}
	}
	bar.done()
	model.Metadata = map[string]string{
		"tram_version": version, "tram_method": f.method, "tram_steps": fmt.Sprint(f.steps),
		"tram_skipped_steps": fmt.Sprint(opt.Skipped()), "tram_gemm_backend": gemm.Backend(),
		"tram_threads": fmt.Sprint(parallel.Threads()), "tram_seed": fmt.Sprint(f.seed),
	}
	if err := model.Save(f.out); err != nil {
		return err
	}
	defer os.RemoveAll(stateDir) // the run is complete: its snapshots are no longer needed
	if tok := filepath.Join(f.model, "tokenizer.json"); fileExists(tok) {
		raw, err := os.ReadFile(tok)
		if err != nil {
			return err
		}
		if err := checkpoint.WriteAtomic(filepath.Join(f.out, "tokenizer.json"), func(w io.Writer) error { _, err := w.Write(raw); return err }); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "tram finetune: %d steps in %s (%d skipped); model written to %s\n", f.steps-first, time.Since(start).Round(time.Millisecond), opt.Skipped(), f.out)
	return nil
}

// interruptAt, when ≥ 0, simulates an interrupt before that step (tests).
var interruptAt = -1

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return filepath.Clean(a)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

// finite replaces non-finite numbers (which JSON cannot hold) by strings.
func finite(m map[string]any) map[string]any {
	for k, v := range m {
		if x, ok := v.(float64); ok && (x != x || x > 1e308 || x < -1e308) {
			m[k] = fmt.Sprint(x)
		}
	}
	return m
}
