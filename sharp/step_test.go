package sharp

import (
	"errors"
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
			m, err := NewMethod(name, Options{})
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
	m, _ := NewMethod("sam", Options{})
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
	m, _ := NewMethod("sam", Options{})
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
				m, _ := NewMethod(name, Options{})
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

func TestMSharpness(t *testing.T) {
	g := loadGolden(t)
	run := func(micros int, msharp bool) []float32 {
		model, task, base, _ := g.setup(t, "gpt", micros)
		m, _ := NewMethod("sam", Options{MSharpness: msharp})
		o := New(model, base, m, 0)
		for range 2 {
			if _, err := o.Step(task); err != nil {
				t.Fatal(err)
			}
		}
		return model.Params().Data
	}
	plain, m1, m2 := run(1, false), run(1, true), run(2, true)
	var d1, d2 float64
	for i := range plain {
		d1 = math.Max(d1, math.Abs(float64(plain[i]-m1[i])))
		d2 = math.Max(d2, math.Abs(float64(plain[i]-m2[i])))
	}
	if d1 > 1e-6 {
		t.Fatalf("m-sharpness with one sub-batch differs from SAM by %g", d1)
	}
	if d2 < 1e-4 {
		t.Fatalf("m-sharpness with two sub-batches equals SAM (max diff %g)", d2)
	}
}

// TestEMAEndpoints: β = 0 is exactly TRAM-θt−1 and β = 1 exactly TRAM-θ0.
func TestEMAEndpoints(t *testing.T) {
	g := loadGolden(t)
	run := func(name string, beta float64) []float32 {
		model, task, base, _ := g.setup(t, "gpt", 1)
		m, _ := NewMethod(name, Options{EMADecay: beta})
		if name == "tram-ema" {
			m.Perturb.Radius.(TrustRegion).Target.(*ParamTarget).Decay = beta
		}
		o := New(model, base, m, 0)
		for range 3 {
			o.Step(task)
		}
		return model.Params().Data
	}
	for _, c := range []struct {
		beta float64
		same string
	}{{0, "tram-prev"}, {1, "tram-theta0"}} {
		a, b := run("tram-ema", c.beta), run(c.same, 0)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("EMA β=%v differs from %s at %d", c.beta, c.same, i)
			}
		}
	}
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

// TestTRAMxRadiusGrowsWithNoise: d_t of TRAM-x is 0 without noise and grows
// with σ (a statistical property of the divergence on real predictions).
func TestTRAMxRadiusGrowsWithNoise(t *testing.T) {
	g := loadGolden(t)
	prev := -1.0
	for _, sigma := range []float64{1e-9, 0.01, 0.1, 1} {
		model, task, base, _ := g.setup(t, "gpt", 1)
		m, _ := NewMethod("tram-x", Options{Sigma: sigma, Seed: 3})
		st, err := New(model, base, m, 0).Step(task)
		if err != nil {
			t.Fatal(err)
		}
		if st.D <= prev {
			t.Fatalf("σ=%v: d = %v not above %v", sigma, st.D, prev)
		}
		prev = st.D
	}
}

func TestMethodNamesAndCosts(t *testing.T) {
	costs := map[string][2]int{"adamw": {1, 1}, "sam": {2, 2}, "fsam": {2, 2}, "tram-fisher": {2, 2},
		"tram-theta0": {3, 2}, "tram-x": {3, 2}, "trpo": {2, 1}, "r3f": {2, 1}, "mesa": {2, 1}}
	for _, name := range MethodNames {
		m, err := NewMethod(name, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := costs[name]; ok {
			if f, b := m.Cost(); f != c[0] || b != c[1] {
				t.Errorf("%s costs %d/%d passes, spec says %d/%d", name, f, b, c[0], c[1])
			}
		}
	}
	if _, err := NewMethod("lookahead", Options{}); err == nil {
		t.Fatal("unknown method accepted")
	}
}
