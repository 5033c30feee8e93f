package sharp

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/tramlab/tram/internal/testutil"
	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/optim"
)

// ---- the two fixed problems of testdata/gen_sharp.py ----

type mlpModel struct {
	ps, bufs nn.Params
	fc1, fc2 *nn.Linear
	bn       *nn.BatchNorm2d
}

func newMLP() *mlpModel {
	m := &mlpModel{}
	m.fc1 = nn.NewLinear(&m.ps, "fc1", 8, 16, true, nn.OutIn)
	m.bn = nn.NewBatchNorm2d(&m.ps, &m.bufs, "bn", 16)
	m.fc2 = nn.NewLinear(&m.ps, "fc2", 16, 5, true, nn.OutIn)
	return m
}

func (m *mlpModel) Params() *nn.Params  { return &m.ps }
func (m *mlpModel) Buffers() *nn.Params { return &m.bufs }

type mlpTask struct {
	m *mlpModel
	x []float32
	y []int32
	k int // micro-batches
}

func (t *mlpTask) Micros() int { return t.k }

func (t *mlpTask) Forward(p *nn.Pass, i int) (*nn.Tensor, *nn.Tensor) {
	n := len(t.y) / t.k
	x := p.G.Constant(t.x[i*n*8:(i+1)*n*8], n, 8)
	if p.InputNoise != nil {
		p.InputNoise(x.Data)
	}
	h := p.G.ReLU(t.m.bn.Forward(p, t.m.fc1.Forward(p, x)))
	logits := t.m.fc2.Forward(p, h)
	return logits, p.G.CrossEntropy(logits, t.y[i*n:(i+1)*n], -100)
}

type gptTask struct {
	m         *gpt2.Model
	ids, tgts []int32
	B, T, k   int
}

func (t *gptTask) Micros() int { return t.k }

func (t *gptTask) Forward(p *nn.Pass, i int) (*nn.Tensor, *nn.Tensor) {
	b := t.B / t.k
	ids := t.ids[i*b*t.T : (i+1)*b*t.T]
	tg := t.tgts[i*b*(t.T-1) : (i+1)*b*(t.T-1)]
	logits, loss := t.m.LMLoss(p, ids, b, t.T, tg)
	return logits, loss
}

// ---- golden data ----

type goldenCase struct {
	Case, Problem, Method string
	Loss, D, Radius       []float64
	RegD                  []float64 `json:"reg_d"`
	EpsNorm               []float64 `json:"eps_norm"`
}

type golden struct {
	Steps    int
	MLPNames []string `json:"mlp_names"`
	GPTNames []string `json:"gpt_names"`
	// L2SPLambda is the λ of the l2sp cases; L2SPHead names, per problem,
	// the parameters they leave alone (the "head").
	L2SPLambda float64             `json:"l2sp_lambda"`
	L2SPHead   map[string][]string `json:"l2sp_head"`
	Cases      []goldenCase
	tensors    map[string][]float32
	mlpNoise   []float32
	gptNoise   []float32
}

func loadGolden(t *testing.T) *golden {
	t.Helper()
	raw, err := os.ReadFile("testdata/sharp_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	g.tensors = testutil.ReadAll(t, "testdata/sharp_golden.safetensors")
	return &g
}

func ints(x []float32) []int32 {
	out := make([]int32, len(x))
	for i, v := range x {
		out[i] = int32(v)
	}
	return out
}

// setup builds the problem's model (at the golden initial parameters), task
// and base optimizer.
func (g *golden) setup(t *testing.T, problem string, micros int) (nn.Module, Task, optim.Optimizer, FixedNoise) {
	switch problem {
	case "mlp":
		m := newMLP()
		copy(m.ps.Data, g.tensors["mlp.init"])
		for i, name := range g.MLPNames {
			if m.ps.List()[i].Name() != name {
				t.Fatalf("parameter order: %s vs %s", m.ps.List()[i].Name(), name)
			}
		}
		return m, &mlpTask{m: m, x: g.tensors["mlp.x"], y: ints(g.tensors["mlp.y"]), k: micros}, optim.NewSGD(0.1, 0.9, 1e-3), g.tensors["noise.mlp"]
	default:
		m, err := gpt2.New(gpt2.Small(17, 6, 8, 2, 2), 0)
		if err != nil {
			t.Fatal(err)
		}
		copy(m.Params().Data, g.tensors["gpt.init"])
		for i, name := range g.GPTNames {
			if m.Params().List()[i].Name() != name {
				t.Fatalf("parameter order: %s vs %s", m.Params().List()[i].Name(), name)
			}
		}
		ids := ints(g.tensors["gpt.ids"])
		a := optim.NewAdamW(1e-2, 0.01)
		a.Beta2, a.Eps = 0.99, 1e-3
		return m, &gptTask{m: m, ids: ids, tgts: gpt2.ShiftTargets(nil, ids, 2, 6), B: 2, T: 6, k: micros}, a, g.tensors["noise.gpt"]
	}
}

// goldenOptions maps the golden cases that are variants of a method to the
// method and its options (gen_sharp.py's METHODS): every case starts from
// the method's defaults, with gen_sharp.py's EMA decay 0.9 and MESA τ 2.
func goldenOptions(name string) (string, Options) {
	base := name
	switch name {
	case "asam-eta-weights":
		base = "asam"
	case "tram-theta0-nograd", "tram-theta0-eta-weights", "tram-theta0-kappa-cap":
		base = "tram-theta0"
	case "r3f-onesided":
		base = "r3f"
	}
	o := DefaultOptions(base)
	if o.EMADecay != 0 {
		o.EMADecay = 0.9
	}
	if o.Tau != 0 {
		o.Tau = 2
	}
	switch name {
	case "asam-eta-weights", "tram-theta0-eta-weights":
		o.Eta, o.WeightsOnly = 0.01, true
	case "tram-theta0-nograd":
		o.NoGradientFactor = true
	case "tram-theta0-kappa-cap":
		o.Kappa, o.MaxRadius = 2, 0.3
	case "r3f-onesided":
		o.OneSidedKL, o.Lambda = true, 1
	case "l2sp":
		o.Lambda = 1 // gen_sharp.py's L2SP_LAMBDA, checked against the golden file
	}
	return base, o
}

// headRange returns the arena range [lo, hi) of the named parameters of
// model, which must be contiguous (gen_sharp.py's L2SP_HEAD).
func headRange(t *testing.T, model nn.Module, names []string) (lo, hi int) {
	t.Helper()
	ps := model.Params()
	lo, hi = -1, -1
	for i, p := range ps.List() {
		for _, n := range names {
			if p.Name() != n {
				continue
			}
			if lo < 0 {
				lo = ps.Offset(i)
			} else if ps.Offset(i) != hi {
				t.Fatalf("head %v is not contiguous at %s", names, n)
			}
			hi = ps.Offset(i) + p.Len()
		}
	}
	if lo < 0 {
		t.Fatalf("no parameter of %v in the model", names)
	}
	return lo, hi
}

// goMethod builds the Go method of a golden case, with the fixed noise.
func goMethod(t *testing.T, name string, noise FixedNoise) Method {
	m, err := NewMethod(goldenOptions(name))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case name == "tram-x":
		tr := m.Perturb.Radius.(TrustRegion)
		tr.Target = &InputTarget{Noise: noise}
		m.Perturb.Radius = tr
	case name == "tram-fisher":
		m.Perturb.FirstPassNoise = noise
	case m.Reg != nil && m.Reg.Name() == "r3f":
		m.Reg.(*R3F).Noise = noise
	}
	return m
}

