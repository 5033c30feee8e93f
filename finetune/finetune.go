// Package finetune runs one fine-tuning run: a family.Setup (model, stream
// of batches, validation set) driven by a sharp method and a base optimizer
// for a number of steps, resumably, with periodic validation on the
// training domain, selection of the checkpoint to keep, and an optional
// head warm-up (a linear probe before full fine-tuning). Above Run, a Spec
// is one run as the flags of `tram finetune` (and a --config recipe)
// describe it: ParseSpec and SpecFromFlags build one, and Execute opens
// the model and its data, calls Run and writes the output directory
// atomically (with run_info.json, RunInfo). The command `tram finetune`
// and the study runner (package reproduce) both execute Specs.
package finetune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tramlab/tram/family"
	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/sharp"
	"github.com/tramlab/tram/tensor"
	"github.com/tramlab/tram/train"
)

// Config describes one run.
type Config struct {
	Setup    *family.Setup
	Method   sharp.Method
	Base     optim.Optimizer
	Schedule optim.Schedule
	Steps    int
	Seed     uint64
	ClipNorm float64
	// StopOnNonFinite stops at a non-finite loss, gradient or radius
	// instead of skipping the step.
	StopOnNonFinite bool
	// EvalEvery validates on the training domain's validation split every
	// that many steps and after the last (0: never).
	EvalEvery int
	// Select is "last" (keep the final parameters, the paper's vision
	// setting) or "best" (keep those with the lowest validation loss, the
	// paper's model selection; needs EvalEvery).
	Select string
	// HeadWarmup trains the new head alone for that many steps with the
	// plain base optimizer before fine-tuning (a linear probe); θ0 of the
	// trust-region targets and of L2-SP is taken after it.
	HeadWarmup int
	// NewHeadWarmupBase returns the base optimizer of the head warm-up.
	NewHeadWarmupBase func() optim.Optimizer
	// StateDir holds the snapshots; SaveEvery snapshots every that many
	// steps (0: only when interrupted). Args define the run (see
	// train.Loop).
	StateDir  string
	SaveEvery int
	Args      map[string]string
	// Log, when set, receives one JSON object per step and one per
	// validation ({"step", "eval": {"loss", "accuracy"}}); LogFields are
	// added to every step record.
	Log       io.Writer
	LogFields map[string]any
	// Progress, when set, is called after every step.
	Progress func(done, total int, note string)
	// Notify, when set, receives one-line remarks (resuming, skipped steps).
	Notify func(string)
	// OnCheckpoint, when set, is called after each step listed in
	// Checkpoints, with the model at that step's parameters (e.g. to
	// evaluate them); it must not change the model.
	Checkpoints  []int
	OnCheckpoint func(step int) error
	// InterruptAfter, when positive, behaves as if interrupted after that
	// many steps (tests).
	InterruptAfter int
}

// Eval is one validation.
type Eval struct {
	Step     int      `json:"step"`
	Loss     float64  `json:"loss"`
	Accuracy *float64 `json:"accuracy,omitempty"`
}

// Result summarizes a completed run.
type Result struct {
	Steps, Resumed, Skipped int
	// Evals are the validations of this invocation (a resumed run's
	// earlier ones are in the log).
	Evals []Eval
	// Kept is the step whose parameters were kept (Steps for "last").
	Kept     int
	KeptLoss float64 // its validation loss (NaN without validation)
	Wall     time.Duration
	// Snapshot saves the finished run into StateDir, so that a rerun of
	// the same command resumes at its end (when writing the model failed).
	Snapshot func() error
}

// best is the selection state saved with every snapshot.
type best struct {
	Step   int
	Loss   float64
	params []float32
	bufs   []float32
}

func (b *best) SaveState() (json.RawMessage, map[string][]float32) {
	raw, _ := json.Marshal(map[string]any{"step": b.Step, "loss": fmt.Sprint(b.Loss)})
	t := map[string][]float32{}
	if b.params != nil {
		t["params"] = b.params
		t["buffers"] = b.bufs
	}
	return raw, t
}

