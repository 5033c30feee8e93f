package optim

import "golang.org/x/sys/cpu"

// haveAVX2 enables the AVX2 kernels (which use no FMA, so that they repeat
// the scalar loops' roundings exactly).
var haveAVX2 = cpu.X86.HasAVX2

// The kernels take the gradient as grad: g names the goroutine register in
// Go assembly.

// adamwAVX2 applies adamwRange's update to th, m, v for i < n (n a multiple
// of 8), eight lanes at a time with the same float32 operations in the same
// order, VSQRTPS for the square root.
//
//go:noescape
func adamwAVX2(th, grad, m, v *float32, n int, decay, b1, c1, b2, c2, step, sq2, eps float32)

// sgdAVX2 sets th[i] -= lr·g[i] for i < n (n a multiple of 8).
//
//go:noescape
func sgdAVX2(th, grad *float32, n int, lr float32)

// sgdDecayAVX2 sets th[i] -= lr·(g[i] + wd·th[i]) for i < n (n a multiple
// of 8).
//
//go:noescape
func sgdDecayAVX2(th, grad *float32, n int, lr, wd float32)

// sgdMomentumAVX2 sets d = g[i] + wd·th[i], b[i] = d (first) or
// mu·b[i] + d, th[i] -= lr·b[i] for i < n (n a multiple of 8).
//
//go:noescape
func sgdMomentumAVX2(th, grad, b *float32, n int, lr, wd, mu float32, first bool)

// The helpers below run the AVX2 kernels on the longest prefix whose
// length is a multiple of 8 and return its length (0 without AVX2); the
// caller finishes the tail with the scalar loop.

func adamwVec(th, g, m, v []float32, c adamwCoef) int {
	if !haveAVX2 || len(th) < 8 {
		return 0
	}
	n := len(th) &^ 7
	_, _, _ = g[n-1], m[n-1], v[n-1]
	adamwAVX2(&th[0], &g[0], &m[0], &v[0], n, c.decay, c.b1, c.c1, c.b2, c.c2, c.step, c.sq2, c.eps)
	return n
}

func sgdVec(th, g, b []float32, lr, mu, wd float32, first bool) int {
	if !haveAVX2 || len(th) < 8 {
		return 0
	}
	n := len(th) &^ 7
	_ = g[n-1]
	switch {
	case mu == 0 && wd == 0:
		sgdAVX2(&th[0], &g[0], n, lr)
	case mu == 0:
		sgdDecayAVX2(&th[0], &g[0], n, lr, wd)
	default:
		_ = b[n-1]
		sgdMomentumAVX2(&th[0], &g[0], &b[0], n, lr, wd, mu, first)
	}
	return n
}
