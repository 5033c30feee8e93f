package sharp

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/tensor"
)

// quadratic is f(θ) = ½ Σ a_i θ_i², whose gradient aθ makes every ε closed-form.
type quadratic struct {
	ps, bufs nn.Params
	theta    *nn.Tensor
	a        []float32
}

func newQuadratic() *quadratic {
	q := &quadratic{a: []float32{1, 4, 0.5, 2}}
	q.theta = q.ps.Add("theta", 4)
	copy(q.theta.Data, []float32{1, -0.5, 2, 0.25})
	return q
}

func (q *quadratic) Params() *nn.Params  { return &q.ps }
func (q *quadratic) Buffers() *nn.Params { return &q.bufs }
func (q *quadratic) Micros() int         { return 1 }
func (q *quadratic) Forward(p *nn.Pass, i int) (*nn.Tensor, *nn.Tensor) {
	g := p.G
	a := g.Constant(q.a, 4)
	loss := g.Scale(g.Sum(g.Mul(a, g.Square(q.theta))), 0.5, 0)
	return g.Reshape(q.theta, 1, 4), loss
}

func TestClosedFormPerturbations(t *testing.T) {
	th0 := []float64{1, -0.5, 2, 0.25}
	a := []float64{1, 4, 0.5, 2}
	grad := func(th []float64) []float64 {
		g := make([]float64, len(th))
		for i := range th {
			g[i] = a[i] * th[i]
		}
		return g
	}
	g := grad(th0)
	nrm := func(x []float64) float64 {
		var s float64
		for _, v := range x {
			s += v * v
		}
		return math.Sqrt(s)
	}
	eps := map[string][]float64{}
	{ // SAM: ρ g/‖g‖
		e := make([]float64, 4)
		for i := range e {
			e[i] = 0.05 * g[i] / nrm(g)
		}
		eps["sam"] = e
	}
	{ // ASAM: ρ θ²g/‖|θ|g‖
		tg := make([]float64, 4)
		for i := range tg {
			tg[i] = math.Abs(th0[i]) * g[i]
		}
		e := make([]float64, 4)
		for i := range e {
			e[i] = 0.5 * th0[i] * th0[i] * g[i] / nrm(tg)
		}
		eps["asam"] = e
	}
	{ // FSAM: γ (g/f)/√(Σg²/f), f = 1 + η g²
		var den float64
		for i := range g {
			den += g[i] * g[i] / (1 + 0.1*g[i]*g[i])
		}
		e := make([]float64, 4)
		for i := range e {
			e[i] = 0.1 * g[i] / (1 + 0.1*g[i]*g[i]) / math.Sqrt(den)
		}
		eps["fsam"] = e
	}
	for name, e := range eps {
		t.Run(name, func(t *testing.T) {
			q := newQuadratic()
			m, err := NewMethod(name, DefaultOptions(name))
			if err != nil {
				t.Fatal(err)
			}
			o := New(q, optim.NewSGD(0.1, 0, 0), m, 0)
			st, err := o.Step(q)
			if err != nil {
				t.Fatal(err)
			}
			pt := make([]float64, 4)
			for i := range pt {
				pt[i] = th0[i] + e[i]
			}
			gs := grad(pt)
			for i := range th0 {
				want := th0[i] - 0.1*gs[i] // descend from θ with the gradient at θ+ε
				if d := math.Abs(float64(q.theta.Data[i]) - want); d > 1e-6 {
					t.Fatalf("θ[%d] = %v, closed form %v", i, q.theta.Data[i], want)
				}
			}
			if d := math.Abs(st.EpsNorm - nrm(e)); d > 1e-7 {
				t.Fatalf("‖ε‖ = %v, closed form %v", st.EpsNorm, nrm(e))
			}
		})
	}
}

func TestNonFiniteStepIsSkipped(t *testing.T) {
	q := newQuadratic()
	q.a[1] = float32(math.Inf(1))
	m, _ := NewMethod("sam", DefaultOptions("sam"))
	o := New(q, optim.NewSGD(0.1, 0.9, 0), m, 0)
	before := append([]float32(nil), q.ps.Data...)
	st, err := o.Step(q)
	if err != nil || !st.Skipped || o.Skipped() != 1 {
		t.Fatalf("step not skipped: %+v, %v", st, err)
	}
	for i, v := range before {
		if math.Float32bits(q.ps.Data[i]) != math.Float32bits(v) {
			t.Fatal("parameters changed by a skipped step")
		}
	}
	o.StopOnNonFinite = true
	if _, err := o.Step(q); !errors.Is(err, ErrNonFinite) {
		t.Fatalf("StopOnNonFinite: got %v", err)
	}
}

