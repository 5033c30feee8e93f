package gemm

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	naive(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func sgemmBatched(transA, transB bool, m, n, k int, alpha float32, a []float32, lda, strideA int, b []float32, ldb, strideB int, beta float32, c []float32, ldc, strideC int, batch int) {
	for i := 0; i < batch; i++ {
		sgemm(transA, transB, m, n, k, alpha, a[i*strideA:], lda, b[i*strideB:], ldb, beta, c[i*strideC:], ldc)
	}
}

// Backend reports the active backend: "avx2", "go" or "openblas".
func Backend() string { return "go" }

// SetBackend switches the backend at run time.
func SetBackend(name string) error {
	if name == "go" {
		return nil
	}
	return errBackend(name)
}

// InitError reports why the backend requested through TRAM_BLAS could not be
// selected at init, or nil.
func InitError() error { return nil }
