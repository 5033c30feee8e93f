package sharp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Options are the hyper-parameters of the named methods. NewMethod uses
// every field exactly as given, zero included (Kappa 0 is a zero radius,
// EMADecay 0 is β = 0): start from DefaultOptions(method), which holds the
// defaults of docs/METHOD.md §12, and change what you need. A method reads
// only the fields OptionsUsed names and ignores the others.
type Options struct {
	// Rho is the radius ρ of SAM (default 0.05), ASAM and ASAM+X (0.5);
	// ≥ 0.
	Rho float64
	// Gamma is the radius γ of FSAM and TRAM-Fisher (default 0.1); ≥ 0.
	Gamma float64
	// Eta is the Fisher damping η of FSAM and TRAM-Fisher (default 0.1), or
	// the offset η of the adaptive scaling T = |θ| + η of ASAM, ASAM+X and
	// TRAM (default 0, the paper's θ² form); ≥ 0.
	Eta float64
	// Lambda is the weight λ of the TRPO, R3F, R4F and MESA penalties
	// (default 0.1), and of L2-SP's (λ/2)·‖θ − θ0‖² (default 0.01, the α
	// of Li et al.); ≥ 0.
	Lambda float64
	// EMADecay is the decay β of TRAM-EMA's and MESA's EMA target (default
	// 0.999), in [0, 1]: 0 holds the previous step's parameters, 1 the
	// initial ones.
	EMADecay float64
	// Sigma is the input-noise scale σ of TRAM-x and TRAM-Fisher (default
	// 0.01) and of R3F, R4F and ASAM+R3F (0.1); ≥ 0 (0: no noise).
	Sigma float64
	// Tau is MESA's temperature τ (default 1); > 0.
	Tau float64
	// UniformNoise draws the input noise from U(−σ, σ) instead of N(0, σ²).
	UniformNoise bool
	// Divergence is TRAM's trust-region divergence (default KLForward);
	// not nil.
	Divergence Divergence
	// Kappa multiplies TRAM's d_t (default 1); ≥ 0. The radius used is
	// min(κ·d_t, MaxRadius).
	Kappa float64
	// MaxRadius caps TRAM's radius κ·d_t; ≥ 0. The default, +Inf
	// (math.Inf(1)), is no cap.
	MaxRadius float64
	// WeightsOnly restricts the adaptive scaling of ASAM, ASAM+X and TRAM to
	// the parameters whose name contains "weight" (ASAM's own rule: weight
	// matrices, embeddings, and LayerNorm and BatchNorm gains); the others
	// use T = 1. Default off (the paper's form).
	WeightsOnly bool
	// NoGradientFactor makes TRAM use the public code's perturbation
	// ε = r·T²/‖Tg‖, without the gradient (an ablation; docs/METHOD.md §4.4).
	NoGradientFactor bool
	// TargetEvalMode runs TRAM's trust-region target forward in evaluation
	// mode (no dropout, batch norm on running statistics) while the
	// current model's passes stay in training mode: the public code's
	// setting, whose d_t then also measures dropout noise and the
	// train/eval gap (an ablation; docs/METHOD.md §9.4). Default off.
	TargetEvalMode bool
	// MSharpness gives every micro-batch its own ascent (SAM's
	// m-sharpness, docs/METHOD.md §9.2), for every method with a
	// perturbation.
	MSharpness bool
	// OneSidedKL makes R3F, R4F and ASAM+R3F penalize the one-sided
	// KL(p(·|x+z) ‖ p(·|x)) of the paper's Eq. 5 (the noised predictions
	// are the target) instead of the symmetric sum.
	OneSidedKL bool
	// Seed fixes the noise draws (every method accepts it; OptionsUsed does
	// not list it).
	Seed uint64
}

// MethodNames lists the names NewMethod accepts.
var MethodNames = []string{"sgd", "adamw", "sam", "asam", "fsam", "tram-theta0", "tram-prev", "tram-ema", "tram-x",
	"tram-fisher", "trpo", "r3f", "r4f", "mesa", "asam+trpo", "asam+r3f", "asam+mesa", "l2sp"}

// Option field lists shared by several methods.
var (
	asamFields = []string{"Rho", "Eta", "WeightsOnly", "MSharpness"}
	tramFields = []string{"Eta", "Divergence", "Kappa", "MaxRadius", "WeightsOnly", "NoGradientFactor", "TargetEvalMode", "MSharpness"}
	r3fFields  = []string{"Lambda", "Sigma", "UniformNoise", "OneSidedKL"}
	mesaFields = []string{"Lambda", "EMADecay", "Tau"}
)