func TestBatchNormStatsRestoredOnSkip(t *testing.T) {
	g := loadGolden(t)
	model, task, base, _ := g.setup(t, "mlp", 1)
	mt := task.(*mlpTask)
	mt.x = append([]float32(nil), mt.x...)
	mt.x[3] = float32(math.NaN())
	m, _ := NewMethod("sam", DefaultOptions("sam"))
	o := New(model, base, m, 0)
	bufs := append([]float32(nil), model.Buffers().Data...)
	st, _ := o.Step(task)
	if !st.Skipped {
		t.Fatal("NaN input did not skip the step")
	}
	for i, v := range bufs {
		if model.Buffers().Data[i] != v {
			t.Fatalf("buffer %d changed by a skipped step", i)
		}
	}
}

// TestAccumulationMatchesLargeBatch: two micro-batches give the step of
// the whole batch (GPT, which has no batch norm), for plain, SAM and TRAM.
func TestAccumulationMatchesLargeBatch(t *testing.T) {
	g := loadGolden(t)
	for _, name := range []string{"adamw", "sam", "tram-theta0", "tram-prev", "trpo"} {
		t.Run(name, func(t *testing.T) {
			run := func(micros int) []float32 {
				model, task, base, _ := g.setup(t, "gpt", micros)
				m, _ := NewMethod(name, DefaultOptions(name))
				o := New(model, base, m, 0)
				for range 3 {
					if _, err := o.Step(task); err != nil {
						t.Fatal(err)
					}
				}
				return model.Params().Data
			}
			one, two := run(1), run(2)
			for i := range one {
				if d := math.Abs(float64(one[i] - two[i])); d > 1e-5+1e-4*math.Abs(float64(one[i])) {
					t.Fatalf("parameter %d: one batch %v, two micro-batches %v", i, one[i], two[i])
				}
			}
		})
	}
}

// TestMSharpness: with m-sharpness, the update is the mean of the updates
// that independent SAM-family steps on each micro-batch alone would make
// (SGD without momentum is linear in the gradient), and it differs from the
// step on the whole batch; the stats are the micro-batches' means. TRAM-x
// runs with κ = 50 and a fixed noise tensor (the same for every micro-batch,
// so that the independent steps see the same noise).
func TestMSharpness(t *testing.T) {
	g := loadGolden(t)
	const lr = 0.1
	for _, name := range []string{"sam", "asam", "fsam", "asam+trpo", "tram-x"} {
		t.Run(name, func(t *testing.T) {
			step := func(micros int, msharp bool, only int) ([]float32, Stats) {
				model, task, _, noise := g.setup(t, "gpt", micros)
				if only >= 0 { // the batch reduced to sequence `only`
					gt := task.(*gptTask)
					gt.ids = gt.ids[only*gt.T : (only+1)*gt.T]
					gt.tgts = gt.tgts[only*(gt.T-1) : (only+1)*(gt.T-1)]
					gt.B = 1
				}
				o := DefaultOptions(name)
				o.MSharpness = msharp
				if name == "tram-x" {
					o.Kappa = 50 // d_t ≈ 1e-3 here: a radius that moves the step
				}
				m, err := NewMethod(name, o)
				if err != nil {
					t.Fatal(err)
				}
				if tr, ok := m.Perturb.Radius.(TrustRegion); ok {
					tr.Target = &InputTarget{Noise: noise}
					m.Perturb.Radius = tr
				}
				st, err := New(model, optim.NewSGD(lr, 0, 0), m, 0).Step(task)
				if err != nil || st.Skipped {
					t.Fatalf("step: %v %s", err, st.Reason)
				}
				return model.Params().Data, st
			}
			msharp, st := step(2, true, -1)
			whole, _ := step(2, false, -1)
			first, st0 := step(1, false, 0)
			second, st1 := step(1, false, 1)
			var far float64
			for i := range msharp {
				want := (float64(first[i]) + float64(second[i])) / 2
				if d := math.Abs(float64(msharp[i]) - want); d > 1e-6+1e-6*math.Abs(want) {
					t.Fatalf("parameter %d: m-sharpness %v, mean of the per-micro-batch steps %v", i, msharp[i], want)
				}
				far = math.Max(far, math.Abs(float64(msharp[i]-whole[i])))
			}
			if far < 1e-4 {
				t.Fatalf("m-sharpness within %g of the whole-batch step: the test would not discriminate", far)
			}
			for _, q := range []struct {
				name      string
				got, want float64
			}{{"D", st.D, (st0.D + st1.D) / 2}, {"Radius", st.Radius, (st0.Radius + st1.Radius) / 2},
				{"RegD", st.RegD, (st0.RegD + st1.RegD) / 2}, {"EpsNorm", st.EpsNorm, (st0.EpsNorm + st1.EpsNorm) / 2}} {
				if math.Abs(q.got-q.want) > 1e-6*math.Abs(q.want) {
					t.Errorf("Stats.%s = %v, mean of the micro-batches' %v", q.name, q.got, q.want)
				}
			}
		})
	}
}

