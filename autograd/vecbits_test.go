package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The tests below compare the float32 kernels that run eight lanes at a
// time (softmax's maximum, subtraction and scaling; GELU's tanh form,
// forward and backward) with the Go loops they replace, bit for bit: the
// references are the loops as they were (softmaxRowRef, maskedSoftmaxRef)
// or the Go paths that remain for tails and machines without AVX2
// (geluTanhRange, geluTanhGradRange, geluErfGradRange).

// softmaxRowRef is softmaxRow with scalar loops only.
func softmaxRowRef[T Float](y, x []T, log bool) float64 {
	mx := x[0]
	for _, v := range x {
		if v > mx {
			mx = v
		}
	}
	for i, v := range x {
		y[i] = v - mx
	}
	expSliceT(y, y)
	var s float64
	for _, e := range y {
		s += float64(e)
	}
	lse := float64(mx) + math.Log(s)
	if log {
		for i, v := range x {
			y[i] = T(float64(v) - lse)
		}
	} else {
		inv := T(1 / s)
		for i := range y {
			y[i] *= inv
		}
	}
	return lse
}

// maskedSoftmaxRef is maskedSoftmax with scalar loops only.
func maskedSoftmaxRef[T Float](row []T, i int, causal bool, keep []bool) {
	n := len(row)
	if causal {
		n = i + 1
	}
	mx := T(math.Inf(-1))
	for j := 0; j < n; j++ {
		if (keep == nil || keep[j]) && row[j] > mx {
			mx = row[j]
		}
	}
	vis := row[:n]
	for j := range vis {
		vis[j] -= mx
	}
	expSliceT(vis, vis)
	var s float64
	for j := range vis {
		if keep != nil && !keep[j] {
			vis[j] = 0
		}
		s += float64(vis[j])
	}
	inv := T(1 / s)
	for j := range vis {
		vis[j] *= inv
	}
	clear(row[n:])
}

// sameBits reports whether a and b have the same bits, or are both NaN.
func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

var (
	negZero  = float32(math.Copysign(0, -1))
	specials = []float32{
		0, negZero, 1, -1, 0.5, -0.5,
		1e-40, -1e-40, 1e-45, -1e-45, 1.1754942e-38, -1.1754942e-38, // subnormal
		3e38, -3e38, math.MaxFloat32, -math.MaxFloat32, 1e20, -1e20, 1e10, -1e10,
		88, 88.8, -87, -104, 9, -9, 44, -44, 5, -5, 3.5, -3.5,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
	}
	// vecLengths covers every tail length around the vector width and a
	// few long rows.
	vecLengths = func() []int {
		var ns []int
		for n := 0; n <= 70; n++ {
			ns = append(ns, n)
		}
		return append(ns, 1000, 1001, 1024, 1031, 4103)
	}()
	vecScales = []float32{1e-3, 1, 30, 100}
)

// vecInputs calls f with inputs of length n: uniform in ±scale for each
// scale, the same with special values (finite only, or any) sprinkled in,
// rows of special values only, and rows of zeros of both signs.
func vecInputs(rng *rand.Rand, n int, f func(what string, x []float32)) {
	uni := func(scale float32) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = scale * (2*rng.Float32() - 1)
		}
		return x
	}
	for _, sc := range vecScales {
		f("uniform", uni(sc))
		x := uni(sc)
		for k := 0; k < 1+n/8 && n > 0; k++ {
			if v := specials[rng.IntN(len(specials))]; !math.IsInf(float64(v), 0) && v == v {
				x[rng.IntN(n)] = v
			}
		}
		f("finite specials", x)
		x = uni(sc)
		for k := 0; k < 1+n/16 && n > 0; k++ {
			x[rng.IntN(n)] = specials[rng.IntN(len(specials))]
		}
		f("any specials", x)
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = specials[rng.IntN(len(specials))]
	}
	f("specials only", x)
	for i := range x {
		x[i] = 0
		if rng.IntN(2) == 0 {
			x[i] = negZero
		}
	}
	f("signed zeros", x)
	for i := range x {
		x[i] = 1e-3 * float32(rng.IntN(3)) // ties for the maximum
	}
	f("ties", x)
}

