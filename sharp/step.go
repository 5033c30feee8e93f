package sharp

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/internal/parallel"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/optim"
)

// Optimizer runs a Method's steps on a model with a base optimizer.
type Optimizer struct {
	Model  nn.Module
	Base   optim.Optimizer
	Method Method
	Graph  *nn.Graph
	// Train selects training mode for every pass (dropout on, batch norm on
	// batch statistics). It is true after New.
	Train bool
	// ClipNorm, when positive, rescales the gradient handed to the base
	// optimizer to at most this global L2 norm.
	ClipNorm float64
	// StopOnNonFinite makes Step return an error instead of skipping a step
	// whose loss, gradient or radius is not finite.
	StopOnNonFinite bool
	// HeadLo and HeadHi delimit the range [HeadLo, HeadHi) of the parameter
	// arena that has no pretrained value (a new classification head:
	// family.Setup's HeadLo and HeadHi). L2-SP does not pull it toward θ0.
	// Empty (the default, HeadHi ≤ HeadLo): every parameter is pretrained.
	// Only methods with an Anchor read it.
	HeadLo, HeadHi int

	rng     *rand.Rand // dropout draws, from src reseeded with (seed, step) every step
	src     *rand.PCG
	seed    uint64
	pert    []float32 // θ + ε, the point of pass 2
	sharp   []float32 // accumulated pass-2 gradients (m-sharpness only)
	bufSave []float32 // buffers (batch norm statistics) before the step
	partial []float64 // per-chunk partial sums of segments
	steps   int
	skipped int
}

// New returns an optimizer at the model's current parameters, which every
// parameter target takes as θ0. seed fixes the dropout draws.
func New(model nn.Module, base optim.Optimizer, m Method, seed uint64) *Optimizer {
	src := rand.NewPCG(seed, 0)
	o := &Optimizer{Model: model, Base: base, Method: m, Graph: autograd.NewGraph[float32](), Train: true,
		rng: rand.New(src), src: src, seed: seed}
	for _, t := range m.targets() {
		t.init(model.Params().Data)
	}
	return o
}

// Stats is the telemetry of one step. Quantities measured per micro-batch
// are averaged over the micro-batches.
type Stats struct {
	// Step counts the steps taken, this one included (skipped ones too).
	Step int
	// Loss is the pass-1 loss at θt, the regularizer's λ·RegD included.
	Loss float64
	// D is the radius before κ and the cap: TRAM's trust-region divergence
	// d_t (docs/METHOD.md §3.2), or the fixed ρ or γ of SAM, ASAM, FSAM,
	// TRAM-Fisher and ASAM+X; 0 for methods without a perturbation. With
	// m-sharpness it is the mean of the micro-batches' d_t.
	D float64
	// Radius is the radius the perturbation used: min(κ·d_t, MaxRadius) for
	// TRAM, D for fixed radii, 0 without a perturbation. With m-sharpness it
	// is the mean of the micro-batches' radii.
	Radius float64
	// RegD is the divergence the regularizer penalizes, unweighted (the
	// loss adds λ·RegD): KL(θt−1 ‖ θ) for TRPO, the symmetric (or one-sided)
	// KL between noised and clean predictions for R3F and R4F, τ²·KL(EMA ‖ θ)
	// for MESA, at θt in pass 1; ½‖θt − θ0‖² over the pretrained parameters
	// for L2-SP; 0 without a regularizer.
	RegD float64
	// EpsNorm is ‖ε‖; GradNorm the pass-1 gradient norm; SharpGradNorm the
	// norm of the gradient handed to the base optimizer (the pass-2
	// gradient with a perturbation, else pass 1's, plus L2-SP's λ(θt − θ0)),
	// before clipping. With m-sharpness EpsNorm and GradNorm are means over
	// micro-batches.
	EpsNorm, GradNorm, SharpGradNorm float64
	// Skipped reports a step dropped for a non-finite value (Reason says
	// which); the parameters and buffers are exactly as before the step.
	Skipped bool
	Reason  string
	// Time spent in pass 1, the target forwards, pass 2 and the update.
	Pass1, Target, Pass2, Update time.Duration
}

// Skipped returns the number of steps skipped so far.
func (o *Optimizer) Skipped() int { return o.skipped }

