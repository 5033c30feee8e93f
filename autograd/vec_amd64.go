package autograd

// addAVX2 sets dst[i] += src[i] for i < n (n a multiple of 8).
//
//go:noescape
func addAVX2(dst, src *float32, n int)

// addVec adds the longest prefix of src whose length is a multiple of 8
// into dst and returns its length.
func addVec(dst, src []float32) int {
	if !haveExpAVX2 || len(src) < 8 {
		return 0
	}
	n := len(src) &^ 7
	_ = dst[n-1]
	addAVX2(&dst[0], &src[0], n)
	return n
}

// geluErfAVX2 sets cdf[i] = Φ(x[i]) (erf32's approximation, eight lanes at
// a time) and then y[i] = x[i]·cdf[i] for i < n (n a multiple of 8); cdf
// may be y when Φ is not wanted.
//
//go:noescape
func geluErfAVX2(y, cdf, x *float32, n int)

// geluErfVec runs geluErfAVX2 on the longest prefix whose length is a
// multiple of 8 and returns its length (cdf nil: not kept).
func geluErfVec(y, cdf, x []float32) int {
	if !haveExpAVX2 || len(x) < 8 {
		return 0
	}
	n := len(x) &^ 7
	_, _ = y[n-1], x[n-1]
	c := &y[0]
	if cdf != nil {
		_ = cdf[n-1]
		c = &cdf[0]
	}
	geluErfAVX2(&y[0], c, &x[0], n)
	return n
}

//go:noescape
func sumShiftedAVX2(x *float32, n int, s float64) (s1, s2 float64)

//go:noescape
func dotCenteredAVX2(dy, x *float32, n int, m float64) (sdy, sdyx float64)

//go:noescape
func affineAVX2(y, x *float32, n int, a, b float32)

//go:noescape
func bnBackAVX2(dx, dy, x *float32, n int, a, b, c float32, add bool)

//go:noescape
func reluAVX2(y, x *float32, n int)

//go:noescape
func reluBackAVX2(dx, dy, x *float32, n int, add bool)

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func geluTanhBackAVX2(dx, dy, x, th *float32, n int, add bool)

// The helpers below run the AVX2 kernels on the longest prefix whose
// length is a multiple of 8 and return its length (0 without AVX2); the
// caller finishes the tail.

func sumShiftedVec(x []float32, s float64) (n int, s1, s2 float64) {
	if !haveExpAVX2 || len(x) < 8 {
		return 0, 0, 0
	}
	n = len(x) &^ 7
	s1, s2 = sumShiftedAVX2(&x[0], n, s)
	return n, s1, s2
}

func dotCenteredVec(dy, x []float32, m float64) (n int, sdy, sdyx float64) {
	if !haveExpAVX2 || len(dy) < 8 {
		return 0, 0, 0
	}
	n = len(dy) &^ 7
	_ = x[n-1]
	sdy, sdyx = dotCenteredAVX2(&dy[0], &x[0], n, m)
	return n, sdy, sdyx
}

func affineVec(y, x []float32, a, b float32) int {
	if !haveExpAVX2 || len(x) < 8 {
		return 0
	}
	n := len(x) &^ 7
	_ = y[n-1]
	affineAVX2(&y[0], &x[0], n, a, b)
	return n
}

func bnBackVec(dx, dy, x []float32, a, b, c float32, add bool) int {
	if !haveExpAVX2 || len(dy) < 8 {
		return 0
	}
	n := len(dy) &^ 7
	_, _ = dx[n-1], x[n-1]
	bnBackAVX2(&dx[0], &dy[0], &x[0], n, a, b, c, add)
	return n
}

func reluVec(y, x []float32) int {
	if !haveExpAVX2 || len(x) < 8 {
		return 0
	}
	n := len(x) &^ 7
	_ = y[n-1]
	reluAVX2(&y[0], &x[0], n)
	return n
}

func reluBackVec(dx, dy, x []float32, add bool) int {
	if !haveExpAVX2 || len(x) < 8 {
		return 0
	}
	n := len(x) &^ 7
	_, _ = dx[n-1], dy[n-1]
	reluBackAVX2(&dx[0], &dy[0], &x[0], n, add)
	return n
}

// maxVec returns the length n of the longest prefix of x that is a
// multiple of 8 and the largest of x[:n], NaNs skipped (−Inf when x[:n] is
// all NaN); of equal zeros it may return either sign. n is 0 (and m
// meaningless) without AVX2 or below 8 elements.
func maxVec(x []float32) (n int, m float32) {
	if !haveExpAVX2 || len(x) < 8 {
		return 0, 0
	}
	n = len(x) &^ 7
	return n, maxAVX2(&x[0], n)
}

func geluTanhBackVec(dx, dy, x, th []float32, add bool) int {
	if !haveExpAVX2 || len(dy) < 8 {
		return 0
	}
	n := len(dy) &^ 7
	_, _, _ = dx[n-1], x[n-1], th[n-1]
	geluTanhBackAVX2(&dx[0], &dy[0], &x[0], &th[0], n, add)
	return n
}

//go:noescape
func lnOutAVX2(y, x, gam, b *float32, n int, m, rs float32)

//go:noescape
func lnDGAVX2(dg, dy, x *float32, n int, m, rs float32)

//go:noescape
func lnInGradAVX2(dx, dy, x, gam *float32, n int, m, rs float32, rs64, s1, s2 float64, add bool)

func layerNormOutVec(y, x, g, b []float32, m, rs float32) int {
	if !haveExpAVX2 || len(x) < 8 {
		return 0
	}
	n := len(x) &^ 7
	_, _, _ = y[n-1], g[n-1], b[n-1]
	lnOutAVX2(&y[0], &x[0], &g[0], &b[0], n, m, rs)
	return n
}

func layerNormDGVec(dg, dy, x []float32, m, rs float32) int {
	if !haveExpAVX2 || len(dy) < 8 {
		return 0
	}
	n := len(dy) &^ 7
	_, _ = dg[n-1], x[n-1]
	lnDGAVX2(&dg[0], &dy[0], &x[0], n, m, rs)
	return n
}

func layerNormInGradVec(dx, dy, x, g []float32, m, rs float32, s1, s2 float64, add bool) int {
	if !haveExpAVX2 || len(x) < 8 {
		return 0
	}
	n := len(x) &^ 7
	_, _, _ = dx[n-1], dy[n-1], g[n-1]
	lnInGradAVX2(&dx[0], &dy[0], &x[0], &g[0], n, m, rs, float64(rs), s1, s2, add)
	return n
}
