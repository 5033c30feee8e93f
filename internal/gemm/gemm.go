package gemm

import "fmt"

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices,
// op(X) = X or Xᵀ. op(A) is m×k, op(B) is k×n, C is m×n; lda/ldb/ldc are row strides
// (of A, B, C as stored). beta == 0 means C is not read (NaNs in C are overwritten), as in BLAS.
// m, n or k == 0 is valid (k == 0 scales C by beta). Panics with a clear message on
// inconsistent sizes/strides or too-short slices (programmer error).
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmBias computes C = alpha*op(A)*op(B) + bias, the bias vector added to
// every row: C[i][j] = alpha*(op(A)*op(B))[i][j] + bias[j] (the epilogue of a
// linear layer), with arguments as in Sgemm; C is only written, and bias must
// hold at least n elements. The result is bit-identical to copying bias[:n]
// into every row of C and calling Sgemm with beta = 1, on every backend and
// thread count; the Go-side backends' micro-kernels take the bias in place
// of the rows of C on the first k block instead of a separate pass over C.
// Panics with a clear message on inconsistent sizes/strides or too-short
// slices (programmer error).
func SgemmBias(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, bias []float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if len(bias) < n {
		panic(fmt.Sprintf("gemm: SgemmBias: len(bias)=%d < n=%d (m=%d n=%d k=%d)", len(bias), n, m, n, k))
	}
	sgemmOn(backend.Load(), true, transA, transB, m, n, k, alpha, a, lda, b, ldb, 1, bias, c, ldc)
}

// SgemmBatched runs batch independent Sgemms; matrix i of A starts at a[i*strideA], etc.
// strideA or strideB may be 0 (broadcast one matrix across the batch).
func SgemmBatched(transA, transB bool, m, n, k int, alpha float32, a []float32, lda, strideA int, b []float32, ldb, strideB int, beta float32, c []float32, ldc, strideC int, batch int) {
	if batch < 0 {
		panic(fmt.Sprintf("gemm: SgemmBatched: negative batch %d", batch))
	}
	if strideA < 0 || strideB < 0 || strideC < 0 {
		panic(fmt.Sprintf("gemm: SgemmBatched: negative stride (strideA=%d strideB=%d strideC=%d)", strideA, strideB, strideC))
	}
	if batch == 0 {
		checkDims(transA, transB, m, n, k, lda, ldb, ldc)
		return
	}
	if batch > 1 && m > 0 && n > 0 && strideC < matLen(m, n, ldc) {
		panic(fmt.Sprintf("gemm: SgemmBatched: strideC=%d < %d (C matrices %d×%d, ldc=%d, would overlap)", strideC, matLen(m, n, ldc), m, n, ldc))
	}
	// Check the last matrix of each operand; earlier ones then fit too.
	last := batch - 1
	checkArgs(transA, transB, m, n, k,
		tail(a, last*strideA, "A"), lda, tail(b, last*strideB, "B"), ldb, tail(c, last*strideC, "C"), ldc)
	sgemmBatched(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch)
}

func tail(x []float32, off int, name string) []float32 {
	if off > len(x) {
		panic(fmt.Sprintf("gemm: SgemmBatched: %s has length %d, last batch matrix starts at %d", name, len(x), off))
	}
	return x[off:]
}

// matLen is the number of elements a rows×cols matrix with row stride ld spans.
func matLen(rows, cols, ld int) int {
	if rows == 0 || cols == 0 {
		return 0
	}
	return (rows-1)*ld + cols
}

func checkDims(transA, transB bool, m, n, k, lda, ldb, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	aCols, bCols := k, n
	if transA {
		aCols = m
	}
	if transB {
		bCols = k
	}
	if lda < max(1, aCols) {
		panic(fmt.Sprintf("gemm: lda=%d < %d (A is %s, m=%d k=%d, transA=%v)", lda, max(1, aCols), shape(transA, m, k), m, k, transA))
	}
	if ldb < max(1, bCols) {
		panic(fmt.Sprintf("gemm: ldb=%d < %d (B is %s, k=%d n=%d, transB=%v)", ldb, max(1, bCols), shape(transB, k, n), k, n, transB))
	}
	if ldc < max(1, n) {
		panic(fmt.Sprintf("gemm: ldc=%d < %d (C is %d×%d)", ldc, max(1, n), m, n))
	}
}

func shape(trans bool, r, c int) string {
	if trans {
		return fmt.Sprintf("stored %d×%d (transposed)", c, r)
	}
	return fmt.Sprintf("stored %d×%d", r, c)
}

func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	checkDims(transA, transB, m, n, k, lda, ldb, ldc)
	aRows, aCols := m, k
	if transA {
		aRows, aCols = k, m
	}
	bRows, bCols := k, n
	if transB {
		bRows, bCols = n, k
	}
	if need := matLen(aRows, aCols, lda); len(a) < need {
		panic(fmt.Sprintf("gemm: len(a)=%d < %d needed for A %s with lda=%d (m=%d n=%d k=%d)", len(a), need, shape(transA, m, k), lda, m, n, k))
	}
	if need := matLen(bRows, bCols, ldb); len(b) < need {
		panic(fmt.Sprintf("gemm: len(b)=%d < %d needed for B %s with ldb=%d (m=%d n=%d k=%d)", len(b), need, shape(transB, k, n), ldb, m, n, k))
	}
	if need := matLen(m, n, ldc); len(c) < need {
		panic(fmt.Sprintf("gemm: len(c)=%d < %d needed for C %d×%d with ldc=%d (m=%d n=%d k=%d)", len(c), need, m, n, ldc, m, n, k))
	}
}

// scaleC sets C = beta*C (C = 0 when beta == 0, without reading C).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// fillBias copies bias[:n] into each of the m rows of C.
func fillBias(m, n int, bias, c []float32, ldc int) {
	bias = bias[:n]
	for i := 0; i < m; i++ {
		copy(c[i*ldc:i*ldc+n], bias)
	}
}