func logAVX2(t *testing.T) {
	if n, _ := maxVec(make([]float32, 8)); n == 0 {
		t.Log("no AVX2 kernels: the Go paths are compared with themselves")
	}
}

func TestMaxVec(t *testing.T) {
	logAVX2(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range vecLengths {
		vecInputs(rng, n, func(what string, x []float32) {
			k, m := maxVec(x)
			if k != 0 && k != n&^7 {
				t.Fatalf("n=%d: prefix %d", n, k)
			}
			if k == 0 {
				return
			}
			want := float32(math.Inf(-1)) // the largest value, NaNs skipped
			for _, v := range x[:k] {
				if v > want {
					want = v
				}
			}
			if m != want { // ±0 compare equal; checked below
				t.Fatalf("n=%d %s: maxVec = %v, want %v (%v)", n, what, m, want, x[:k])
			}
			if m == 0 { // either sign, but only one that occurs
				found := false
				for _, v := range x[:k] {
					found = found || math.Float32bits(v) == math.Float32bits(m)
				}
				if !found {
					t.Fatalf("n=%d %s: maxVec = %v, not in %v", n, what, m, x[:k])
				}
			}
		})
	}
}

func TestSoftmaxVecBits(t *testing.T) {
	logAVX2(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range vecLengths[1:] {
		vecInputs(rng, n, func(what string, x []float32) {
			for _, log := range []bool{false, true} {
				y, want := make([]float32, n), make([]float32, n)
				lse := softmaxRow(y, x, log)
				wlse := softmaxRowRef(want, x, log)
				if math.Float64bits(lse) != math.Float64bits(wlse) && !(lse != lse && wlse != wlse) {
					t.Fatalf("n=%d %s log=%v: lse %v, want %v", n, what, log, lse, wlse)
				}
				for i := range y {
					if !sameBits(y[i], want[i]) {
						t.Fatalf("n=%d %s log=%v: y[%d] = %v (%#x), want %v (%#x); x[%d] = %v",
							n, what, log, i, y[i], math.Float32bits(y[i]), want[i], math.Float32bits(want[i]), i, x[i])
					}
				}
			}
			// Causal rows of a longer buffer, with and without a keep mask.
			keep := make([]bool, n)
			for j := range keep {
				keep[j] = rng.IntN(4) != 0
			}
			for _, kp := range [][]bool{nil, keep} {
				for _, causal := range []bool{false, true} {
					q := rng.IntN(n)
					row, want := append([]float32(nil), x...), append([]float32(nil), x...)
					maskedSoftmax(row, q, causal, kp)
					maskedSoftmaxRef(want, q, causal, kp)
					for i := range row {
						if !sameBits(row[i], want[i]) {
							t.Fatalf("n=%d %s causal=%v keep=%v q=%d: row[%d] = %v, want %v",
								n, what, causal, kp != nil, q, i, row[i], want[i])
						}
					}
				}
			}
		})
	}
}

// TestAffineSubScale checks the two uses of affineVec in the softmaxes, x·1
// + (−m) and y·a + (−0), against x − m and y·a on special values.
func TestAffineSubScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, 4096)
	for i := range x {
		x[i] = specials[rng.IntN(len(specials))] * float32(1+rng.IntN(3))
	}
	y := make([]float32, len(x))
	for _, m := range specials {
		k := affineVec(y, x, 1, -m)
		for i := range x[:k] {
			if want := x[i] - m; !sameBits(y[i], want) {
				t.Fatalf("%v − %v = %v, want %v", x[i], m, y[i], want)
			}
		}
		k = affineVec(y, x, m, negZero32)
		for i := range x[:k] {
			if want := x[i] * m; !sameBits(y[i], want) {
				t.Fatalf("%v · %v = %v, want %v", x[i], m, y[i], want)
			}
		}
	}
}

