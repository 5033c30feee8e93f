package sharp

import (
	"math"
	"testing"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/tensor"
)

func TestDivergences(t *testing.T) {
	// Two rows of 3 classes; probabilities known in closed form.
	target := []float32{0, 0, 0, 1, 2, 3}
	current := []float32{float32(math.Log(2)), 0, 0, 3, 2, 1}
	// Row 1: p = (1/3,1/3,1/3), q = (1/2,1/4,1/4).
	kl1 := (1.0/3)*math.Log((1.0/3)/(0.5)) + 2*(1.0/3)*math.Log((1.0/3)/(0.25))
	rev1 := 0.5*math.Log(0.5/(1.0/3)) + 2*0.25*math.Log(0.25/(1.0/3))
	// Row 2: q is p reversed, so KL(p‖q) = KL(q‖p) = Σ p_i (z_i − z_{2−i}).
	z := []float64{1, 2, 3}
	var lse float64
	for _, v := range z {
		lse += math.Exp(v)
	}
	var kl2 float64
	for i := range z {
		kl2 += math.Exp(z[i]) / lse * (z[i] - z[2-i])
	}
	l2row1 := math.Sqrt(math.Log(2) * math.Log(2))
	l2row2 := math.Sqrt(4 + 0 + 4)
	for _, c := range []struct {
		d    Divergence
		want float64
	}{
		{KLForward, (kl1 + kl2) / 2},
		{KLReverse, (rev1 + kl2) / 2},
		{KLSymmetric, (kl1 + rev1 + 2*kl2) / 2},
		{L2, (l2row1 + l2row2) / 2},
	} {
		if got := c.d.Measure(target, current, 3); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("%s = %.9g, closed form %.9g", c.d.Name(), got, c.want)
		}
		if got := c.d.Measure(target, target, 3); math.Abs(got) > 1e-7 {
			t.Errorf("%s of identical predictions = %g", c.d.Name(), got)
		}
	}
	if MMD.Measure(target, target, 3) != 0 {
		t.Error("MMD of identical sets is not 0")
	}
	near := []float32{0.01, 0, 0, 1, 2, 3.01}
	if a, b := MMD.Measure(target, near, 3), MMD.Measure(target, current, 3); !(a > 0 && b > a) {
		t.Errorf("MMD not monotone: near %g, far %g", a, b)
	}
	for _, name := range []string{"kl", "kl-reverse", "kl-symmetric", "l2", "mmd"} {
		if d, err := DivergenceByName(name); err != nil || d.Name() != name {
			t.Errorf("DivergenceByName(%q) = %v, %v", name, d, err)
		}
	}
	if _, err := DivergenceByName("js"); err == nil {
		t.Error("unknown divergence accepted")
	}
}

// TestKLMeasureExact: the radius on float32 logits equals the float64
// computation on the same logits (autograd.MeanKL in float64, itself checked
// against 200-bit arithmetic in package autograd) to a relative 1e-6, in
// every direction, from logit differences of 1e-2 down to 1e-5 and with a
// shift that softmax ignores; identical rows give exactly 0.
func TestKLMeasureExact(t *testing.T) {
	const rows, classes = 6, 357
	for _, diff := range []float64{1e-2, 1e-3, 1e-4, 1e-5} {
		for _, shift := range []float64{0, 3.5} {
			rng := tensor.NewRNG(uint64(diff * 1e7))
			tgt, cur := make([]float32, rows*classes), make([]float32, rows*classes)
			t64, c64 := make([]float64, len(tgt)), make([]float64, len(cur))
			for i := range tgt {
				tgt[i] = float32(rng.NormFloat64() * 3)
				cur[i] = float32(float64(tgt[i]) + shift + rng.NormFloat64()*diff)
				t64[i], c64[i] = float64(tgt[i]), float64(cur[i])
			}
			fwd, rev := autograd.MeanKL(t64, c64, classes), autograd.MeanKL(c64, t64, classes)
			for _, c := range []struct {
				d    Divergence
				want float64
			}{{KLForward, fwd}, {KLReverse, rev}, {KLSymmetric, fwd + rev}} {
				got := c.d.Measure(tgt, cur, classes)
				if rel := math.Abs(got-c.want) / c.want; !(rel <= 1e-6) {
					t.Errorf("diff %g, shift %g: %s = %.12g, float64 %.12g (relative error %.3g)", diff, shift, c.d.Name(), got, c.want, rel)
				}
				if same := c.d.Measure(cur, cur, classes); same != 0 {
					t.Errorf("%s of identical rows = %g", c.d.Name(), same)
				}
			}
		}
	}
}