// runSteps runs the named method with the given options for n steps on the
// golden GPT problem and returns the final parameters and the stats.
func runSteps(t *testing.T, g *golden, problem, name string, o Options, n int) ([]float32, []Stats) {
	t.Helper()
	model, task, base, _ := g.setup(t, problem, 1)
	m, err := NewMethod(name, o)
	if err != nil {
		t.Fatal(err)
	}
	opt := New(model, base, m, 0)
	var sts []Stats
	for range n {
		st, err := opt.Step(task)
		if err != nil || st.Skipped {
			t.Fatalf("%s: %v %s", name, err, st.Reason)
		}
		sts = append(sts, st)
	}
	return model.Params().Data, sts
}

func sameBits(a, b []float32) (int, bool) {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i, false
		}
	}
	return 0, true
}

// TestEMAEndpoints: through the public API, TRAM-EMA with β = 0 is
// TRAM-θt−1 and with β = 1 TRAM-θ0, bit for bit; the two endpoints differ.
func TestEMAEndpoints(t *testing.T) {
	g := loadGolden(t)
	prev, _ := runSteps(t, g, "gpt", "tram-prev", DefaultOptions("tram-prev"), 4)
	theta0, _ := runSteps(t, g, "gpt", "tram-theta0", DefaultOptions("tram-theta0"), 4)
	if _, same := sameBits(prev, theta0); same {
		t.Fatal("tram-prev and tram-theta0 agree: the test would not discriminate")
	}
	for _, c := range []struct {
		beta float64
		want []float32
		name string
	}{{0, prev, "tram-prev"}, {1, theta0, "tram-theta0"}} {
		o := DefaultOptions("tram-ema")
		o.EMADecay = c.beta
		got, _ := runSteps(t, g, "gpt", "tram-ema", o, 4)
		if i, same := sameBits(got, c.want); !same {
			t.Errorf("tram-ema with β = %v differs from %s at parameter %d: %v vs %v", c.beta, c.name, i, got[i], c.want[i])
		}
	}
}