// geluInputs calls f with the inputs of vecInputs and, at one length, a
// strided sweep over all float32 bit patterns.
func geluInputs(rng *rand.Rand, f func(what string, x []float32)) {
	for _, n := range vecLengths {
		vecInputs(rng, n, f)
	}
	var x []float32
	for b := uint64(0); b < 1<<32; b += 1021 {
		x = append(x, math.Float32frombits(uint32(b)))
	}
	f("sweep", x)
}

func TestGeluTanhVecBits(t *testing.T) {
	logAVX2(t)
	rng := rand.New(rand.NewPCG(7, 8))
	geluInputs(rng, func(what string, x []float32) {
		n := len(x)
		for _, keep := range []bool{true, false} {
			y, want := make([]float32, n), make([]float32, n)
			var th, wth []float32
			if keep {
				th, wth = make([]float32, n), make([]float32, n)
			}
			// Chunks of the kind prun makes: from 0 and from odd offsets.
			for _, lo := range []int{0, min(3, n), min(13, n)} {
				k := geluTanhMap[float32]{x, y, th}
				k.Range(lo, n)
				geluTanhRange(x, want, wth, lo, n)
				for i := lo; i < n; i++ {
					if !sameBits(y[i], want[i]) {
						t.Fatalf("n=%d %s lo=%d: gelu(%v) = %v (%#x), want %v (%#x)",
							n, what, lo, x[i], y[i], math.Float32bits(y[i]), want[i], math.Float32bits(want[i]))
					}
					if keep && !sameBits(th[i], wth[i]) {
						t.Fatalf("n=%d %s lo=%d: tanh u at %v = %v (%#x), want %v (%#x)",
							n, what, lo, x[i], th[i], math.Float32bits(th[i]), wth[i], math.Float32bits(wth[i]))
					}
				}
			}
		}
	})
}

func TestGeluTanhGradVecBits(t *testing.T) {
	logAVX2(t)
	rng := rand.New(rand.NewPCG(9, 10))
	geluInputs(rng, func(what string, x []float32) {
		n := len(x)
		th, dy, dx0 := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range th {
			switch rng.IntN(4) {
			case 0: // the saved tanh u
				th[i] = tanh32(geluC * (x[i] + 0.044715*x[i]*x[i]*x[i]))
			case 1:
				th[i] = 2*rng.Float32() - 1
			default:
				th[i] = x[(i+1)%n]
			}
			dy[i] = x[(i*7+3)%n]
			dx0[i] = 1e3 * (2*rng.Float32() - 1)
		}
		for _, fresh := range []bool{true, false} {
			for _, lo := range []int{0, min(5, n)} {
				dx, want := append([]float32(nil), dx0...), append([]float32(nil), dx0...)
				k := geluTanhGrad[float32]{x, th, dy, dx, fresh}
				k.Range(lo, n)
				geluTanhGradRange(x, th, dy, want, fresh, lo, n)
				for i := range dx {
					if !sameBits(dx[i], want[i]) {
						t.Fatalf("n=%d %s fresh=%v lo=%d: dx at x=%v t=%v dy=%v: %v (%#x), want %v (%#x)",
							n, what, fresh, lo, x[i], th[i], dy[i], dx[i], math.Float32bits(dx[i]), want[i], math.Float32bits(want[i]))
					}
				}
			}
		}
	})
}

