// Package sharp implements the paper: sharpness-aware minimization (SAM),
// its adaptive (ASAM) and Fisher (FSAM) variants, Trust Region Aware
// Minimization (TRAM-θ0, TRAM-θt−1, TRAM-EMA, TRAM-x, TRAM-Fisher), the
// trust-region regularizers (TRPO-penalty, R3F, MESA), their naive
// combinations with ASAM, and the L2-SP baseline.
//
// Every method is one Step (step.go, to be read next to Algorithm 1 of
// Sherborne et al., ICLR 2024, and docs/METHOD.md, the math this package
// implements) composed from small named strategies:
//
//   - a Radius: a fixed ρ (SAM, ASAM) or γ (FSAM, TRAM-Fisher), or the
//     trust-region divergence d_t between the current model's predictions
//     and a Target's (TRAM);
//   - a Direction: SAM's g/‖g‖, ASAM's θ²g/‖|θ|g‖ (also TRAM's), or the
//     Fisher direction (g/f)/√(Σg²/f) with f = 1 + η g²;
//   - a Target: the pretrained θ0, the previous step's θt−1, an EMA of the
//     trajectory, or the current θ on noised inputs;
//   - a Divergence: KL (forward, reverse, symmetric), L2 between logits, or
//     MMD with an inverse-multiquadric kernel;
//   - a Regularizer added to the loss: TRPO, R3F or MESA;
//   - an Anchor: L2-SP's (λ/2)·‖θ − θ0‖² over the pretrained parameters,
//     whose gradient λ(θ − θ0) is added to the base optimizer's gradient
//     without a pass; the Optimizer's HeadLo and HeadHi name the new head,
//     which it leaves alone.
//
// A Task supplies the data: it runs the model on micro-batch i of the
// current batch under the given nn.Pass and returns the logits the
// divergences compare and the mean loss.
//
// NewMethod builds the named methods from Options, which it uses exactly
// as given: DefaultOptions returns a method's defaults and OptionsUsed the
// options it reads. Every step reports its Stats: the radius (D, Radius),
// the regularizer's divergence (RegD), norms and timings.
package sharp