// TestZeroMeansZero: options at zero are used as zero. Regularizers (and
// L2-SP) with λ = 0 reproduce the plain optimizer bit for bit while still
// measuring their divergence; TRAM-x with σ = 0 has d = 0 and reproduces it too; so
// do ρ = 0 and κ = 0.
func TestZeroMeansZero(t *testing.T) {
	g := loadGolden(t)
	plain := map[string][]float32{}
	plainStats := map[string][]Stats{}
	for _, p := range []struct{ problem, base string }{{"gpt", "adamw"}, {"mlp", "sgd"}} {
		plain[p.problem], plainStats[p.problem] = runSteps(t, g, p.problem, p.base, DefaultOptions(p.base), 3)
	}
	for _, c := range []struct {
		name, field string
		set         func(*Options)
		regD        bool // the regularizer's divergence must still be measured
	}{
		{"trpo", "Lambda", func(o *Options) { o.Lambda = 0 }, true},
		{"r3f", "Lambda", func(o *Options) { o.Lambda = 0 }, true},
		{"r3f", "Lambda,OneSidedKL", func(o *Options) { o.Lambda, o.OneSidedKL = 0, true }, true},
		{"mesa", "Lambda", func(o *Options) { o.Lambda = 0 }, true},
		{"l2sp", "Lambda", func(o *Options) { o.Lambda = 0 }, true},
		{"tram-x", "Sigma", func(o *Options) { o.Sigma = 0 }, false},
		{"tram-x", "Sigma,UniformNoise", func(o *Options) { o.Sigma, o.UniformNoise = 0, true }, false},
		{"tram-prev", "Kappa", func(o *Options) { o.Kappa = 0 }, false},
		{"tram-theta0", "MaxRadius", func(o *Options) { o.MaxRadius = 0 }, false},
		{"sam", "Rho", func(o *Options) { o.Rho = 0 }, false},
		{"fsam", "Gamma", func(o *Options) { o.Gamma = 0 }, false},
	} {
		for _, problem := range []string{"gpt", "mlp"} {
			t.Run(c.name+"/"+c.field+"=0/"+problem, func(t *testing.T) {
				o := DefaultOptions(c.name)
				c.set(&o)
				got, sts := runSteps(t, g, problem, c.name, o, 3)
				if i, same := sameBits(got, plain[problem]); !same {
					t.Fatalf("parameter %d: %v, plain optimizer %v", i, got[i], plain[problem][i])
				}
				var regD float64
				for s, st := range sts {
					if st.Loss != plainStats[problem][s].Loss || st.Radius != 0 || st.EpsNorm != 0 {
						t.Fatalf("step %d: loss %v (plain %v), radius %v, ‖ε‖ %v", s+1, st.Loss, plainStats[problem][s].Loss, st.Radius, st.EpsNorm)
					}
					if c.name == "tram-x" && st.D != 0 {
						t.Fatalf("step %d: TRAM-x with σ = 0 has d = %v", s+1, st.D)
					}
					regD += st.RegD
				}
				if c.regD != (regD > 0) {
					t.Fatalf("regularizer divergence %v", regD)
				}
			})
		}
	}
}

// TestKappaAndCap: TRAM's radius is min(κ·d_t, r_max), d_t itself is
// reported before both, and ‖ε‖ is the radius times ‖θ²g‖/‖θg‖ (the
// adaptive direction's closed form), on the quadratic of
// TestClosedFormPerturbations whose parameters are its logits. Step 1 has
// d = 0 (the target is θ0 itself); step 2 compares softmax(θ0) with
// softmax(θ1).
func TestKappaAndCap(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct{ kappa, cap float64 }{
		{1, inf}, {2, inf}, {0.5, inf}, {0, inf}, {1, 1e-3}, {3, 1e-3}, {1, 0}, {1, 1},
	} {
		t.Run(fmt.Sprintf("kappa=%v,cap=%v", c.kappa, c.cap), func(t *testing.T) {
			q := newQuadratic()
			o := DefaultOptions("tram-theta0")
			o.Kappa, o.MaxRadius = c.kappa, c.cap
			m, err := NewMethod("tram-theta0", o)
			if err != nil {
				t.Fatal(err)
			}
			opt := New(q, optim.NewSGD(0.1, 0, 0), m, 0)
			th0 := f64s(q.theta.Data)
			if st, _ := opt.Step(q); st.D != 0 || st.Radius != 0 || st.EpsNorm != 0 {
				t.Fatalf("step 1: d %v, radius %v, ‖ε‖ %v; want 0", st.D, st.Radius, st.EpsNorm)
			}
			th1 := f64s(q.theta.Data)
			st, err := opt.Step(q)
			if err != nil {
				t.Fatal(err)
			}
			d := refKL(th0, th1)
			r := math.Min(c.kappa*d, c.cap)
			var tg2, t2g2 float64 // ‖θg‖², ‖θ²g‖²
			for i, th := range th1 {
				g := q.a64(i) * th
				tg2 += th * th * g * g
				t2g2 += th * th * th * th * g * g
			}
			eps := make([]float64, 4) // ε = r θ²g/‖θg‖
			for i, th := range th1 {
				eps[i] = r * th * th * q.a64(i) * th / math.Sqrt(tg2)
			}
			for _, v := range []struct {
				name      string
				got, want float64
			}{{"D", st.D, d}, {"Radius", st.Radius, r}, {"EpsNorm", st.EpsNorm, r * math.Sqrt(t2g2) / math.Sqrt(tg2)}} {
				if math.Abs(v.got-v.want) > 1e-12+1e-6*math.Abs(v.want) {
					t.Errorf("Stats.%s = %.9g, closed form %.9g", v.name, v.got, v.want)
				}
			}
			for i, th := range th1 { // descend from θ1 with the gradient at θ1 + ε
				want := th - 0.1*q.a64(i)*(th+eps[i])
				if math.Abs(float64(q.theta.Data[i])-want) > 1e-6 {
					t.Errorf("θ[%d] = %v, closed form %v", i, q.theta.Data[i], want)
				}
			}
		})
	}
}

