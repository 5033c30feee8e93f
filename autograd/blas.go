package autograd

import (
	"unsafe"

	"github.com/tramlab/tram/internal/gemm"
	"github.com/tramlab/tram/internal/parallel"
)

// is32 reports whether T is float32 (the only other Float is float64).
func is32[T Float]() bool { var z T; return unsafe.Sizeof(z) == 4 }

func as32[T Float](x []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}

// gemmBatched computes C_i = alpha·op(A_i)·op(B_i) + beta·C_i for i < batch,
// row-major, dense strides. float32 runs on internal/gemm; float64 (used for
// gradient checks) on a simple exact-order loop.
func gemmBatched[T Float](ta, tb bool, m, n, k int, alpha T, a []T, lda, sa int, b []T, ldb, sb int, beta T, c []T, ldc, sc int, batch int) {
	if is32[T]() {
		gemm.SgemmBatched(ta, tb, m, n, k, float32(alpha), as32(a), lda, sa, as32(b), ldb, sb, float32(beta), as32(c), ldc, sc, batch)
		return
	}
	parallel.For(batch*m, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			bi, i := r/m, r%m
			A, B, C := a[bi*sa:], b[bi*sb:], c[bi*sc:]
			for j := 0; j < n; j++ {
				var s float64
				for p := 0; p < k; p++ {
					var av, bv T
					if ta {
						av = A[p*lda+i]
					} else {
						av = A[i*lda+p]
					}
					if tb {
						bv = B[j*ldb+p]
					} else {
						bv = B[p*ldb+j]
					}
					s += float64(av) * float64(bv)
				}
				if beta == 0 {
					C[i*ldc+j] = alpha * T(s)
				} else {
					C[i*ldc+j] = alpha*T(s) + beta*C[i*ldc+j]
				}
			}
		}
	})
}

// mm is gemmBatched for a single matrix.
func mm[T Float](ta, tb bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	gemmBatched(ta, tb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1)
}

// mmBias computes C = alpha·op(A)·op(B) + bias in every row (bias[:n]),
// bit-identical to filling C's rows with bias and calling mm with beta = 1.
// float32 runs gemm.SgemmBias, which writes the bias into each C tile just
// before the kernel reaches it instead of in a separate pass over C; float64
// fills C first.
func mmBias[T Float](ta, tb bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, bias []T, c []T, ldc int) {
	if is32[T]() {
		gemm.SgemmBias(ta, tb, m, n, k, float32(alpha), as32(a), lda, as32(b), ldb, as32(bias), as32(c), ldc)
		return
	}
	bias = bias[:n]
	for i := 0; i < m; i++ {
		copy(c[i*ldc:i*ldc+n], bias)
	}
	mm(ta, tb, m, n, k, alpha, a, lda, b, ldb, 1, c, ldc)
}

// grain is the smallest chunk of elementwise work worth a goroutine.
const grain = 1 << 14

// grain2 is the grain for n items of work elements each.
func grain2(work int) int { return max(grain/max(1, work), 16) }

// A kernel is the body of a parallel loop: a struct of what the loop reads
// and writes, whose Range method is the loop. Unlike a closure, which
// escapes to the workers, it costs no allocation per call (see
// parallel.Run), so every op's loops are kernels.
type kernel[K any] interface {
	*K
	parallel.Body
}

// prun runs k over [0,n) in parallel chunks when n is large.
func prun[K any, P kernel[K]](n int, k K) { parallel.Run[K, P](n, grain, k) }

// prun2 is prun for n items of work elements each: it splits [0,n) when
// n·work is large.
func prun2[K any, P kernel[K]](n, work int, k K) { parallel.Run[K, P](n, grain2(work), k) }

// pfor2 is prun2 for a closure, for loops outside the training step.
func pfor2(n, work int, fn func(lo, hi int)) { parallel.For(n, grain2(work), fn) }
