package optim

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/tramlab/tram/tensor"
)

type golden struct {
	A, B   []float64
	Theta0 []float64
	Cases  []struct {
		Optimizer  string
		Options    map[string]float64
		Trajectory [][]float64
	}
}

// TestAgainstPyTorch replays the trajectories of testdata/gen_optim.py
// (PyTorch 1.13, float32). Tolerance: 2e-6 relative + 1e-7 absolute per
// coordinate after 10 steps (float32 rounding differences only).
func TestAgainstPyTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/optim_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var gd golden
	if err := json.Unmarshal(raw, &gd); err != nil {
		t.Fatal(err)
	}
	for ci, c := range gd.Cases {
		var ps tensor.Params[float32]
		th := ps.Add("theta", len(gd.Theta0))
		for i, v := range gd.Theta0 {
			th.Data[i] = float32(v)
		}
		var opt Optimizer
		o := c.Options
		switch c.Optimizer {
		case "sgd":
			opt = NewSGD(o["lr"], o["momentum"], o["weight_decay"])
		case "adamw":
			a := NewAdamW(o["lr"], 0.01) // PyTorch's default weight decay
			if wd, ok := o["weight_decay"]; ok {
				a.WeightDecay = wd
			}
			if v, ok := o["beta1"]; ok {
				a.Beta1, a.Beta2 = v, o["beta2"]
			}
			if v, ok := o["eps"]; ok {
				a.Eps = v
			}
			opt = a
		}
		moved := 0.0
		for step, want := range c.Trajectory {
			for i := range th.Data {
				th.Grad[i] = 2*float32(gd.A[i])*th.Data[i] + float32(gd.B[i])
			}
			opt.Step(&ps)
			for i, w := range want {
				got := float64(th.Data[i])
				if math.Abs(got-w) > 1e-7+2e-6*math.Abs(w) {
					t.Fatalf("case %d (%s %v) step %d coord %d: got %.9g, PyTorch %.9g", ci, c.Optimizer, o, step+1, i, got, w)
				}
				moved = math.Max(moved, math.Abs(w-gd.Theta0[i]))
			}
		}
		if moved < 1e-3 { // the test discriminates: parameters moved far beyond the tolerance
			t.Fatalf("case %d: trajectory barely moves (%g); the comparison would not discriminate", ci, moved)
		}
	}
}