func (q *quadratic) a64(i int) float64 { return float64(q.a[i]) }

func f64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// refKL is KL(softmax(a) ‖ softmax(b)) by the textbook formula in float64
// (accurate where it is used: KL far above 1e-12).
func refKL(a, b []float64) float64 {
	lse := func(x []float64) float64 {
		m := math.Inf(-1)
		for _, v := range x {
			m = math.Max(m, v)
		}
		var s float64
		for _, v := range x {
			s += math.Exp(v - m)
		}
		return m + math.Log(s)
	}
	la, lb := lse(a), lse(b)
	var kl float64
	for i := range a {
		kl += math.Exp(a[i]-la) * ((a[i] - la) - (b[i] - lb))
	}
	return kl
}

func TestGaussianNoiseStatistics(t *testing.T) {
	x := make([]float32, 200000)
	GaussianNoise{Sigma: 0.3, RNG: tensor.NewRNG(1)}.Add(x)
	var s, s2 float64
	for _, v := range x {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	mean, std := s/float64(len(x)), math.Sqrt(s2/float64(len(x)))
	// 5 standard errors: mean ± 5·0.3/√n, std ± 5·0.3/√(2n).
	if math.Abs(mean) > 5*0.3/math.Sqrt(float64(len(x))) || math.Abs(std-0.3) > 5*0.3/math.Sqrt(2*float64(len(x))) {
		t.Fatalf("Gaussian noise mean %v std %v, want 0 and 0.3", mean, std)
	}
	u := make([]float32, 200000)
	UniformNoise{Sigma: 0.3, RNG: tensor.NewRNG(2)}.Add(u)
	var m, lo, hi float64
	for _, v := range u {
		m += float64(v) * float64(v)
		lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
	}
	if want := 0.09 / 3; math.Abs(m/float64(len(u))-want) > 0.01*want || lo < -0.3 || hi > 0.3 {
		t.Fatalf("uniform noise: E[z²] %v (want %v), range [%v, %v]", m/float64(len(u)), want, lo, hi)
	}
}

// TestTRAMxRadiusGrowsWithNoise: d_t of TRAM-x is exactly 0 without noise
// and grows with σ (a statistical property of the divergence on real
// predictions).
func TestTRAMxRadiusGrowsWithNoise(t *testing.T) {
	g := loadGolden(t)
	prev := 0.0
	for _, sigma := range []float64{0, 1e-4, 0.01, 0.1, 1} {
		model, task, base, _ := g.setup(t, "gpt", 1)
		o := DefaultOptions("tram-x")
		o.Sigma, o.Seed = sigma, 3
		m, _ := NewMethod("tram-x", o)
		st, err := New(model, base, m, 0).Step(task)
		if err != nil {
			t.Fatal(err)
		}
		if sigma == 0 && st.D != 0 || sigma > 0 && st.D <= prev {
			t.Fatalf("σ=%v: d = %v, previous σ's %v", sigma, st.D, prev)
		}
		prev = st.D
	}
}

func TestMethodNamesAndCosts(t *testing.T) {
	costs := map[string][2]int{"adamw": {1, 1}, "sam": {2, 2}, "fsam": {2, 2}, "tram-fisher": {2, 2},
		"tram-theta0": {3, 2}, "tram-x": {3, 2}, "trpo": {2, 1}, "r3f": {2, 1}, "mesa": {2, 1}, "l2sp": {1, 1}}
	for _, name := range MethodNames {
		m, err := NewMethod(name, DefaultOptions(name))
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := costs[name]; ok {
			if f, b := m.Cost(); f != c[0] || b != c[1] {
				t.Errorf("%s costs %d/%d passes, spec says %d/%d", name, f, b, c[0], c[1])
			}
		}
	}
	if _, err := NewMethod("lookahead", DefaultOptions("sam")); err == nil {
		t.Fatal("unknown method accepted")
	}
}