// ErrNonFinite is returned (wrapped) by Step when StopOnNonFinite is set.
var ErrNonFinite = errors.New("non-finite value")

// Step performs one update of the method on the task's current batch,
// following Algorithm 1 of the paper (numbers in comments) and
// docs/METHOD.md §2.
//
// With k micro-batches, pass 1 runs over all of them before the one ascent,
// and each micro-batch's pass-1 forward updates batch norm's running
// statistics once: k momentum updates per step, as when PyTorch runs the
// micro-batches in sequence, and not the single update of one large batch
// (docs/METHOD.md §9.3). Pass 2 and the extra forwards never update them.
func (o *Optimizer) Step(task Task) (Stats, error) {
	o.steps++
	st := Stats{Step: o.steps}
	// Every random draw of step t depends only on (seed, t): resumable runs.
	o.src.Seed(o.seed, uint64(o.steps))
	if m := o.Method; m.noiseSrc != nil {
		m.noiseSrc.Seed(m.noiseSeed, uint64(o.steps))
	}
	ps, bufs := o.Model.Params(), o.Model.Buffers()
	o.bufSave = append(o.bufSave[:0], bufs.Data...)
	pm := o.Method.Perturb
	if pm != nil && pm.MSharpness {
		return o.mSharpStep(task, st)
	}
	k := task.Micros()

	// (2) Pass 1: forward + backward at θt on the batch → loss, logits, g;
	// (3) with a trust-region radius, the target's predictions and d.
	t0 := time.Now()
	ps.ZeroGrad()
	var firstNoise Noise
	if pm != nil {
		firstNoise = pm.FirstPassNoise
	}
	for i := 0; i < k; i++ {
		o.Graph.Reset()
		logits, loss, regD := o.forward(task, i, false, firstNoise)
		o.Graph.Backward(o.Graph.Scale(loss, 1/float64(k), 0))
		st.Loss += float64(loss.Item()) / float64(k)
		st.RegD += regD / float64(k)
		if tr, ok := radiusOf(pm).(TrustRegion); ok {
			t1 := time.Now()
			target := tr.Target.logits(o, task, i)
			st.D += tr.Divergence.Measure(target.Data, logits.Data, logits.Dim(-1)) / float64(k)
			st.Target += time.Since(t1)
		}
	}
	st.GradNorm = o.norm(ps.Grad)
	st.Pass1 = time.Since(t0) - st.Target
	if pm != nil {
		if r, ok := pm.Radius.(Fixed); ok {
			st.D = float64(r)
		}
	}
	if bad := nonFinite(st.Loss, st.GradNorm, st.D, st.RegD); bad != "" {
		return o.skip(st, bad)
	}

	if pm != nil {
		// (4) ε from the radius and the direction; (5) the ascent θt + ε,
		// written into a second buffer so that θt itself is never touched.
		st.Radius = o.radius(pm, st.D)
		st.EpsNorm = o.ascend(pm, st.Radius)

		// (6) Pass 2: the gradient at θt + ε on the clean batch, batch norm
		// statistics frozen.
		t2 := time.Now()
		theta := ps.Swap(o.pert)
		ps.ZeroGrad()
		for i := 0; i < k; i++ {
			o.Graph.Reset()
			_, loss, _ := o.forward(task, i, true, nil)
			o.Graph.Backward(o.Graph.Scale(loss, 1/float64(k), 0))
		}
		// Restore θt exactly: swap the unperturbed arena back.
		ps.Swap(theta)
		st.Pass2 = time.Since(t2)
	}
	o.anchor(&st)
	st.SharpGradNorm = o.norm(ps.Grad)
	if bad := nonFinite(st.SharpGradNorm); bad != "" {
		return o.skip(st, "pass-2 gradient "+bad)
	}
	return o.update(st), nil
}

// update lets the targets see θt, then takes the base step (7).
func (o *Optimizer) update(st Stats) Stats {
	t := time.Now()
	ps := o.Model.Params()
	for _, tg := range o.Method.targets() {
		tg.update(ps.Data)
	}
	if o.ClipNorm > 0 {
		optim.ClipGradNorm(ps.Grad, o.ClipNorm)
	}
	o.Base.Step(ps)
	st.Update += time.Since(t)
	return st
}

