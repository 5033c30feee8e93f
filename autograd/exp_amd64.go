package autograd

import "golang.org/x/sys/cpu"

// expAVX2 writes exp(src[i]) into dst[i] for i < n (n a multiple of 8),
// eight lanes at a time with the algorithm of exp32; arguments are clamped
// to [−87, 88] (results stay normal and finite), NaN stays NaN.
//
//go:noescape
func expAVX2(dst, src *float32, n int)

var haveExpAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func expVec(dst, src []float32) int {
	if !haveExpAVX2 || len(src) < 8 {
		return 0
	}
	n := len(src) &^ 7
	expAVX2(&dst[0], &src[0], n)
	return n
}

// geluTanhAVX2 sets th[i] = tanh u and y[i] = x[i]·(1 + tanh u)/2 with u =
// √(2/π)·(x[i] + 0.044715·x[i]³) for i < n (n a multiple of 8), in the
// steps of geluTanhMap's Go loops with expAVX2's exponential, so that each
// lane equals them bit for bit; th may be y when tanh u is not wanted.
//
//go:noescape
func geluTanhAVX2(y, th, x *float32, n int)

// geluTanhVec runs geluTanhAVX2 on the longest prefix whose length is a
// multiple of 8 and returns its length (th nil: not kept).
func geluTanhVec(y, th, x []float32) int {
	if !haveExpAVX2 || len(x) < 8 {
		return 0
	}
	n := len(x) &^ 7
	_, _ = y[n-1], x[n-1]
	t := &y[0]
	if th != nil {
		_ = th[n-1]
		t = &th[0]
	}
	geluTanhAVX2(&y[0], t, &x[0], n)
	return n
}

// geluErfBackAVX2 sets (add false) or adds to dx[i] dy[i]·(cdf[i] +
// x[i]·e·(1/√(2π))) with e = exp(−x[i]²/2) as expAVX2 computes it, for i <
// n (n a multiple of 8), in the steps of geluErfGradRange, so that each
// lane equals it bit for bit.
//
//go:noescape
func geluErfBackAVX2(dx, dy, x, cdf *float32, n int, add bool)

// geluErfBackVec runs geluErfBackAVX2 on the longest prefix whose length
// is a multiple of 8 and returns its length.
func geluErfBackVec(dx, dy, x, cdf []float32, add bool) int {
	if !haveExpAVX2 || len(dy) < 8 {
		return 0
	}
	n := len(dy) &^ 7
	_, _, _, _ = dx[n-1], x[n-1], cdf[n-1], dy[n-1]
	geluErfBackAVX2(&dx[0], &dy[0], &x[0], &cdf[0], n, add)
	return n
}
