package autograd

import (
	"math"
	"testing"

	"github.com/tramlab/tram/tensor"
)

// TestVectorKernels checks the float32 kernels (AVX2 body and scalar tail)
// against plain loops, at lengths around the vector width.
func TestVectorKernels(t *testing.T) {
	rng := tensor.NewRNG(11)
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1029} {
		x := tensor.Randn[float32](rng, 1, n).Data
		dy := tensor.Randn[float32](rng, 1, n).Data
		if n > 8 {
			x[1], x[2], x[3], x[4] = float32(math.NaN()), float32(math.Copysign(0, -1)), 0, float32(math.Inf(1))
		}
		// ReLU forward: Go's max(x, 0).
		y := make([]float32, n)
		g := NewGraph[float32]()
		r := g.ReLU(tensor.FromSlice(x, n))
		copy(y, r.Data)
		for i, v := range x {
			want := max(v, 0)
			if math.Float32bits(y[i]) != math.Float32bits(want) && !(v != v && y[i] != y[i]) {
				t.Fatalf("n=%d: ReLU(%v) = %v, want %v", n, v, y[i], want)
			}
		}
		// ReLU backward, set and add: dy where x > 0 (not NaN).
		for _, set := range []bool{true, false} {
			dx := make([]float32, n)
			for i := range dx {
				dx[i] = 0.5
			}
			reluBackward(dx, dy, x, set)
			for i, v := range x {
				var want float32
				if v > 0 {
					want = dy[i]
				}
				if !set {
					want += 0.5
				}
				if dx[i] != want {
					t.Fatalf("n=%d set=%v: ReLU backward at x=%v gave %v, want %v", n, set, v, dx[i], want)
				}
			}
		}
		if n > 8 {
			x[1], x[4] = 0.25, -3 // finite values for the sums below
		}
		// Batch-norm sums against float64.
		var w1, w2, w3, w4 float64
		for i, v := range x {
			d := float64(v) - 0.3
			w1 += d
			w2 += d * d
			w3 += float64(dy[i])
			w4 += float64(dy[i]) * (float64(v) - 0.1)
		}
		s1, s2 := sumShifted(x, 0.3)
		a, b := dotCentered(dy, x, 0.1)
		for _, c := range [][2]float64{{s1, w1}, {s2, w2}, {a, w3}, {b, w4}} {
			if math.Abs(c[0]-c[1]) > 1e-12*(1+math.Abs(c[1])) {
				t.Fatalf("n=%d: sum %v, want %v", n, c[0], c[1])
			}
		}
		// Affine maps against the Go expressions.
		af := make([]float32, n)
		if k := affineVec(af, x, 1.5, -0.25); k < n {
			for i := k; i < n; i++ {
				af[i] = x[i]*1.5 + -0.25
			}
		}
		for i, v := range x {
			if want := v*1.5 + -0.25; af[i] != want {
				t.Fatalf("n=%d: affine %v, want %v", n, af[i], want)
			}
		}
		for _, add := range []bool{false, true} {
			dx := make([]float32, n)
			for i := range dx {
				dx[i] = 2
			}
			k := bnBackVec(dx, dy, x, 0.7, -0.2, 0.05, add)
			for i := range x {
				want := 0.7*dy[i] + -0.2*x[i] + 0.05
				if add {
					want += 2
				}
				if i >= k {
					dx[i] = want
				}
				if dx[i] != want {
					t.Fatalf("n=%d add=%v: batch-norm backward %v, want %v", n, add, dx[i], want)
				}
			}
		}
	}
}
