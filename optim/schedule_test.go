package optim

import (
	"math"
	"testing"
)

func TestSchedules(t *testing.T) {
	cos := WarmupCosine{Peak: 1, Warmup: 10, Total: 110}
	poly := WarmupPolynomial{Peak: 1, End: 0.1, Warmup: 10, Total: 110, Power: 2}
	for _, c := range []struct {
		name string
		s    Schedule
		step int
		want float64
	}{
		{"constant", Constant(0.3), 57, 0.3},
		{"cos warmup start", cos, 0, 0},
		{"cos warmup mid", cos, 5, 0.5},
		{"cos peak", cos, 10, 1},
		{"cos half", cos, 60, 0.5},
		{"cos end", cos, 110, 0},
		{"cos after end", cos, 500, 0},
		{"poly warmup", poly, 4, 0.4},
		{"poly peak", poly, 10, 1},
		{"poly half", poly, 60, 0.9*0.25 + 0.1},
		{"poly end", poly, 110, 0.1},
	} {
		if got := c.s.LR(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: LR(%d) = %v, want %v", c.name, c.step, got, c.want)
		}
	}
	if _, err := ParseSchedule("step", 1, 0, 10); err == nil {
		t.Error("unknown schedule accepted")
	}
}

func TestClipGradNorm(t *testing.T) {
	g := []float32{3, 4}
	if n := ClipGradNorm(g, 1); n != 5 || math.Abs(float64(g[0])-0.6) > 1e-6 || math.Abs(float64(g[1])-0.8) > 1e-6 {
		t.Fatalf("clip: norm %v, grad %v", n, g)
	}
	h := []float32{0.3, 0.4}
	ClipGradNorm(h, 1)
	if h[0] != 0.3 || h[1] != 0.4 {
		t.Fatalf("a gradient below the threshold was changed: %v", h)
	}
}
