package sharp

import (
	"math"
	"testing"
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
