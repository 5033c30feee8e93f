package wiseft

import (
	"encoding/binary"
	"math"
)

func isFloat(dtype string) bool {
	switch dtype {
	case "F64", "F32", "F16", "BF16":
		return true
	}
	return false
}

// lerp writes (1−α)·a + α·b into dst (which may alias a or b), element by
// element, for little-endian data of a float dtype. Each element is
// computed in float64 and rounded once to the dtype; α = 0 and α = 1 copy
// a and b, and elements with identical bits in a and b are copied, so
// those cases are exact whatever the values (−0, NaN payloads).
func lerp(dtype string, dst, a, b []byte, alpha float64) {
	switch alpha {
	case 0:
		copy(dst, a)
		return
	case 1:
		copy(dst, b)
		return
	}
	beta := 1 - alpha
	// The explicit float64 conversions forbid fusing into an FMA, so every
	// platform computes the same rounded products and sum.
	mix := func(x, y float64) float64 { return float64(beta*x) + float64(alpha*y) }
	le := binary.LittleEndian
	switch dtype {
	case "F64":
		for i := 0; i < len(dst); i += 8 {
			x, y := le.Uint64(a[i:]), le.Uint64(b[i:])
			if x != y {
				x = math.Float64bits(mix(math.Float64frombits(x), math.Float64frombits(y)))
			}
			le.PutUint64(dst[i:], x)
		}
	case "F32":
		for i := 0; i < len(dst); i += 4 {
			x, y := le.Uint32(a[i:]), le.Uint32(b[i:])
			if x != y {
				x = toF32(mix(float64(math.Float32frombits(x)), float64(math.Float32frombits(y))))
			}
			le.PutUint32(dst[i:], x)
		}
	case "F16", "BF16":
		f := f16
		if dtype == "BF16" {
			f = bf16
		}
		for i := 0; i < len(dst); i += 2 {
			x, y := le.Uint16(a[i:]), le.Uint16(b[i:])
			if x != y {
				x = uint16(f.encode(mix(f.decode(uint64(x)), f.decode(uint64(y)))))
			}
			le.PutUint16(dst[i:], x)
		}
	default:
		panic("wiseft: lerp of non-float dtype " + dtype)
	}
}

// toF32 rounds x to the nearest float32, ties to even. Go's conversion
// does that for values within float32's range; beyond it the result of a
// conversion is implementation-dependent, so those take the exact path.
func toF32(x float64) uint32 {
	if math.Abs(x) <= math.MaxFloat32 {
		return math.Float32bits(float32(x))
	}
	return uint32(f32.encode(x))
}

// format is a binary IEEE 754 floating-point format with ebits exponent
// bits and mbits stored significand bits.
type format struct{ ebits, mbits int }

var (
	f16  = format{5, 10}
	bf16 = format{8, 7}
	f32  = format{8, 23}
)

func (f format) bias() int { return 1<<(f.ebits-1) - 1 }

// decode returns the value of bits h exactly (every value of a narrower
// format is a float64).
func (f format) decode(h uint64) float64 {
	e := int(h>>f.mbits) & (1<<f.ebits - 1)
	m := h & (1<<f.mbits - 1)
	var v float64
	switch e {
	case 1<<f.ebits - 1:
		if m != 0 {
			v = math.NaN()
		} else {
			v = math.Inf(1)
		}
	case 0:
		v = math.Ldexp(float64(m), 1-f.bias()-f.mbits)
	default:
		v = math.Ldexp(float64(m|1<<f.mbits), e-f.bias()-f.mbits)
	}
	if h>>(f.ebits+f.mbits)&1 != 0 {
		v = -v
	}
	return v
}

// encode rounds x to the nearest value of the format, ties to even, with
// one rounding (not through float32, which could round twice), and returns
// its bits. Values beyond the largest finite one by half a unit or more
// become infinities; NaNs become quiet NaNs keeping the top payload bits.
func (f format) encode(x float64) uint64 {
	bits := math.Float64bits(x)
	sign := bits >> 63 << (f.ebits + f.mbits)
	inf := uint64(1<<f.ebits-1) << f.mbits
	switch {
	case math.IsNaN(x):
		return sign | inf | 1<<(f.mbits-1) | (bits&(1<<52-1))>>(52-f.mbits)
	case math.IsInf(x, 0):
		return sign | inf
	}
	a := math.Abs(x)
	emin := 1 - f.bias()
	if a < math.Ldexp(1, emin) { // subnormal (or rounds up to the smallest normal)
		return sign | uint64(math.RoundToEven(math.Ldexp(a, f.mbits-emin)))
	}
	_, exp := math.Frexp(a) // a = frac·2^exp, frac in [0.5, 1)
	e := exp - 1
	if e > f.bias() {
		return sign | inf
	}
	// m in [2^mbits, 2^(mbits+1)]; a carry into the exponent (up to
	// infinity) falls out of the addition.
	m := uint64(math.RoundToEven(math.Ldexp(a, f.mbits-e)))
	return sign | (uint64(e+f.bias())<<f.mbits + m - 1<<f.mbits)
}
