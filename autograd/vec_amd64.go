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
