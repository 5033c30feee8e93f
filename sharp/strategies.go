package sharp

import (
	"math/rand/v2"

	"github.com/tramlab/tram/nn"
)

// A Task runs the model on the current batch. The step calls Forward
// several times per batch (once per pass and per extra forward); each call
// must build fresh tensors on p.G.
type Task interface {
	// Micros returns the number of micro-batches of the current batch. Their
	// gradients are accumulated with weight 1/Micros, so micro-batches should
	// have equal sizes.
	Micros() int
	// Forward runs micro-batch i under p and returns the logits that
	// divergences compare ([..., classes], averaged over all leading
	// positions; for causal language models, the predicting positions only)
	// and the mean loss. When p.LogitsOnly is set the loss may be nil.
	Forward(p *nn.Pass, i int) (logits, loss *nn.Tensor)
}

// Noise perturbs a model's input representation in place.
type Noise interface {
	Add(x []float32)
}

// GaussianNoise adds draws from N(0, σ²).
type GaussianNoise struct {
	Sigma float64
	RNG   *rand.Rand
}

// Add adds Gaussian noise to x.
func (n GaussianNoise) Add(x []float32) {
	for i := range x {
		x[i] += float32(n.RNG.NormFloat64() * n.Sigma)
	}
}

// UniformNoise adds draws from U(−σ, σ).
type UniformNoise struct {
	Sigma float64
	RNG   *rand.Rand
}

// Add adds uniform noise to x.
func (n UniformNoise) Add(x []float32) {
	for i := range x {
		x[i] += float32((2*n.RNG.Float64() - 1) * n.Sigma)
	}
}

// A Target supplies the reference predictions of a trust region.
type Target interface {
	// Name names the target (theta0, prev, ema, x).
	Name() string
	// init receives the initial parameters θ0 (the pretrained model).
	init(theta0 []float32)
	// logits runs the target's forward for micro-batch i without recording
	// gradients, in the same mode as pass 1 with batch norm frozen.
	logits(o *Optimizer, task Task, i int) *nn.Tensor
	// update receives the unperturbed θt just before the base update.
	update(theta []float32)
}

// ParamTarget evaluates the model at reference parameters θ̄ that start at
// θ0 and move as θ̄ ← β·θ̄ + (1−β)·θt just before every base update. β = 1
// keeps the pretrained θ0 (TRAM-θ0; L2-SP's anchor), β = 0 holds the
// previous step's θt−1 (TRAM-θt−1, TRPO), values between give an EMA
// (TRAM-EMA, MESA).
type ParamTarget struct {
	// Decay is β, in [0, 1].
	Decay float64
	theta []float32
}

// Name returns theta0, prev or ema.
func (t *ParamTarget) Name() string {
	switch t.Decay {
	case 1:
		return "theta0"
	case 0:
		return "prev"
	}
	return "ema"
}

func (t *ParamTarget) init(theta0 []float32) { t.theta = append([]float32(nil), theta0...) }

func (t *ParamTarget) logits(o *Optimizer, task Task, i int) *nn.Tensor {
	ps := o.Model.Params()
	prev := ps.Swap(t.theta)
	defer ps.Swap(prev)
	var out *nn.Tensor
	o.Graph.NoGrad(func() { out, _ = task.Forward(o.targetPass(nil), i) })
	return out
}

func (t *ParamTarget) update(theta []float32) {
	switch b := float32(t.Decay); b {
	case 1:
	case 0:
		copy(t.theta, theta)
	default:
		for i, v := range theta {
			t.theta[i] = b*t.theta[i] + (1-b)*v
		}
	}
}

// InputTarget evaluates the current θt on noised inputs (TRAM-x).
type InputTarget struct{ Noise Noise }

// Name returns "x".
func (t *InputTarget) Name() string     { return "x" }
func (t *InputTarget) init([]float32)   {}
func (t *InputTarget) update([]float32) {}
func (t *InputTarget) logits(o *Optimizer, task Task, i int) *nn.Tensor {
	var out *nn.Tensor
	o.Graph.NoGrad(func() { out, _ = task.Forward(o.targetPass(t.Noise), i) })
	return out
}