// OptionsUsed returns the names of the Options fields that the method
// reads (Seed aside, which every method accepts), in the order of Options;
// an empty list for the plain optimizers and nil for an unknown method.
func OptionsUsed(method string) []string {
	var f []string
	switch method {
	case "sgd", "adamw":
		return []string{}
	case "sam":
		f = []string{"Rho", "MSharpness"}
	case "asam":
		f = asamFields
	case "fsam":
		f = []string{"Gamma", "Eta", "MSharpness"}
	case "tram-theta0", "tram-prev":
		f = tramFields
	case "tram-ema":
		f = append([]string{"EMADecay"}, tramFields...)
	case "tram-x":
		f = append([]string{"Sigma", "UniformNoise"}, tramFields...)
	case "tram-fisher":
		f = []string{"Gamma", "Eta", "Sigma", "UniformNoise", "MSharpness"}
	case "trpo", "l2sp":
		f = []string{"Lambda"}
	case "r3f", "r4f":
		f = r3fFields
	case "mesa":
		f = mesaFields
	case "asam+trpo":
		f = append([]string{"Lambda"}, asamFields...)
	case "asam+r3f":
		f = append(slices.Clone(r3fFields), asamFields...)
	case "asam+mesa":
		f = append(slices.Clone(mesaFields), asamFields...)
	default:
		return nil
	}
	return sortFields(f)
}

// optionOrder is the order of the fields in Options.
var optionOrder = []string{"Rho", "Gamma", "Eta", "Lambda", "EMADecay", "Sigma", "Tau", "UniformNoise", "Divergence",
	"Kappa", "MaxRadius", "WeightsOnly", "NoGradientFactor", "TargetEvalMode", "MSharpness", "OneSidedKL"}

// sortFields returns a copy of f, deduplicated, in the order of Options.
func sortFields(f []string) []string {
	out := make([]string, 0, len(f))
	for _, name := range optionOrder {
		if slices.Contains(f, name) {
			out = append(out, name)
		}
	}
	return out
}

// DefaultOptions returns the defaults of docs/METHOD.md §12 for the method:
// ρ 0.05 (SAM) or 0.5 (ASAM, ASAM+X); γ 0.1 and η 0.1 (FSAM, TRAM-Fisher);
// η 0 (ASAM, ASAM+X, TRAM); λ 0.1, or 0.01 (L2-SP); β 0.999; σ 0.01
// (TRAM-x, TRAM-Fisher) or 0.1 (R3F, R4F, ASAM+R3F); τ 1; κ 1; MaxRadius
// +Inf (no cap); Divergence KLForward; every switch off. Fields the method does not read
// (see OptionsUsed) are left zero; an unknown method gets the zero Options.
func DefaultOptions(method string) Options {
	var o Options
	for _, f := range OptionsUsed(method) {
		switch f {
		case "Rho":
			o.Rho = 0.5
			if method == "sam" {
				o.Rho = 0.05
			}
		case "Gamma":
			o.Gamma = 0.1
		case "Eta":
			if method == "fsam" || method == "tram-fisher" {
				o.Eta = 0.1
			}
		case "Lambda":
			o.Lambda = 0.1
			if method == "l2sp" {
				// Li, Grandvalet, Davoine (ICML 2018) weight their L2-SP
				// term (α/2)·‖w − w0‖² with α = 0.01 in most experiments;
				// λ here is that α (docs/METHOD.md §16).
				o.Lambda = 0.01
			}
		case "EMADecay":
			o.EMADecay = 0.999
		case "Sigma":
			o.Sigma = 0.1
			if method == "tram-x" || method == "tram-fisher" {
				o.Sigma = 0.01
			}
		case "Tau":
			o.Tau = 1
		case "Divergence":
			o.Divergence = KLForward
		case "Kappa":
			o.Kappa = 1
		case "MaxRadius":
			o.MaxRadius = math.Inf(1)
		}
	}
	return o
}

// validate checks the fields the method reads against their valid ranges.
func (o Options) validate(method string) error {
	for _, f := range OptionsUsed(method) {
		var v float64
		lo, hi, open, rng := 0.0, math.MaxFloat64, false, "[0, ∞)"
		switch f {
		case "Rho":
			v = o.Rho
		case "Gamma":
			v = o.Gamma
		case "Eta":
			v = o.Eta
		case "Lambda":
			v = o.Lambda
		case "Sigma":
			v = o.Sigma
		case "Kappa":
			v = o.Kappa
		case "EMADecay":
			v, hi, rng = o.EMADecay, 1, "[0, 1]"
		case "Tau":
			v, open, rng = o.Tau, true, "(0, ∞)"
		case "MaxRadius":
			v, hi, rng = o.MaxRadius, math.Inf(1), "[0, +Inf] (+Inf: no cap)"
		case "Divergence":
			if o.Divergence == nil {
				return fmt.Errorf("sharp: %s: Divergence is nil; valid: one of kl, kl-reverse, kl-symmetric, l2, mmd", method)
			}
			continue
		default: // switches
			continue
		}
		if !(v >= lo && v <= hi) || (open && v == lo) {
			return fmt.Errorf("sharp: %s: %s = %v is outside its valid range %s", method, f, v, rng)
		}
	}
	return nil
}

