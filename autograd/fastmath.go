package autograd

import "math"

// Float32 fast paths for the transcendental functions on the hot path
// (softmax, cross-entropy, GELU, tanh). float64 computations, used for
// gradient checks and trust-region measurements, keep the math package.

// exp32 is a Cephes-style single-precision exponential: range reduction by
// ln 2 in two parts and a degree-6 polynomial; relative error ≈ 2 ulp.
func exp32(x float32) float32 {
	switch {
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -103.97208:
		return 0
	case x != x:
		return x
	}
	t := x*1.44269504088896341 + 0.5
	n := float32(int32(t)) // floor for t ≥ 0; fix up negatives below
	if n > t {
		n--
	}
	r := x - n*0.693359375 - n*-2.12194440e-4
	p := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
	p = p*r*r + r + 1
	// Scale by 2ⁿ in two steps so that n down to −150 stays representable.
	ni := int32(n)
	if ni < -126 {
		p *= math.Float32frombits(uint32(ni+127+64) << 23)
		return p * math.Float32frombits(uint32(127-64)<<23)
	}
	return p * math.Float32frombits(uint32(ni+127)<<23)
}

// tanh32 is Cephes' tanhf: a minimax polynomial below 0.625, exp32 above.
func tanh32(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	if a < 0.625 {
		z := x * x
		return ((((-5.70498872745e-3*z+2.06390887954e-2)*z-5.37397155531e-2)*z+1.33314422036e-1)*z-3.33332819422e-1)*z*x + x
	}
	if a > 9 {
		return float32(math.Copysign(1, float64(x)))
	}
	t := 1 - 2/(exp32(2*a)+1)
	if x < 0 {
		return -t
	}
	return t
}

// erf32 is the single-precision rational approximation of erf used by
// Eigen and XLA: x·P(x²)/Q(x²) on [−4, 4] (erf is ±1 in float32 beyond),
// absolute error below 5e-7.
func erf32(a float32) float32 {
	x := min(max(a, -4), 4)
	x2 := x * x
	p := x2*-2.72614225801306e-10 + 2.77068142495902e-08
	p = x2*p + -2.10102402082508e-06
	p = x2*p + -5.69250639462346e-05
	p = x2*p + -7.34990630326855e-04
	p = x2*p + -2.95459980854025e-03
	p = x2*p + -1.60960333262415e-02
	p *= x
	q := x2*-1.45660718464996e-05 + -2.13374055278905e-04
	q = x2*q + -1.68282697438203e-03
	q = x2*q + -7.37332916720468e-03
	q = x2*q + -1.42647390514189e-02
	return min(max(p/q, -1), 1)
}

// normCDF returns Φ(x) = (1 + erf(x/√2))/2: erf32 in float32, the math
// package in float64.
func normCDF[T Float](x T) T {
	if is32[T]() {
		return T(0.5 + 0.5*erf32(float32(x)*(1/math.Sqrt2)))
	}
	return T(0.5 * (1 + math.Erf(float64(x)/math.Sqrt2)))
}

// expT and tanhT pick the fast float32 path or the math package.
func expT[T Float](x T) T {
	if is32[T]() {
		return T(exp32(float32(x)))
	}
	return T(math.Exp(float64(x)))
}

func tanhT[T Float](x T) T {
	if is32[T]() {
		return T(tanh32(float32(x)))
	}
	return T(math.Tanh(float64(x)))
}

// ExpSlice sets dst[i] = exp(src[i]) (dst may alias src) in single
// precision: eight lanes at a time with AVX2 where available, relative
// error about 1e-7; arguments below −87 give about 1e-38, above 88 about
// 1.7e38, and NaN stays NaN.
func ExpSlice(dst, src []float32) { expSlice(dst, src) }

func expSlice(dst, src []float32) {
	dst = dst[:len(src)]
	for i := expVec(dst, src); i < len(src); i++ {
		dst[i] = exp32(src[i])
	}
}

// expSliceT is expSlice for either element type.
func expSliceT[T Float](dst, src []T) {
	if is32[T]() {
		expSlice(as32(dst), as32(src))
		return
	}
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = T(math.Exp(float64(v)))
	}
}