// anchor applies the method's L2-SP term, if any, at θt: it adds
// λ(θt − θ0) to the gradient of every parameter outside [HeadLo, HeadHi)
// (the gradient of (λ/2)·‖θ − θ0‖², computed analytically: no pass), and
// reports ½‖θt − θ0‖² over them as RegD, the loss gaining λ·RegD. With
// λ = 0 the gradient is left untouched (bit for bit the base optimizer's
// step) and RegD is still measured.
func (o *Optimizer) anchor(st *Stats) {
	a := o.Method.Anchor
	if a == nil {
		return
	}
	t := time.Now()
	ps := o.Model.Params()
	th, g, th0 := ps.Data, ps.Grad, a.Ref.theta
	n := len(th)
	lo, hi := min(max(o.HeadLo, 0), n), min(max(o.HeadHi, 0), n)
	if hi < lo {
		lo, hi = 0, 0
	}
	lam := float32(a.Lambda)
	const chunk = 1 << 16
	nc := (n + chunk - 1) / chunk
	if cap(o.partial) < nc {
		o.partial = make([]float64, nc)
	}
	part := o.partial[:nc]
	pull := func(from, to int) (s float64) {
		for i := from; i < to; i++ {
			d := th[i] - th0[i]
			s += float64(d) * float64(d)
			if lam != 0 {
				g[i] += lam * d
			}
		}
		return s
	}
	parallel.For(nc, 1, func(clo, chi int) {
		for c := clo; c < chi; c++ {
			from, to := c*chunk, min((c+1)*chunk, n)
			// The chunk less the head: [from, lo) and [hi, to).
			part[c] = pull(from, min(to, lo)) + pull(max(from, hi), to)
		}
	})
	var s float64
	for _, v := range part {
		s += v
	}
	st.RegD += s / 2
	st.Loss += a.Lambda * s / 2
	st.Update += time.Since(t)
}

// forward runs micro-batch i with the method's regularizer, if any. frozen
// freezes batch-norm statistics (pass 2 and extra forwards).
func (o *Optimizer) forward(task Task, i int, frozen bool, noise Noise) (logits, loss *nn.Tensor, regD float64) {
	logits, loss = task.Forward(o.pass(frozen, noise), i)
	if reg := o.Method.Reg; reg != nil {
		var term *nn.Tensor
		term, regD = reg.term(o, task, i, logits)
		loss = o.Graph.Add(loss, term)
	}
	return logits, loss, regD
}

// pass returns the settings of one forward pass.
func (o *Optimizer) pass(frozen bool, noise Noise) *nn.Pass {
	p := &nn.Pass{G: o.Graph, Train: o.Train, FrozenStats: frozen, RNG: o.rng}
	if noise != nil {
		p.InputNoise = noise.Add
	}
	return p
}

// targetPass is the pass of a target forward: batch norm frozen, only the
// logits needed; in evaluation mode when the trust region asks for it.
func (o *Optimizer) targetPass(noise Noise) *nn.Pass {
	p := o.pass(true, noise)
	p.LogitsOnly = true
	if tr, ok := radiusOf(o.Method.Perturb).(TrustRegion); ok && tr.EvalMode {
		p.Train = false
	}
	return p
}

func radiusOf(pm *Perturbation) Radius {
	if pm == nil {
		return nil
	}
	return pm.Radius
}

// radius returns ρ (fixed) or min(κ·d_t, r_max) (trust region).
func (o *Optimizer) radius(pm *Perturbation, d float64) float64 {
	switch r := pm.Radius.(type) {
	case Fixed:
		return float64(r)
	case TrustRegion:
		return math.Min(r.Scale*d, r.Max)
	}
	panic(fmt.Sprintf("sharp: unknown radius %T", pm.Radius))
}

