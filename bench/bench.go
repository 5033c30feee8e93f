// Package bench defines the reference training workloads that `tram bench`
// times, with exactly the shapes of scripts/torch_anchor.py (the
// PyTorch anchor), and times their steps. It sits next to the command that
// runs it and imports only packages below it (sharp, optim, models, nn).
//
// Workloads:
//   - mlp: batch 256, 784-512-512-10, ReLU, cross-entropy.
//   - gpt: GPT-2-style pre-LayerNorm decoder, vocab 4096, d_model 256,
//     4 layers, 4 heads, context 128, batch 16, tanh-GELU MLP (4×), untied
//     LM head.
//   - gpt2: the same shapes through the real GPT-2 model code
//     (models/gpt2, LM head tied to wte, as GPT-2 has it): not in the
//     anchor; it shows the model layer costs nothing over the engine.
//   - cnn: models/vision's tram-resnet (conv3x3 1→32 + batch norm + ReLU,
//     one BasicBlock per stage at widths 32, 64, 128, stride 2 with a 1×1
//     downsample in stages 2 and 3, global average pool, linear 128→10) on
//     128 gray 28×28 images, batch norm on batch statistics.
//   - bert: models/bert with a classification head: post-LayerNorm
//     encoder, vocabulary 8192, hidden 256, 4 layers, 4 heads, intermediate
//     1024, erf-GELU, sequence 64, batch 32, learned positions and token
//     types, tanh pooler on the first token, 8 labels, no dropout.
//
// Methods: sgd (SGD, lr 1e-2) and adamw (AdamW, lr 1e-3, weight decay 1e-2,
// PyTorch's defaults, as the anchor) run one forward, backward and update;
// every method of package sharp runs through the real sharp step with its
// defaults (sharp.DefaultOptions, docs/METHOD.md §12) and AdamW as its
// base. "tram" is the anchor's name for the cost structure of TRAM-x/TRAM-θ
// (two passes plus one no-grad target forward): it runs sharp's tram-x.
// Runner.Cost and Result's forward_passes/backward_passes give each
// method's cost in passes per step (docs/METHOD.md §13).
package bench

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/sharp"
)

// Workloads and Methods list the valid names.
var (
	Workloads = []string{"mlp", "gpt", "gpt2", "cnn", "bert"}
	Methods   = append([]string{"tram"}, sharp.MethodNames...)
)

// workload is a model that is also its own fixed-batch task.
type workload interface {
	nn.Module
	sharp.Task
}

// Runner owns one workload and its optimizer.
type Runner struct {
	Workload, Method string
	w                workload
	opt              *sharp.Optimizer
	fwd, bwd         int
}

// Cost returns the forward and backward passes one step of the runner's
// method makes (docs/METHOD.md §13; sharp.Method.Cost).
func (r *Runner) Cost() (forward, backward int) { return r.fwd, r.bwd }

// New returns a runner for a workload and method, or an error naming the
// valid choices.
func New(name, method string) (*Runner, error) {
	var w workload
	switch name {
	case "mlp":
		w = newMLP(0)
	case "gpt":
		w = newGPT(0)
	case "gpt2":
		w = newGPT2(0)
	case "cnn":
		w = newCNN(0)
	case "bert":
		w = newBERT(0)
	default:
		return nil, fmt.Errorf("unknown workload %q; valid workloads: %s", name, strings.Join(Workloads, ", "))
	}
	if !slices.Contains(Methods, method) {
		return nil, fmt.Errorf("unknown method %q; valid methods: %s", method, strings.Join(Methods, ", "))
	}
	mname := method
	if mname == "tram" {
		mname = "tram-x"
	}
	o := sharp.DefaultOptions(mname) // the method's defaults; NewMethod takes every field as given
	o.Seed = 1
	m, err := sharp.NewMethod(mname, o)
	if err != nil {
		return nil, err
	}
	var base optim.Optimizer = optim.NewAdamW(1e-3, 1e-2) // torch.optim.AdamW defaults, as the anchor
	if method == "sgd" {
		base = optim.NewSGD(1e-2, 0, 0)
	}
	r := &Runner{Workload: name, Method: method, w: w, opt: sharp.New(w, base, m, 1)}
	r.fwd, r.bwd = m.Cost()
	return r, nil
}

// Step runs one training step and returns the loss of its first pass.
func (r *Runner) Step() (float64, error) {
	st, err := r.opt.Step(r.w)
	if err != nil {
		return 0, err
	}
	if st.Skipped {
		return st.Loss, fmt.Errorf("%s/%s: step skipped: %s", r.Workload, r.Method, st.Reason)
	}
	return st.Loss, nil
}

// Result is one line of `tram bench --json`, in the anchor's schema plus the
// GEMM backend, the heap allocations per step and the method's forward and
// backward passes per step (its cost, docs/METHOD.md §13).
type Result struct {
	Workload       string  `json:"workload"`
	Method         string  `json:"method"`
	MsPerStep      float64 `json:"ms_per_step"`
	Steps          int     `json:"steps"`
	Threads        int     `json:"threads"`
	Backend        string  `json:"backend"`
	AllocsPerStep  float64 `json:"allocs_per_step"`
	BytesPerStep   float64 `json:"bytes_per_step"`
	Loss           float64 `json:"loss"`
	ForwardPasses  int     `json:"forward_passes"`
	BackwardPasses int     `json:"backward_passes"`
}

// Time runs two warm-up steps, then steps until budget has elapsed and at
// least three steps ran, as the anchor does.
func (r *Runner) Time(budget time.Duration) (Result, error) { return r.TimeAround(budget, nil) }

// TimeAround is Time that calls timed(true) after the warm-up and
// timed(false) after the timed steps (to profile them alone); timed may be
// nil.
func (r *Runner) TimeAround(budget time.Duration, timed func(start bool)) (Result, error) {
	var loss float64
	var err error
	for range 2 {
		if loss, err = r.Step(); err != nil {
			return Result{}, err
		}
	}
	if timed != nil {
		timed(true)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n, t0 := 0, time.Now()
	for time.Since(t0) < budget || n < 3 {
		if loss, err = r.Step(); err != nil {
			return Result{}, err
		}
		n++
	}
	el := time.Since(t0)
	runtime.ReadMemStats(&after)
	if timed != nil {
		timed(false)
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return Result{}, fmt.Errorf("%s/%s: loss became %v", r.Workload, r.Method, loss)
	}
	return Result{
		Workload:       r.Workload,
		Method:         r.Method,
		MsPerStep:      math.Round(float64(el.Microseconds())/float64(n)) / 1e3,
		Steps:          n,
		AllocsPerStep:  float64(after.Mallocs-before.Mallocs) / float64(n),
		BytesPerStep:   float64(after.TotalAlloc-before.TotalAlloc) / float64(n),
		Loss:           loss,
		ForwardPasses:  r.fwd,
		BackwardPasses: r.bwd,
	}, nil
}

// uniform fills x with U(−1/√fanIn, 1/√fanIn), PyTorch's nn.Linear init.
func uniform(rng interface{ Float64() float64 }, x []float32, fanIn int) {
	b := 1 / math.Sqrt(float64(fanIn))
	for i := range x {
		x[i] = float32((2*rng.Float64() - 1) * b)
	}
}
