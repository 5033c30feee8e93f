package eval

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/tramlab/tram/models/vision"
	"github.com/tramlab/tram/train"
)

type golden struct {
	CKA []struct {
		Name   string
		DX, DY int
		X, Y   []float32
		CKA    float64
	}
	Sharpness struct {
		X     []float32
		Y     []int32
		Cases []struct {
			Eps       float64
			Steps     int
			Base      float64
			Sharpness float64
		}
	}
}

func readGolden(t *testing.T) golden {
	t.Helper()
	raw, err := os.ReadFile("testdata/eval_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestCKAGolden compares with numpy's float64 CKA (testdata/gen_eval.py),
// including a rotated and a scaled copy (exactly 1).
func TestCKAGolden(t *testing.T) {
	for _, c := range readGolden(t).CKA {
		got := CKA(c.X, c.DX, c.Y, c.DY)
		if math.Abs(got-c.CKA) > 1e-9 {
			t.Errorf("%s: CKA %.12f, numpy %.12f", c.Name, got, c.CKA)
		}
	}
}

func TestCKAProperties(t *testing.T) {
	x := []float32{1, 2, 0, 3, -1, 2, 4, 0.5, 2, 2, -3, 1}
	if got := CKA(x, 3, x, 3); math.Abs(got-1) > 1e-12 {
		t.Errorf("identical: %v", got)
	}
	shifted := make([]float32, len(x))
	for i, v := range x {
		shifted[i] = 2*v + 7 // isotropic scaling and a constant offset per column
	}
	if got := CKA(x, 3, shifted, 3); math.Abs(got-1) > 1e-12 {
		t.Errorf("scaled+shifted: %v", got)
	}
	if got := CKA(x, 3, make([]float32, 8), 2); got != 0 {
		t.Errorf("constant side: %v", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("CKA of different row counts did not panic")
		}
	}()
	CKA(x, 3, x[:6], 3)
}

func TestWilson(t *testing.T) {
	for _, c := range []struct {
		k, n   int
		lo, hi float64
	}{
		{50, 100, 0.4038, 0.5962}, // textbook values
		{0, 10, 0, 0.2775},
		{10, 10, 0.7225, 1},
	} {
		lo, hi := Wilson(c.k, c.n)
		if math.Abs(lo-c.lo) > 1e-4 || math.Abs(hi-c.hi) > 1e-4 {
			t.Errorf("Wilson(%d, %d) = [%.4f, %.4f], want [%.4f, %.4f]", c.k, c.n, lo, hi, c.lo, c.hi)
		}
	}
}

func sharpTask(t *testing.T, g golden) (vision.Model, *train.ImageTask) {
	m, err := vision.Load("testdata/mlp")
	if err != nil {
		t.Fatal(err)
	}
	set := &train.Images{Channels: 1, Size: 4, X: g.Sharpness.X, Y: g.Sharpness.Y}
	task := train.NewImageTask(m, set, set.N(), false, 0)
	task.Next()
	return m, task
}

// TestEpsSharpnessGolden compares with PyTorch's run of the same ascent
// (testdata/gen_eval.py) and checks that ε = 0 gives 0 and that the
// parameters are restored exactly.
func TestEpsSharpnessGolden(t *testing.T) {
	g := readGolden(t)
	m, task := sharpTask(t, g)
	before := append([]float32(nil), m.Params().Data...)
	for _, c := range g.Sharpness.Cases {
		got := EpsSharpness(m, task, SharpnessOptions{Eps: c.Eps, Steps: c.Steps})
		// 2e-5 absolute (×100 units): at ε = 1e-5 the loss rises by ~1e-5,
		// a few float32 roundings of a loss near 1.
		if math.Abs(got-c.Sharpness) > 2e-3*math.Abs(c.Sharpness)+2e-5 {
			t.Errorf("eps %g: sharpness %.8g, PyTorch %.8g", c.Eps, got, c.Sharpness)
		}
	}
	if got := EpsSharpness(m, task, SharpnessOptions{Eps: 0}); got != 0 {
		t.Errorf("eps 0: %v", got)
	}
	for i, v := range m.Params().Data {
		if v != before[i] {
			t.Fatalf("parameter %d changed: %v → %v", i, before[i], v)
		}
	}
}

func TestImagesAccuracy(t *testing.T) {
	g := readGolden(t)
	m, _ := sharpTask(t, g)
	set := &train.Images{Channels: 1, Size: 4, X: g.Sharpness.X, Y: g.Sharpness.Y}
	res := Images(m, set, 5) // batches of 5, 5, 2
	// The labels the model predicts are, by construction, its own answers.
	pred := &train.Images{Channels: 1, Size: 4, X: set.X, Y: res.Predictions}
	again := Images(m, pred, 12)
	if again.Correct != set.N() || again.Accuracy() != 1 {
		t.Errorf("predicting its own predictions: %d/%d", again.Correct, set.N())
	}
	if math.Abs(res.Loss-g.Sharpness.Cases[0].Base) > 1e-6 {
		t.Errorf("loss %v, PyTorch %v", res.Loss, g.Sharpness.Cases[0].Base)
	}
}
