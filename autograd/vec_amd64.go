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