// ascend writes θ + ε into o.pert and returns ‖ε‖, with
//
//	SAM:      ε = r · g / (‖g‖ + 1e-12)
//	adaptive: ε = r · T²g / (‖Tg‖ + 1e-12),  T = |θ| + η (T = 1 off "weight" tensors if WeightsOnly)
//	Fisher:   ε = r · (g/f) / √(Σ g²/f + 1e-12),  f = 1 + η g².
func (o *Optimizer) ascend(pm *Perturbation, r float64) float64 {
	ps := o.Model.Params()
	th, g := ps.Data, ps.Grad
	if len(o.pert) != len(th) {
		o.pert = make([]float32, len(th))
	}
	eta := pm.Eta
	// The denominator, a global quantity over all parameters.
	den := o.segments(func(lo, hi int, adaptive bool) float64 {
		var s float64
		for i := lo; i < hi; i++ {
			gi := float64(g[i])
			switch {
			case pm.Direction == FisherDirection:
				s += gi * gi / (1 + eta*gi*gi)
			case adaptive:
				tg := (math.Abs(float64(th[i])) + eta) * gi
				s += tg * tg
			default:
				s += gi * gi
			}
		}
		return s
	})
	if pm.Direction == FisherDirection {
		den = math.Sqrt(den + 1e-12)
	} else {
		den = math.Sqrt(den) + 1e-12
	}
	scale := r / den
	eps2 := o.segments(func(lo, hi int, adaptive bool) float64 {
		var s float64
		for i := lo; i < hi; i++ {
			gi := float64(g[i])
			t := 1.0
			if adaptive {
				t = math.Abs(float64(th[i])) + eta
			}
			var e float64
			switch {
			case pm.Direction == FisherDirection:
				e = scale * gi / (1 + eta*gi*gi)
			case pm.NoGradientFactor:
				e = scale * t * t
			default:
				e = scale * t * t * gi
			}
			o.pert[i] = th[i] + float32(e)
			s += e * e
		}
		return s
	})
	return math.Sqrt(eps2)
}

// segments calls fn on fixed chunks of the parameter arena, in parallel,
// split further at tensor boundaries so that fn knows whether the
// perturbation is adaptive there, and returns the sum of fn's results in
// chunk order (deterministic for a given thread count).
func (o *Optimizer) segments(fn func(lo, hi int, adaptive bool) float64) float64 {
	ps, pm := o.Model.Params(), o.Method.Perturb
	list := ps.List()
	const chunk = 1 << 16
	nc := (ps.Len() + chunk - 1) / chunk
	if cap(o.partial) < nc {
		o.partial = make([]float64, nc)
	}
	part := o.partial[:nc]
	parallel.For(nc, 1, func(clo, chi int) {
		for c := clo; c < chi; c++ {
			lo, hi := c*chunk, min((c+1)*chunk, ps.Len())
			// The first tensor overlapping [lo, hi).
			ti := sort.Search(len(list), func(i int) bool { return ps.Offset(i)+list[i].Len() > lo })
			var s float64
			for at := lo; at < hi && ti < len(list); ti++ {
				end := min(ps.Offset(ti)+list[ti].Len(), hi)
				adaptive := pm.Direction == AdaptiveDirection && (!pm.WeightsOnly || strings.Contains(list[ti].Name(), "weight"))
				s += fn(at, end, adaptive)
				at = end
			}
			part[c] = s
		}
	})
	var total float64
	for _, v := range part {
		total += v
	}
	return total
}