// A Radius sizes the perturbation.
type Radius interface{ isRadius() }

// Fixed is a constant radius: SAM's and ASAM's ρ, FSAM's γ.
type Fixed float64

func (Fixed) isRadius() {}

// TrustRegion is TRAM's radius min(κ·d_t, Max), with d_t =
// Divergence(target predictions, current predictions) recomputed every
// step (docs/METHOD.md §3.2). Scale and Max are used as given: Scale 1 and
// Max +Inf (math.Inf(1)) are the paper's radius d_t.
type TrustRegion struct {
	Target     Target
	Divergence Divergence
	// Scale is the multiplier κ ≥ 0.
	Scale float64
	// Max is the cap r_max ≥ 0; +Inf is no cap.
	Max float64
	// EvalMode runs the target forward in evaluation mode (Options.TargetEvalMode).
	EvalMode bool
}

func (TrustRegion) isRadius() {}

// Direction is the shape of the perturbation.
type Direction int

const (
	// SAMDirection is g/‖g‖.
	SAMDirection Direction = iota
	// AdaptiveDirection is T²g/‖Tg‖ with T = |θ| (+η): ASAM, and TRAM's Eq. 7.
	AdaptiveDirection
	// FisherDirection is (g/f)/√(Σ g²/f) with f = 1 + η g²: FSAM, TRAM-Fisher.
	FisherDirection
)

// Perturbation describes the ascent of the two-pass methods.
type Perturbation struct {
	Radius    Radius
	Direction Direction
	// Eta is ASAM's offset in T = |θ| + η (0: the paper's θ² form) or the
	// Fisher damping η.
	Eta float64
	// WeightsOnly applies the adaptive scaling only to the parameters whose
	// name contains "weight" (weight matrices, embeddings, LayerNorm and
	// BatchNorm gains); the others (biases) use T = 1. This is ASAM's own
	// rule (docs/METHOD.md §4.2).
	WeightsOnly bool
	// FirstPassNoise, when set, runs pass 1 on noised inputs (TRAM-Fisher).
	FirstPassNoise Noise
	// NoGradientFactor is an ablation reproducing the public TRAM code's
	// perturbation ε = r·T²/‖Tg‖, which omits the gradient. Never the default.
	NoGradientFactor bool
	// MSharpness computes a separate ascent for every micro-batch (of size
	// m) from its own gradient, and averages the micro-batches' sharp
	// gradients for the one base update.
	MSharpness bool
}

// A Regularizer adds λ·divergence to the loss (trust-region methods,
// docs/METHOD.md §8).
type Regularizer interface {
	// Name names the regularizer.
	Name() string
	// term returns, for micro-batch i and the current logits, the
	// differentiable penalty λ·d and the unweighted divergence d.
	term(o *Optimizer, task Task, i int, logits *nn.Tensor) (*nn.Tensor, float64)
	target() Target
}

// TRPO penalizes λ·KL(p_{θt−1} ‖ p_θ), gradient through the current side.
type TRPO struct {
	Lambda float64
	Ref    *ParamTarget // Decay 0
}

// Name returns "trpo".
func (r *TRPO) Name() string   { return "trpo" }
func (r *TRPO) target() Target { return r.Ref }
func (r *TRPO) term(o *Optimizer, task Task, i int, logits *nn.Tensor) (*nn.Tensor, float64) {
	t := r.Ref.logits(o, task, i)
	kl := o.Graph.KL(t, logits)
	return o.Graph.Scale(kl, r.Lambda, 0), float64(kl.Item())
}

// R3F penalizes λ·(KL(p(x+z) ‖ p(x)) + KL(p(x) ‖ p(x+z))) with noise z on
// the input embeddings or pixels; gradients flow through both forwards.
// With OneSided it penalizes λ·KL(p(x+z) ‖ p(x)) alone, the d_x of the
// paper's Eq. 5: the noised predictions are the target, the clean ones the
// estimate.
type R3F struct {
	Lambda   float64
	Noise    Noise
	OneSided bool
}