// Tolerances against PyTorch after each of 4 steps (float32 on both sides):
// parameters |Δ| ≤ paramAbs + paramRel·|θ|; loss, d, radius, the
// regularizer's divergence and ‖ε‖ relative 1e-4 (absolute 1e-7 near zero).
const (
	paramAbs = 2e-5
	paramRel = 2e-4
)

func TestMethodsMatchPyTorch(t *testing.T) {
	g := loadGolden(t)
	plain := map[string][]float32{} // final parameters of the base optimizer per problem
	for _, c := range g.Cases {
		if c.Method == "sgd" || c.Method == "adamw" {
			plain[c.Problem] = g.tensors[fmt.Sprintf("%s/%d", c.Case, g.Steps-1)]
		}
	}
	for _, c := range g.Cases {
		t.Run(c.Case, func(t *testing.T) {
			model, task, base, noise := g.setup(t, c.Problem, 1)
			m := goMethod(t, c.Method, noise)
			opt := New(model, base, m, 1)
			if m.Anchor != nil {
				if m.Anchor.Lambda != g.L2SPLambda {
					t.Fatalf("λ %v, gen_sharp.py's %v", m.Anchor.Lambda, g.L2SPLambda)
				}
				opt.HeadLo, opt.HeadHi = headRange(t, model, g.L2SPHead[c.Problem])
			}
			for s := 0; s < g.Steps; s++ {
				st, err := opt.Step(task)
				if err != nil || st.Skipped {
					t.Fatalf("step %d: %v %s", s+1, err, st.Reason)
				}
				for _, q := range []struct {
					name      string
					got, want float64
				}{{"loss", st.Loss, c.Loss[s]}, {"d", st.D, c.D[s]}, {"radius", st.Radius, c.Radius[s]},
					{"reg_d", st.RegD, c.RegD[s]}, {"eps_norm", st.EpsNorm, c.EpsNorm[s]}} {
					if math.Abs(q.got-q.want) > 1e-7+1e-4*math.Abs(q.want) {
						t.Fatalf("step %d: %s = %.8g, PyTorch %.8g", s+1, q.name, q.got, q.want)
					}
				}
				want := g.tensors[fmt.Sprintf("%s/%d", c.Case, s)]
				for i, w := range want {
					if d := math.Abs(float64(model.Params().Data[i] - w)); d > paramAbs+paramRel*math.Abs(float64(w)) {
						t.Fatalf("step %d: parameter %d = %.8g, PyTorch %.8g", s+1, i, model.Params().Data[i], w)
					}
				}
			}
			if c.Method == "sgd" || c.Method == "adamw" {
				return
			}
			// Discrimination: the method's trajectory is far from the plain
			// optimizer's, compared with the tolerance.
			var far float64
			for i, w := range plain[c.Problem] {
				far = math.Max(far, math.Abs(float64(model.Params().Data[i]-w))/(paramAbs+paramRel*math.Abs(float64(w))))
			}
			if far < 10 {
				t.Fatalf("trajectory within %.1f× the tolerance of the plain base optimizer's: the test would not discriminate", far)
			}
		})
	}
}
