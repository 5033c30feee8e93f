package gemm

import "fmt"

func errBackend(name string) error {
	return fmt.Errorf("gemm: unknown backend %q (valid: avx2, go, openblas)", name)
}

// naive is the simple reference loop: C = alpha*op(A)*op(B) + beta*C.
func naive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	scaleC(m, n, beta, c, ldc)
	for i := 0; i < m; i++ {
		crow := c[i*ldc : i*ldc+n]
		for p := 0; p < k; p++ {
			var av float32
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			av *= alpha
			if av == 0 {
				continue
			}
			if !transB {
				brow := b[p*ldb : p*ldb+n]
				for j, bv := range brow {
					crow[j] += av * bv
				}
			} else {
				for j := range crow {
					crow[j] += av * b[j*ldb+p]
				}
			}
		}
	}
}
