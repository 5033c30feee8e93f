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