// TestGeluErfGradVecBits compares geluErfGrad (geluErfBackAVX2 on the
// prefix) with geluErfGradRange, the Go loops as they were, over whole
// chunks: lengths around the vector width and around and past its
// 256-element blocks, chunks from odd offsets and ending short of the row.
func TestGeluErfGradVecBits(t *testing.T) {
	logAVX2(t)
	rng := rand.New(rand.NewPCG(11, 12))
	check := func(what string, x []float32) {
		n := len(x)
		cdf, dy, dx0 := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range cdf {
			switch rng.IntN(4) {
			case 0: // the saved Φ(x)
				cdf[i] = normCDF(x[i])
			case 1:
				cdf[i] = rng.Float32()
			default:
				cdf[i] = x[(i+1)%n]
			}
			dy[i] = x[(i*7+3)%n]
			dx0[i] = 1e3 * (2*rng.Float32() - 1)
		}
		chunks := [][2]int{{0, n}, {min(3, n), n}, {min(5, n), n}, {min(13, n), max(min(13, n), n-2)}}
		for _, fresh := range []bool{true, false} {
			for _, c := range chunks {
				lo, hi := c[0], c[1]
				dx, want := append([]float32(nil), dx0...), append([]float32(nil), dx0...)
				k := geluErfGrad[float32]{x, cdf, dy, dx, fresh}
				k.Range(lo, hi)
				geluErfGradRange(x, cdf, dy, want, fresh, lo, hi)
				for i := range dx {
					if !sameBits(dx[i], want[i]) {
						t.Fatalf("n=%d %s fresh=%v [%d,%d): dx[%d] at x=%v c=%v dy=%v: %v (%#x), want %v (%#x)",
							n, what, fresh, lo, hi, i, x[i], cdf[i], dy[i], dx[i], math.Float32bits(dx[i]), want[i], math.Float32bits(want[i]))
					}
				}
			}
		}
	}
	geluInputs(rng, check)
	for _, n := range []int{255, 256, 257, 263, 511, 512, 513, 520} {
		vecInputs(rng, n, check)
	}
}

// lnLengths are the row lengths of the LayerNorm tests: every tail length
// around the vector width and a few long rows.
var lnLengths = func() []int {
	var ns []int
	for n := 1; n <= 70; n++ {
		ns = append(ns, n)
	}
	return append(ns, 256, 257, 1000)
}()

const lnRows = 3

// lnInputs calls f with rows·D inputs x (from vecInputs) and γ, β, dy and
// an initial gradient drawn from them, and stats from layerNormRows with
// every other row's mean and 1/σ replaced by random finite ones.
func lnInputs(rng *rand.Rand, f func(D int, what string, x, G, B, dy, dx0, stats []float32)) {
	for _, D := range lnLengths {
		vecInputs(rng, lnRows*D, func(what string, x []float32) {
			n := len(x)
			G, B := make([]float32, D), make([]float32, D)
			for i := range G {
				G[i], B[i] = x[(i*5+1)%n], x[(i*11+2)%n]
			}
			dy, dx0 := make([]float32, n), make([]float32, n)
			for i := range dy {
				dy[i] = x[(i*7+3)%n]
				dx0[i] = 1e3 * (2*rng.Float32() - 1)
			}
			stats := make([]float32, 2*lnRows)
			k := layerNormRows[float32]{x, make([]float32, n), G, B, stats, D, 1e-5}
			k.Range(0, lnRows)
			for r := 1; r < lnRows; r += 2 {
				stats[2*r] = 100 * (2*rng.Float32() - 1)
				stats[2*r+1] = float32(math.Exp(10 * (rng.Float64() - 0.5)))
			}
			f(D, what, x, G, B, dy, dx0, stats)
		})
	}
}

