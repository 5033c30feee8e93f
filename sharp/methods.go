package sharp

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Options are the hyper-parameters of the named methods. Zero values mean
// the defaults of ../shared/spec/TRAM.md, listed per field.
type Options struct {
	Rho      float64 // SAM 0.05, ASAM 0.5 (and ASAM+X)
	Gamma    float64 // FSAM and TRAM-Fisher γ: 0.1
	Eta      float64 // FSAM and TRAM-Fisher η: 0.1; ASAM's offset η: 0 (the paper's θ² form)
	Lambda   float64 // TRPO, R3F, MESA weight λ: 0.1
	EMADecay float64 // TRAM-EMA and MESA β: 0.999
	Sigma    float64 // TRAM-x and TRAM-Fisher noise σ: 0.01; R3F: 0.1
	Tau      float64 // MESA temperature τ: 1
	// UniformNoise draws U(−σ, σ) instead of N(0, σ²).
	UniformNoise bool
	// Divergence for TRAM's radius (default KLForward).
	Divergence Divergence
	// Kappa multiplies d_t (default 1); MaxRadius caps it (default off).
	Kappa, MaxRadius float64
	// WeightsOnly restricts ASAM/TRAM adaptivity to weight matrices.
	WeightsOnly bool
	// NoGradientFactor: the public code's perturbation (ablation only).
	NoGradientFactor bool
	// MSharpness: one ascent per micro-batch.
	MSharpness bool
	// Seed fixes the noise draws.
	Seed uint64
}

// MethodNames lists the names NewMethod accepts.
var MethodNames = []string{"sgd", "adamw", "sam", "asam", "fsam", "tram-theta0", "tram-prev", "tram-ema", "tram-x",
	"tram-fisher", "trpo", "r3f", "r4f", "mesa", "asam+trpo", "asam+r3f", "asam+mesa"}

// NewMethod builds a named method. "sgd" and "adamw" are the plain base
// optimizer (the method does nothing beyond it).
func NewMethod(name string, o Options) (Method, error) {
	or := func(v, def float64) float64 {
		if v == 0 {
			return def
		}
		return v
	}
	src := rand.NewPCG(o.Seed^0x7a3d, 0)
	rng := rand.New(src)
	noise := func(def float64) Noise {
		s := or(o.Sigma, def)
		if o.UniformNoise {
			return UniformNoise{Sigma: s, RNG: rng}
		}
		return GaussianNoise{Sigma: s, RNG: rng}
	}
	div := o.Divergence
	if div == nil {
		div = KLForward
	}
	beta := or(o.EMADecay, 0.999)
	asam := func() *Perturbation {
		return &Perturbation{Radius: Fixed(or(o.Rho, 0.5)), Direction: AdaptiveDirection, Eta: o.Eta, WeightsOnly: o.WeightsOnly, MSharpness: o.MSharpness}
	}
	tram := func(t Target) *Perturbation {
		return &Perturbation{Radius: TrustRegion{Target: t, Divergence: div, Scale: o.Kappa, Max: o.MaxRadius},
			Direction: AdaptiveDirection, WeightsOnly: o.WeightsOnly, NoGradientFactor: o.NoGradientFactor, MSharpness: o.MSharpness}
	}
	lambda := or(o.Lambda, 0.1)
	m := Method{Name: name, noiseSrc: src, noiseSeed: o.Seed ^ 0x7a3d}
	switch name {
	case "sgd", "adamw":
	case "sam":
		m.Perturb = &Perturbation{Radius: Fixed(or(o.Rho, 0.05)), Direction: SAMDirection, MSharpness: o.MSharpness}
	case "asam":
		m.Perturb = asam()
	case "fsam":
		m.Perturb = &Perturbation{Radius: Fixed(or(o.Gamma, 0.1)), Direction: FisherDirection, Eta: or(o.Eta, 0.1), MSharpness: o.MSharpness}
	case "tram-theta0":
		m.Perturb = tram(&ParamTarget{Decay: 1})
	case "tram-prev":
		m.Perturb = tram(&ParamTarget{Decay: 0})
	case "tram-ema":
		m.Perturb = tram(&ParamTarget{Decay: beta})
	case "tram-x":
		m.Perturb = tram(&InputTarget{Noise: noise(0.01)})
	case "tram-fisher":
		m.Perturb = &Perturbation{Radius: Fixed(or(o.Gamma, 0.1)), Direction: FisherDirection, Eta: or(o.Eta, 0.1),
			FirstPassNoise: noise(0.01), MSharpness: o.MSharpness}
	case "trpo", "asam+trpo":
		m.Reg = &TRPO{Lambda: lambda, Ref: &ParamTarget{Decay: 0}}
	case "r3f", "asam+r3f":
		m.Reg = &R3F{Lambda: lambda, Noise: noise(0.1)}
	case "r4f":
		m.Reg = &R3F{Lambda: lambda, Noise: noise(0.1)}
		m.SpectralHead = true
	case "mesa", "asam+mesa":
		m.Reg = &MESA{Lambda: lambda, Tau: or(o.Tau, 1), Ref: &ParamTarget{Decay: beta}}
	default:
		return Method{}, fmt.Errorf("unknown method %q; valid methods: %s", name, strings.Join(MethodNames, ", "))
	}
	if strings.HasPrefix(name, "asam+") {
		m.Perturb = asam()
	}
	return m, nil
}

// Cost returns the forward and backward passes per step (spec §5).
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