func (b *best) RestoreState(raw json.RawMessage, t map[string][]float32) error {
	var s struct {
		Step int
		Loss string
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	var err error
	b.Step = s.Step
	if b.Loss, err = parseFloat(s.Loss); err != nil {
		return err
	}
	if p, ok := t["params"]; ok {
		b.params, b.bufs = p, t["buffers"]
	}
	return nil
}

func parseFloat(s string) (float64, error) {
	var v float64
	_, err := fmt.Sscan(s, &v)
	if s == "+Inf" || s == "Inf" {
		return math.Inf(1), nil
	}
	return v, err
}

// Run performs the run; the caller saves c.Setup's model afterwards (see
// Result.Kept) and then removes c.StateDir.
func Run(ctx context.Context, c Config) (*Result, error) {
	if c.Select == "" {
		c.Select = "last"
	}
	if c.Select != "last" && c.Select != "best" {
		return nil, fmt.Errorf("--select %q: valid: last, best", c.Select)
	}
	if c.Select == "best" && c.EvalEvery <= 0 {
		return nil, errors.New("--select best needs --eval-every N (validation loss decides)")
	}
	if c.HeadWarmup > 0 && c.Setup.HeadHi <= c.Setup.HeadLo {
		return nil, fmt.Errorf("--head-warmup %d: the %s model has no new head to warm up", c.HeadWarmup, c.Setup.Family)
	}
	if c.EvalEvery > 0 && c.Setup.Validate == nil {
		return nil, errors.New("--eval-every: this setup has no validation split (fine-tuning on --train sequences); use --data and --domain")
	}
	s, res := c.Setup, &Result{Steps: c.Steps, KeptLoss: math.NaN()}
	start := time.Now()
	notify := func(format string, a ...any) {
		if c.Notify != nil {
			c.Notify(fmt.Sprintf(format, a...))
		}
	}
	logRec := func(rec map[string]any) error {
		if c.Log == nil {
			return nil
		}
		b, _ := json.Marshal(finite(rec))
		if _, err := fmt.Fprintln(c.Log, string(b)); err != nil {
			return fmt.Errorf("--log: %w", err)
		}
		return nil
	}
	// The head warm-up runs before the first snapshot; a resumed run
	// restores its result from the snapshot instead.
	resuming := c.StateDir != "" && exists(filepath.Join(c.StateDir, "latest"))
	if c.HeadWarmup > 0 && !resuming {
		if err := headWarmup(ctx, c); err != nil {
			return nil, err
		}
		note := ""
		if s.Validate != nil {
			loss, acc := s.Validate()
			e := Eval{Step: 0, Loss: loss}
			if !math.IsNaN(acc) {
				e.Accuracy = &acc
				note = fmt.Sprintf(", accuracy %.2f%%", 100*acc)
			}
			res.Evals = append(res.Evals, e)
			if err := logRec(map[string]any{"step": 0, "eval": e, "after": "head warm-up"}); err != nil {
				return nil, err
			}
			note = fmt.Sprintf("; validation loss %.4f", loss) + note
		}
		notify("head warm-up: %d steps on the new head alone%s", c.HeadWarmup, note)
	}
	opt := sharp.New(s.Model, c.Base, c.Method, c.Seed)
	opt.ClipNorm, opt.StopOnNonFinite = c.ClipNorm, c.StopOnNonFinite
	opt.HeadLo, opt.HeadHi = s.HeadLo, s.HeadHi // the new head, which L2-SP does not pull toward θ0
	sel := &best{Loss: math.Inf(1)}
	loop := &train.Loop{Opt: opt, Schedule: c.Schedule, Task: s.Task, Steps: c.Steps, Dir: c.StateDir,
		SaveEvery: c.SaveEvery, Args: c.Args, Extra: sel}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	validate := func(step int) error {
		loss, acc := s.Validate()
		e := Eval{Step: step, Loss: loss}
		if !math.IsNaN(acc) {
			e.Accuracy = &acc
		}
		res.Evals = append(res.Evals, e)
		if c.Select == "best" && loss < sel.Loss {
			ps, bs := s.Model.Params(), s.Model.Buffers()
			sel.Step, sel.Loss = step, loss
			sel.params = append(sel.params[:0], ps.Data...)
			sel.bufs = append(sel.bufs[:0], bs.Data...)
		}
		return logRec(map[string]any{"step": step, "eval": e})
	}
	loop.OnResume = func(step int) {
		res.Resumed = step
		notify("resuming %s at step %d", c.StateDir, step)
	}
	loop.OnStep = func(done int, st sharp.Stats) error {
		if st.Skipped {
			notify("step %d skipped: %s", st.Step, st.Reason)
		}
		rec := map[string]any{"step": st.Step, "loss": st.Loss, "d": st.D, "radius": st.Radius, "reg_d": st.RegD, "eps_norm": st.EpsNorm,
			"grad_norm": st.GradNorm, "sharp_grad_norm": st.SharpGradNorm, "lr": c.Base.LR(), "skipped": st.Skipped,
			"pass1_ms": ms(st.Pass1), "target_ms": ms(st.Target), "pass2_ms": ms(st.Pass2), "update_ms": ms(st.Update)}
		for k, v := range c.LogFields {
			rec[k] = v
		}
		if err := logRec(rec); err != nil {
			return err
		}
		if c.EvalEvery > 0 && (done%c.EvalEvery == 0 || done == c.Steps) {
			if err := validate(done); err != nil {
				return err
			}
		}
		if c.OnCheckpoint != nil && slices.Contains(c.Checkpoints, done) {
			if err := c.OnCheckpoint(done); err != nil {
				return err
			}
		}
		if c.Progress != nil {
			c.Progress(done, c.Steps, fmt.Sprintf("loss %.4f d %.3g", st.Loss, st.D))
		}
		if c.InterruptAfter > 0 && done == c.InterruptAfter {
			cancel()
		}
		return nil
	}
	if _, err := loop.Run(ctx); err != nil {
		return nil, err
	}
	res.Skipped = opt.Skipped()
	res.Kept = c.Steps
	res.Snapshot = func() error {
		if c.StateDir == "" {
			return errors.New("no state directory")
		}
		return loop.Save(c.Steps)
	}
	if c.Select == "best" && sel.params != nil {
		copy(s.Model.Params().Data, sel.params)
		copy(s.Model.Buffers().Data, sel.bufs)
		res.Kept, res.KeptLoss = sel.Step, sel.Loss
	} else if n := len(res.Evals); n > 0 && res.Evals[n-1].Step == c.Steps {
		res.KeptLoss = res.Evals[n-1].Loss
	}
	res.Wall = time.Since(start)
	return res, nil
}

// headWarmup trains only the arena range of the new head with a fresh
// plain base optimizer, as a linear probe does: the other parameters are
// frozen for its duration (they require no gradient, so the backward pass
// stops at the head and gradient clipping sees the head's gradient alone),
// and restored after each step (the base optimizer's weight decay would
// otherwise move them).
func headWarmup(ctx context.Context, c Config) error {
	s := c.Setup
	if c.NewHeadWarmupBase == nil {
		return errors.New("head warm-up: no base optimizer")
	}
	defer freezeOutside(s.Model.Params(), s.HeadLo, s.HeadHi)()
	plain, err := sharp.NewMethod("sgd", sharp.DefaultOptions("sgd"))
	if err != nil {
		return err
	}
	base := &headOnly{Optimizer: c.NewHeadWarmupBase(), lo: s.HeadLo, hi: s.HeadHi}
	opt := sharp.New(s.Model, base, plain, c.Seed^0x6865616477)
	opt.ClipNorm = c.ClipNorm
	for step := 0; step < c.HeadWarmup; step++ {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted during the head warm-up (step %d of %d); rerun the same command to start over", step, c.HeadWarmup)
		}
		s.Task.Next()
		if _, err := opt.Step(s.Task); err != nil {
			return err
		}
	}
	return nil
}