// NewMethod builds a named method from the options, each used exactly as
// given (see DefaultOptions); it returns an error for an unknown method or
// an option outside its valid range. "sgd" and "adamw" are the plain base
// optimizer (the method does nothing beyond it). "l2sp" runs on whichever
// base optimizer the Optimizer is given; it pulls every parameter outside
// the Optimizer's [HeadLo, HeadHi) toward its value at New.
func NewMethod(name string, o Options) (Method, error) {
	if !slices.Contains(MethodNames, name) {
		return Method{}, fmt.Errorf("unknown method %q; valid methods: %s", name, strings.Join(MethodNames, ", "))
	}
	if err := o.validate(name); err != nil {
		return Method{}, err
	}
	src := rand.NewPCG(o.Seed^0x7a3d, 0)
	rng := rand.New(src)
	noise := func() Noise {
		if o.UniformNoise {
			return UniformNoise{Sigma: o.Sigma, RNG: rng}
		}
		return GaussianNoise{Sigma: o.Sigma, RNG: rng}
	}
	asam := func() *Perturbation {
		return &Perturbation{Radius: Fixed(o.Rho), Direction: AdaptiveDirection, Eta: o.Eta, WeightsOnly: o.WeightsOnly,
			MSharpness: o.MSharpness}
	}
	tram := func(t Target) *Perturbation {
		return &Perturbation{Radius: TrustRegion{Target: t, Divergence: o.Divergence, Scale: o.Kappa, Max: o.MaxRadius, EvalMode: o.TargetEvalMode},
			Direction: AdaptiveDirection, Eta: o.Eta, WeightsOnly: o.WeightsOnly, NoGradientFactor: o.NoGradientFactor,
			MSharpness: o.MSharpness}
	}
	fisher := func() *Perturbation {
		return &Perturbation{Radius: Fixed(o.Gamma), Direction: FisherDirection, Eta: o.Eta, MSharpness: o.MSharpness}
	}
	m := Method{Name: name, noiseSrc: src, noiseSeed: o.Seed ^ 0x7a3d}
	switch name {
	case "sam":
		m.Perturb = &Perturbation{Radius: Fixed(o.Rho), Direction: SAMDirection, MSharpness: o.MSharpness}
	case "asam":
		m.Perturb = asam()
	case "fsam":
		m.Perturb = fisher()
	case "tram-theta0":
		m.Perturb = tram(&ParamTarget{Decay: 1})
	case "tram-prev":
		m.Perturb = tram(&ParamTarget{Decay: 0})
	case "tram-ema":
		m.Perturb = tram(&ParamTarget{Decay: o.EMADecay})
	case "tram-x":
		m.Perturb = tram(&InputTarget{Noise: noise()})
	case "tram-fisher":
		m.Perturb = fisher()
		m.Perturb.FirstPassNoise = noise()
	case "trpo", "asam+trpo":
		m.Reg = &TRPO{Lambda: o.Lambda, Ref: &ParamTarget{Decay: 0}}
	case "r3f", "asam+r3f", "r4f":
		m.Reg = &R3F{Lambda: o.Lambda, Noise: noise(), OneSided: o.OneSidedKL}
		m.SpectralHead = name == "r4f"
	case "mesa", "asam+mesa":
		m.Reg = &MESA{Lambda: o.Lambda, Tau: o.Tau, Ref: &ParamTarget{Decay: o.EMADecay}}
	case "l2sp":
		m.Anchor = &L2SP{Lambda: o.Lambda, Ref: &ParamTarget{Decay: 1}}
	}
	if strings.HasPrefix(name, "asam+") {
		m.Perturb = asam()
	}
	return m, nil
}

// Cost returns the forward and backward passes per step (docs/METHOD.md §13).
// An Anchor (L2-SP) adds none: its gradient is analytic.
func (m Method) Cost() (forward, backward int) {
	forward, backward = 1, 1
	if m.Reg != nil {
		forward++
	}
	if m.Perturb != nil {
		forward, backward = 2*forward, 2
		if _, ok := m.Perturb.Radius.(TrustRegion); ok {
			forward++
		}
	}
	return forward, backward
}