// Name returns "r3f".
func (r *R3F) Name() string   { return "r3f" }
func (r *R3F) target() Target { return nil }
func (r *R3F) term(o *Optimizer, task Task, i int, logits *nn.Tensor) (*nn.Tensor, float64) {
	g := o.Graph
	noised, _ := task.Forward(o.pass(true, r.Noise), i)
	d := g.KL(noised, logits)
	if !r.OneSided {
		d = g.Add(d, g.KL(logits, noised))
	}
	return g.Scale(d, r.Lambda, 0), float64(d.Item())
}

// MESA penalizes λ·τ²·KL(softmax(z̄/τ) ‖ softmax(z/τ)) with z̄ the logits of
// an EMA of the parameters.
type MESA struct {
	Lambda, Tau float64
	Ref         *ParamTarget // Decay β, 0.999 in the paper
}

// Name returns "mesa".
func (r *MESA) Name() string   { return "mesa" }
func (r *MESA) target() Target { return r.Ref }
func (r *MESA) term(o *Optimizer, task Task, i int, logits *nn.Tensor) (*nn.Tensor, float64) {
	g := o.Graph
	t := r.Ref.logits(o, task, i)
	kl := g.KL(g.Scale(t, 1/r.Tau, 0), g.Scale(logits, 1/r.Tau, 0))
	d := g.Scale(kl, r.Tau*r.Tau, 0)
	return g.Scale(d, r.Lambda, 0), float64(d.Item())
}

// L2SP is the L2-SP baseline (Li, Grandvalet, Davoine, ICML 2018): the
// loss gains (λ/2)·‖θ − θ0‖² over the pretrained parameters, θ0 being their
// values when the Optimizer was made (docs/METHOD.md §16). Its gradient
// λ(θ − θ0) is analytic: the step adds it to the gradient handed to the
// base optimizer, with no extra forward or backward. The parameters in the
// Optimizer's [HeadLo, HeadHi), a new head without pretrained values, are
// not pulled. With AdamW the term goes through Adam's moments (coupled L2,
// what PyTorch computes when the penalty is added to the loss), unlike
// AdamW's own decoupled weight decay.
type L2SP struct {
	Lambda float64
	Ref    *ParamTarget // Decay 1: holds θ0
}

// Name returns "l2sp".
func (a *L2SP) Name() string { return "l2sp" }

// Method is a named composition of strategies. A Method with neither a
// Perturbation, a Regularizer nor an Anchor is the plain base optimizer.
type Method struct {
	Name    string
	Perturb *Perturbation
	Reg     Regularizer
	// Anchor, when set, adds L2-SP's gradient λ(θ − θ0) to the gradient the
	// base optimizer receives.
	Anchor *L2SP
	// SpectralHead asks for a model whose classification head is spectrally
	// normalized (R4F = R3F + that head; see nn.NewSpectralLinear and the
	// spectral_norm_head option of models/vision and models/bert). The step
	// itself does not change; whoever builds the model must honour it.
	SpectralHead bool

	// noiseSrc, when set (methods from NewMethod), drives the noise draws;
	// it is reseeded from (noiseSeed, step) at every step so that a resumed
	// run draws what an uninterrupted one would.
	noiseSrc  *rand.PCG
	noiseSeed uint64
}

// targets lists every target the method keeps, for init and update.
func (m Method) targets() []Target {
	var ts []Target
	if m.Perturb != nil {
		if tr, ok := m.Perturb.Radius.(TrustRegion); ok {
			ts = append(ts, tr.Target)
		}
	}
	if m.Reg != nil && m.Reg.target() != nil {
		ts = append(ts, m.Reg.target())
	}
	if m.Anchor != nil {
		ts = append(ts, m.Anchor.Ref)
	}
	return ts
}

// FixedNoise adds the same noise vector at every call: deterministic
// replays, and tests that inject noise through the API.
type FixedNoise []float32

// Add adds z to x; x must not be longer than z.
func (z FixedNoise) Add(x []float32) {
	for i := range x {
		x[i] += z[i]
	}
}