// freezeOutside marks every parameter outside the arena range [lo, hi) as
// requiring no gradient and returns the function that undoes it.
func freezeOutside(p *tensor.Params[float32], lo, hi int) (undo func()) {
	var frozen []*tensor.Tensor[float32]
	for i, t := range p.List() {
		if off := p.Offset(i); (off < lo || off+t.Len() > hi) && t.RequiresGrad() {
			t.MarkRequiresGrad(false)
			frozen = append(frozen, t)
		}
	}
	return func() {
		for _, t := range frozen {
			t.MarkRequiresGrad(true)
		}
	}
}

// headOnly updates the arena range [lo, hi) only: the others are put back
// after the wrapped optimizer's step (weight decay included).
type headOnly struct {
	optim.Optimizer
	lo, hi int
	keep   []float32
}

func (h *headOnly) Step(p *tensor.Params[float32]) {
	h.keep = append(h.keep[:0], p.Data...)
	clear(p.Grad[:h.lo])
	clear(p.Grad[h.hi:])
	h.Optimizer.Step(p)
	copy(p.Data[:h.lo], h.keep[:h.lo])
	copy(p.Data[h.hi:], h.keep[h.hi:])
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

// finite replaces non-finite numbers (which JSON cannot hold) by strings.
func finite(m map[string]any) map[string]any {
	for k, v := range m {
		if x, ok := v.(float64); ok && (math.IsNaN(x) || math.IsInf(x, 0)) {
			m[k] = fmt.Sprint(x)
		}
	}
	return m
}
