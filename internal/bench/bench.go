// Package bench defines tram's reference training workloads, with exactly
// the shapes of ../shared/bench/torch_anchor.py, and times their steps.
//
// Workloads:
//   - mlp: batch 256, 784-512-512-10, ReLU, cross-entropy.
//   - gpt: GPT-2-style pre-LayerNorm decoder, vocab 4096, d_model 256,
//     4 layers, 4 heads, context 128, batch 16, tanh-GELU MLP (4×), untied
//     LM head.
//
// Methods: sgd and adamw run one forward, backward and update; sam runs two
// forward/backward passes (ascent to θ+ε, gradient there, restore, update);
// tram adds one no-grad forward for the trust-region target logits, as the
// anchor does.
package bench

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"time"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/tensor"
)

// Workloads and Methods list the valid names, in the anchor's order.
var (
	Workloads = []string{"mlp", "gpt"}
	Methods   = []string{"sgd", "adamw", "sam", "tram"}
)

type f32 = tensor.Tensor[float32]

// model is a workload: parameters and a forward pass to logits and loss.
type model interface {
	params() *tensor.Params[float32]
	// forward returns the logits and the mean cross-entropy loss.
	forward(g *autograd.Graph[float32]) (logits, loss *f32)
}

// Runner owns one workload, its graph and its optimizer.
type Runner struct {
	Workload, Method string
	m                model
	g                *autograd.Graph[float32]
	opt              optim.Optimizer
	eps, saved       []float32
}

// New returns a runner for a workload and method, or an error naming the
// valid choices.
func New(workload, method string) (*Runner, error) {
	var m model
	switch workload {
	case "mlp":
		m = newMLP(0)
	case "gpt":
		m = newGPT(0)
	default:
		return nil, fmt.Errorf("unknown workload %q; valid workloads: %s", workload, strings.Join(Workloads, ", "))
	}
	r := &Runner{Workload: workload, Method: method, m: m, g: autograd.NewGraph[float32]()}
	switch method {
	case "sgd":
		r.opt = optim.NewSGD(1e-2, 0, 0)
	case "adamw", "sam", "tram":
		r.opt = optim.NewAdamW(1e-3, 1e-2) // torch.optim.AdamW defaults, as the anchor
	default:
		return nil, fmt.Errorf("unknown method %q; valid methods: %s", method, strings.Join(Methods, ", "))
	}
	return r, nil
}

// Step runs one training step and returns the loss of its first pass.
func (r *Runner) Step() float32 {
	ps := r.m.params()
	switch r.Method {
	case "sam", "tram":
		return r.sharpStep(ps, r.Method == "tram")
	}
	r.g.Reset()
	ps.ZeroGrad()
	_, loss := r.m.forward(r.g)
	r.g.Backward(loss)
	r.opt.Step(ps)
	return loss.Item()
}

// sharpStep mirrors the anchor's sam/tram step: the cost structure of the
// two-pass family (the real methods live in package sharp).
func (r *Runner) sharpStep(ps *tensor.Params[float32], extraForward bool) float32 {
	g := r.g
	g.Reset()
	ps.ZeroGrad()
	logits, loss := r.m.forward(g)
	g.Backward(loss)
	l1 := loss.Item()
	rho := 0.05
	if extraForward {
		var target *f32
		g.NoGrad(func() { target, _ = r.m.forward(g) })
		rho = math.Max(autograd.KLLogits(logits.Data, target.Data, logits.Dim(-1)), 1e-4)
	}
	var ss float64
	for _, v := range ps.Grad {
		ss += float64(v) * float64(v)
	}
	scale := float32(rho / (math.Sqrt(ss) + 1e-12))
	if r.saved == nil {
		r.saved = make([]float32, ps.Len())
	}
	copy(r.saved, ps.Data)
	for i, gv := range ps.Grad {
		ps.Data[i] += scale * gv
	}
	g.Reset()
	ps.ZeroGrad()
	_, loss2 := r.m.forward(g)
	g.Backward(loss2)
	copy(ps.Data, r.saved)
	r.opt.Step(ps)
	return l1
}

// Result is one line of `tram bench --json`, in the anchor's schema plus the
// GEMM backend and the heap allocations per step.
type Result struct {
	Workload      string  `json:"workload"`
	Method        string  `json:"method"`
	MsPerStep     float64 `json:"ms_per_step"`
	Steps         int     `json:"steps"`
	Threads       int     `json:"threads"`
	Backend       string  `json:"backend"`
	AllocsPerStep float64 `json:"allocs_per_step"`
	BytesPerStep  float64 `json:"bytes_per_step"`
	Loss          float32 `json:"loss"`
}

// Time runs two warm-up steps, then steps until budget has elapsed and at
// least three steps ran, as the anchor does.
func (r *Runner) Time(budget time.Duration) (Result, error) {
	var loss float32
	for range 2 {
		loss = r.Step()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n, t0 := 0, time.Now()
	for time.Since(t0) < budget || n < 3 {
		loss = r.Step()
		n++
	}
	el := time.Since(t0)
	runtime.ReadMemStats(&after)
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		return Result{}, fmt.Errorf("%s/%s: loss became %v", r.Workload, r.Method, loss)
	}
	return Result{
		Workload:      r.Workload,
		Method:        r.Method,
		MsPerStep:     math.Round(float64(el.Microseconds())/float64(n)) / 1e3,
		Steps:         n,
		AllocsPerStep: float64(after.Mallocs-before.Mallocs) / float64(n),
		BytesPerStep:  float64(after.TotalAlloc-before.TotalAlloc) / float64(n),
		Loss:          loss,
	}, nil
}

// uniform fills x with U(−1/√fanIn, 1/√fanIn), PyTorch's nn.Linear init.
func uniform(rng interface{ Float64() float64 }, x []float32, fanIn int) {
	b := 1 / math.Sqrt(float64(fanIn))
	for i := range x {
		x[i] = float32((2*rng.Float64() - 1) * b)
	}
}