// mSharpStep gives every micro-batch its own ascent: pass 1 on micro-batch
// i → its ε_i → pass 2 on micro-batch i at θt + ε_i; the sharp gradients are
// averaged for the one base update (docs/METHOD.md §9.2). Each micro-batch's
// pass 1 updates batch norm's running statistics once, as in Step.
func (o *Optimizer) mSharpStep(task Task, st Stats) (Stats, error) {
	ps, pm, k := o.Model.Params(), o.Method.Perturb, task.Micros()
	if len(o.sharp) != len(ps.Grad) {
		o.sharp = make([]float32, len(ps.Grad))
	}
	clear(o.sharp)
	var gn, en float64
	for i := 0; i < k; i++ {
		t0 := time.Now()
		ps.ZeroGrad()
		o.Graph.Reset()
		logits, loss, regD := o.forward(task, i, false, pm.FirstPassNoise)
		o.Graph.Backward(loss)
		st.Loss += float64(loss.Item()) / float64(k)
		st.RegD += regD / float64(k)
		var d float64
		switch r := pm.Radius.(type) {
		case Fixed:
			d = float64(r)
		case TrustRegion:
			t1 := time.Now()
			target := r.Target.logits(o, task, i)
			d = r.Divergence.Measure(target.Data, logits.Data, logits.Dim(-1))
			st.Target += time.Since(t1)
		}
		st.Pass1 += time.Since(t0)
		g := o.norm(ps.Grad)
		if bad := nonFinite(float64(loss.Item()), g, d, regD); bad != "" {
			return o.skip(st, bad)
		}
		r := o.radius(pm, d)
		st.D += d / float64(k)
		st.Radius += r / float64(k)
		gn += g / float64(k)
		en += o.ascend(pm, r) / float64(k)
		t2 := time.Now()
		theta := ps.Swap(o.pert)
		ps.ZeroGrad()
		o.Graph.Reset()
		_, loss2, _ := o.forward(task, i, true, nil)
		o.Graph.Backward(loss2)
		ps.Swap(theta)
		for j, v := range ps.Grad {
			o.sharp[j] += v / float32(k)
		}
		st.Pass2 += time.Since(t2)
	}
	copy(ps.Grad, o.sharp)
	st.GradNorm, st.EpsNorm = gn, en
	o.anchor(&st)
	st.SharpGradNorm = o.norm(ps.Grad)
	if bad := nonFinite(st.SharpGradNorm); bad != "" {
		return o.skip(st, "pass-2 gradient "+bad)
	}
	return o.update(st), nil
}

// skip abandons a step: batch-norm statistics are restored (the parameters
// were never changed), the step is counted, and an error is returned when
// StopOnNonFinite is set.
func (o *Optimizer) skip(st Stats, reason string) (Stats, error) {
	copy(o.Model.Buffers().Data, o.bufSave)
	o.Model.Params().ZeroGrad()
	o.skipped++
	st.Skipped, st.Reason = true, reason
	if o.StopOnNonFinite {
		return st, fmt.Errorf("sharp: step %d: %w: %s", st.Step, ErrNonFinite, reason)
	}
	return st, nil
}

// nonFinite names the first non-finite value among loss, gradient norm,
// radius and regularizer divergence, or returns "".
func nonFinite(v ...float64) string {
	names := []string{"loss", "gradient norm", "radius", "regularizer divergence"}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			if len(v) == 1 {
				return fmt.Sprintf("norm is %v", x)
			}
			return fmt.Sprintf("%s is %v", names[i], x)
		}
	}
	return ""
}

// norm is the global L2 norm of x, accumulated in float64 over fixed chunks
// in parallel and summed in chunk order (deterministic per thread count).
func (o *Optimizer) norm(x []float32) float64 {
	const chunk = 1 << 16
	nc := (len(x) + chunk - 1) / chunk
	if cap(o.partial) < nc {
		o.partial = make([]float64, nc)
	}
	part := o.partial[:nc]
	parallel.For(nc, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var s float64
			for _, v := range x[c*chunk : min((c+1)*chunk, len(x))] {
				s += float64(v) * float64(v)
			}
			part[c] = s
		}
	})
	var s float64
	for _, v := range part {
		s += v
	}
	return math.Sqrt(s)
}

// State returns what a resumed run needs besides the model and the base
// optimizer: the number of steps taken and skipped, and the targets'
// parameter copies (named "target.<i>").
func (o *Optimizer) State() (steps, skipped int, tensors map[string][]float32) {
	tensors = map[string][]float32{}
	for i, t := range o.Method.targets() {
		if pt, ok := t.(*ParamTarget); ok {
			tensors[fmt.Sprintf("target.%d", i)] = pt.theta
		}
	}
	return o.steps, o.skipped, tensors
}

// Restore sets the state saved by State.
func (o *Optimizer) Restore(steps, skipped int, tensors map[string][]float32) error {
	for i, t := range o.Method.targets() {
		pt, ok := t.(*ParamTarget)
		if !ok {
			continue
		}
		name := fmt.Sprintf("target.%d", i)
		v, ok := tensors[name]
		if !ok || len(v) != len(pt.theta) {
			return fmt.Errorf("sharp: saved state lacks %s with %d values", name, len(pt.theta))
		}
		copy(pt.theta, v)
	}
	o.steps, o.skipped = steps, skipped
	return nil
}
