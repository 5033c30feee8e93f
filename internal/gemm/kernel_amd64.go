//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// hasAsm reports whether the AVX2/FMA assembly micro-kernel can run here.
// cpu.X86.HasAVX2 already includes the check that the OS saves YMM state.
var hasAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel6x16 computes a 6×16 tile of C from kc steps of packed A (6 per step)
// and packed B (16 per step): C = alpha·acc (beta == 0, C not read) or
// C = beta·C + alpha·acc. ldc is in elements. Implemented in kernel_amd64.s.
//
//go:noescape
func kernel6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32)
