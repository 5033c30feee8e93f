package sharp

import (
	"fmt"
	"math"
	"testing"

	"github.com/tramlab/tram/optim"
)

// TestL2SPClosedForm: on the quadratic f(θ) = ½ Σ a_i θ_i² with plain SGD,
// step 1 is the plain step (θ = θ0: no pull, RegD 0) and step 2 descends
// along a·θ1 + λ(θ1 − θ0) outside the head range and along a·θ1 inside it;
// RegD is ½‖θ1 − θ0‖² outside the head, the loss gains λ·RegD, GradNorm is
// the task gradient's norm and SharpGradNorm that of the gradient handed to
// the base optimizer. Head ranges: none, interior, at the end, everything.
func TestL2SPClosedForm(t *testing.T) {
	const lr, lam = 0.1, 0.5
	for _, head := range [][2]int{{0, 0}, {1, 2}, {3, 4}, {0, 4}} {
		t.Run(fmt.Sprintf("head=[%d,%d)", head[0], head[1]), func(t *testing.T) {
			q := newQuadratic()
			o := DefaultOptions("l2sp")
			o.Lambda = lam
			m, err := NewMethod("l2sp", o)
			if err != nil {
				t.Fatal(err)
			}
			opt := New(q, optim.NewSGD(lr, 0, 0), m, 0)
			opt.HeadLo, opt.HeadHi = head[0], head[1]
			th0 := f64s(q.theta.Data)
			st, err := opt.Step(q)
			if err != nil || st.RegD != 0 || st.GradNorm != st.SharpGradNorm {
				t.Fatalf("step 1: %+v, %v", st, err)
			}
			th1 := f64s(q.theta.Data)
			for i := range th0 {
				if want := th0[i] - lr*q.a64(i)*th0[i]; math.Abs(th1[i]-want) > 1e-6 {
					t.Fatalf("step 1: θ[%d] = %v, plain SGD %v", i, th1[i], want)
				}
			}
			st, err = opt.Step(q)
			if err != nil {
				t.Fatal(err)
			}
			var regD, loss, gn2, sg2 float64
			for i := range th1 {
				g := q.a64(i) * th1[i]
				loss += 0.5 * g * th1[i]
				gn2 += g * g
				full := g
				if i < head[0] || i >= head[1] {
					d := th1[i] - th0[i]
					regD += 0.5 * d * d
					full += lam * d
				}
				sg2 += full * full
				if want := th1[i] - lr*full; math.Abs(float64(q.theta.Data[i])-want) > 1e-6 {
					t.Errorf("step 2: θ[%d] = %v, closed form %v", i, q.theta.Data[i], want)
				}
			}
			for _, v := range []struct {
				name      string
				got, want float64
			}{{"RegD", st.RegD, regD}, {"Loss", st.Loss, loss + lam*regD}, {"GradNorm", st.GradNorm, math.Sqrt(gn2)},
				{"SharpGradNorm", st.SharpGradNorm, math.Sqrt(sg2)}} {
				if math.Abs(v.got-v.want) > 1e-9+1e-6*math.Abs(v.want) {
					t.Errorf("step 2: Stats.%s = %.9g, closed form %.9g", v.name, v.got, v.want)
				}
			}
			if head == [2]int{0, 4} && (st.RegD != 0 || st.GradNorm != st.SharpGradNorm) {
				t.Errorf("everything excluded, yet RegD %v and the gradient changed", st.RegD)
			}
		})
	}
}

// TestL2SPZeroLambdaIsBase: L2-SP with λ = 0 is the base optimizer bit for
// bit, on SGD (momentum, weight decay) and on AdamW, for both golden
// problems, with a head range set; with λ > 0 it is not.
func TestL2SPZeroLambdaIsBase(t *testing.T) {
	g := loadGolden(t)
	bases := map[string]func() optim.Optimizer{
		"sgd": func() optim.Optimizer { return optim.NewSGD(0.1, 0.9, 1e-3) },
		"adamw": func() optim.Optimizer {
			a := optim.NewAdamW(1e-2, 0.01)
			a.Beta2, a.Eps = 0.99, 1e-3
			return a
		},
	}
	for _, problem := range []string{"mlp", "gpt"} {
		for _, baseName := range []string{"sgd", "adamw"} {
			t.Run(problem+"/"+baseName, func(t *testing.T) {
				run := func(method string, lambda float64) []float32 {
					model, task, _, _ := g.setup(t, problem, 1)
					o := DefaultOptions(method)
					if method == "l2sp" {
						o.Lambda = lambda
					}
					m, err := NewMethod(method, o)
					if err != nil {
						t.Fatal(err)
					}
					opt := New(model, bases[baseName](), m, 1)
					if method == "l2sp" {
						opt.HeadLo, opt.HeadHi = headRange(t, model, g.L2SPHead[problem])
					}
					for range 4 {
						if st, err := opt.Step(task); err != nil || st.Skipped {
							t.Fatalf("%s: %v %s", method, err, st.Reason)
						}
					}
					return model.Params().Data
				}
				plain, zero := run(baseName, 0), run("l2sp", 0)
				for i := range plain {
					if zero[i] != plain[i] || math.Float32bits(zero[i]) != math.Float32bits(plain[i]) {
						t.Fatalf("parameter %d: l2sp λ = 0 gives %v, %s %v", i, zero[i], baseName, plain[i])
					}
				}
				if _, same := sameBits(run("l2sp", 1), plain); same {
					t.Fatal("l2sp λ = 1 is the base optimizer too: the test would not discriminate")
				}
			})
		}
	}
}

// TestL2SPStateHoldsTheta0: θ0 travels in Optimizer.State, so a run
// resumed into a fresh Optimizer (which would otherwise take the resumed
// parameters as θ0) continues bit for bit as the uninterrupted one.
func TestL2SPStateHoldsTheta0(t *testing.T) {
	g := loadGolden(t)
	method := func() Method {
		m, err := NewMethod("l2sp", Options{Lambda: 1})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	model, task, base, _ := g.setup(t, "gpt", 1)
	opt := New(model, base, method(), 1)
	for range 4 {
		opt.Step(task)
	}
	straight := append([]float32(nil), model.Params().Data...)
	for _, restore := range []bool{true, false} {
		model, task, base, _ := g.setup(t, "gpt", 1)
		opt := New(model, base, method(), 1)
		for range 2 {
			opt.Step(task)
		}
		steps, skipped, tensors := opt.State()
		if len(tensors) != 1 {
			t.Fatalf("state holds %d tensors, want θ0 alone", len(tensors))
		}
		resumed := New(model, base, method(), 1) // base keeps its moments
		if restore {
			if err := resumed.Restore(steps, skipped, tensors); err != nil {
				t.Fatal(err)
			}
		} else {
			resumed.steps = steps
		}
		for range 2 {
			resumed.Step(task)
		}
		i, same := sameBits(model.Params().Data, straight)
		switch {
		case restore && !same:
			t.Fatalf("resumed run differs at parameter %d: %v vs %v", i, model.Params().Data[i], straight[i])
		case !restore && same:
			t.Fatal("a run that lost θ0 agrees too: the test would not discriminate")
		}
	}
}