func checkBits(t *testing.T, ctx string, got, want []float32) {
	t.Helper()
	for i := range got {
		if !sameBits(got[i], want[i]) {
			t.Fatalf("%s: [%d] = %v (%#x), want %v (%#x)", ctx, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// TestLayerNormVecBits compares LayerNorm's forward and backward kernels
// (lnOutAVX2, lnDGAVX2 with addAVX2, lnInGradAVX2 on the prefixes) with
// their Go paths (layerNormOutRange, layerNormParamGradRange,
// layerNormInGradRange) over whole rows, row chunks and column chunks.
func TestLayerNormVecBits(t *testing.T) {
	logAVX2(t)
	rng := rand.New(rand.NewPCG(13, 14))
	lnInputs(rng, func(D int, what string, x, G, B, dy, dx0, stats []float32) {
		n := len(x)
		// Forward over row chunks.
		for _, lo := range []int{0, 1} {
			y, want := make([]float32, n), make([]float32, n)
			st := make([]float32, 2*lnRows)
			k := layerNormRows[float32]{x, y, G, B, st, D, 1e-5}
			k.Range(lo, lnRows)
			for r := lo; r < lnRows; r++ {
				layerNormOutRange(want[r*D:(r+1)*D], x[r*D:(r+1)*D], G, B, st[2*r], st[2*r+1], 0)
			}
			checkBits(t, fmt.Sprintf("D=%d %s: y rows [%d,%d)", D, what, lo, lnRows), y, want)
		}
		// γ and β gradients over column chunks, either absent.
		chunks := [][2]int{{0, D}, {min(3, D), D}, {min(5, D), max(min(5, D), D-2)}, {min(13, D), D}}
		for _, c := range chunks {
			lo, hi := c[0], c[1]
			for _, which := range []string{"both", "dG", "dB"} {
				var dG, dB, wG, wB []float32
				if which != "dB" {
					dG, wG = append([]float32(nil), dx0[:D]...), append([]float32(nil), dx0[:D]...)
				}
				if which != "dG" {
					dB, wB = append([]float32(nil), dx0[D:2*D]...), append([]float32(nil), dx0[D:2*D]...)
				}
				k := layerNormParamGrads[float32]{x, dy, stats, dG, dB, D, lnRows}
				k.Range(lo, hi)
				for r := 0; r < lnRows; r++ {
					layerNormParamGradRange(wG, wB, x[r*D:(r+1)*D], dy[r*D:(r+1)*D], stats[2*r], stats[2*r+1], lo, lo, hi)
				}
				ctx := fmt.Sprintf("D=%d %s %s [%d,%d)", D, what, which, lo, hi)
				checkBits(t, ctx+" dG", dG, wG)
				checkBits(t, ctx+" dB", dB, wB)
			}
		}
		// Input gradient over row chunks, fresh or added.
		for _, fresh := range []bool{true, false} {
			for _, lo := range []int{0, 1} {
				dx, want := append([]float32(nil), dx0...), append([]float32(nil), dx0...)
				k := layerNormInputGrad[float32]{x, dy, dx, G, stats, D, fresh}
				k.Range(lo, lnRows)
				for r := lo; r < lnRows; r++ {
					m, rs := stats[2*r], stats[2*r+1]
					xr, dyr := x[r*D:(r+1)*D], dy[r*D:(r+1)*D]
					var s1, s2 float64
					for i := range xr {
						dn := float64(dyr[i] * G[i])
						s1 += dn
						s2 += dn * float64((xr[i]-m)*rs)
					}
					s1 /= float64(D)
					s2 /= float64(D)
					layerNormInGradRange(want[r*D:(r+1)*D], dyr, xr, G, m, rs, s1, s2, fresh, 0)
				}
				checkBits(t, fmt.Sprintf("D=%d %s fresh=%v: dx rows [%d,%d)", D, what, fresh, lo, lnRows), dx, want)
			}
		}
		// The input-gradient kernel alone with s1, s2 of any size.
		for _, fresh := range []bool{true, false} {
			m := 10 * (2*rng.Float32() - 1)
			rs := float32(math.Exp(10 * (rng.Float64() - 0.5)))
			s1 := math.Exp(40*(rng.Float64()-0.5)) * (2*rng.Float64() - 1)
			s2 := math.Exp(40*(rng.Float64()-0.5)) * (2*rng.Float64() - 1)
			dx, want := append([]float32(nil), dx0[:D]...), append([]float32(nil), dx0[:D]...)
			i := layerNormInGradVec(dx, dy[:D], x[:D], G, m, rs, s1, s2, !fresh)
			layerNormInGradRange(dx, dy[:D], x[:D], G, m, rs, s1, s2, fresh, i)
			layerNormInGradRange(want, dy[:D], x[:D], G, m, rs, s1, s2, fresh, 0)
			checkBits(t, fmt.Sprintf("D=%d %s fresh=%v s1=%g s2=%g", D, what, fresh, s1, s2), dx, want)
		}
	})
}
