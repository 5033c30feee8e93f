//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// hasAsm reports whether the AVX2/FMA assembly micro-kernel can run here.
// cpu.X86.HasAVX2 already includes the check that the OS saves YMM state.
var hasAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel6x16 computes a 6×16 tile of C from kc steps of packed A (6 per step)
// and packed B (16 per step): C = alpha·acc (beta == 0, C not read) or
// C = beta·C + alpha·acc. With bias != nil (and beta != 0) C is not read and
// every row gets beta·bias[0:16] + alpha·acc instead, bit-identical to the
// beta path with bias in every row of C. ldc is in elements. Implemented in
// kernel_amd64.s.
//
//go:noescape
func kernel6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32, bias *float32)

// hasAsm512 reports whether the AVX-512 variant (kernel6x32) can run here.
// cpu.X86.HasAVX512F includes the check that the OS saves ZMM state.
var hasAsm512 = hasAsm && cpu.X86.HasAVX512F

// kernel6x32 is the AVX-512 variant of kernel6x16 for a 6×32 tile whose
// columns 0–15 and 16–31 come from two consecutive packed B strips b0, b1;
// bias (nil, or 32 floats) as in kernel6x16. Implemented in kernel512_amd64.s.
//
//go:noescape
func kernel6x32(kc int, a, b0, b1, c *float32, ldc int, alpha, beta float32, bias *float32)