// TestMMDClosedForm: two rows of two classes, probabilities
// p = {(½,½), (¾,¼)}, q = {(¼,¾), (½,½)}. With K(s) = Σ_c c/(c + s) and the
// squared distances 0, ⅛ and ½ between them, the cross terms leave
// MMD² = (7 − K(½))/2.
func TestMMDClosedForm(t *testing.T) {
	ln3 := float32(math.Log(3))
	target := []float32{0, 0, ln3, 0}
	current := []float32{0, ln3, 0, 0}
	k := 0.1/0.6 + 0.2/0.7 + 0.5/1.0 + 1/1.5 + 2/2.5 + 5/5.5 + 10/10.5
	want := (7 - k) / 2
	if got := MMD.Measure(target, current, 2); math.Abs(got-want) > 1e-7*want {
		t.Fatalf("MMD² = %.12g, closed form %.12g", got, want)
	}
}

// TestMMDBudget: above the budget the MMD uses the evenly spaced rows that
// MMDRows counts, and equals the MMD of exactly those rows. (The budget is
// lowered to 64 for the test: 5 rows of 4 classes cost 100, 4 rows 64.)
func TestMMDBudget(t *testing.T) {
	if MMDRows(2048, 4096) != 128 || MMDRows(32, 3) != 32 || MMDRows(10, 1<<30) != 1 {
		t.Fatalf("MMDRows with the real budget: %d, %d, %d; want 128, 32, 1",
			MMDRows(2048, 4096), MMDRows(32, 3), MMDRows(10, 1<<30))
	}
	defer func(b int) { mmdBudget = b }(mmdBudget)
	mmdBudget = 64
	const rows, classes = 5, 4
	if n := MMDRows(4, classes); n != 4 {
		t.Fatalf("MMDRows(4, 4) = %d, want all 4", n)
	}
	if n := MMDRows(rows, classes); n != 4 {
		t.Fatalf("MMDRows(5, 4) = %d, want 4", n)
	}
	rng := tensor.NewRNG(4)
	tgt, cur := make([]float32, rows*classes), make([]float32, rows*classes)
	for i := range tgt {
		tgt[i] = float32(rng.NormFloat64())
		cur[i] = tgt[i] + float32(rng.NormFloat64())
	}
	var subT, subC []float32
	for _, r := range []int{0, 1, 2, 3} { // ⌊j·5/4⌋, j = 0…3
		subT = append(subT, tgt[r*classes:(r+1)*classes]...)
		subC = append(subC, cur[r*classes:(r+1)*classes]...)
	}
	got, want := MMD.Measure(tgt, cur, classes), MMD.Measure(subT, subC, classes)
	if got != want || got <= 0 {
		t.Fatalf("MMD over budget = %g, of the rows MMDRows names %g", got, want)
	}
	var last []float32 // a subset that includes the last row differs
	last = append(append(last, subT[:3*classes]...), tgt[4*classes:]...)
	if MMD.Measure(tgt, cur, classes) == MMD.Measure(last, append(subC[:3*classes:3*classes], cur[4*classes:]...), classes) {
		t.Fatal("the subset does not matter: the test would not discriminate")
	}
}
