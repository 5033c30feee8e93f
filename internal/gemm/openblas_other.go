//go:build !((linux || darwin || freebsd) && !android && (amd64 || arm64))

package gemm

import (
	"errors"
	"runtime"
)

func loadOpenBLAS() error {
	return errors.New("gemm: backend \"openblas\" unavailable: not supported on " + runtime.GOOS + "/" + runtime.GOARCH)
}

func openblasSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	return false
}

func openblasInfo() string { return "" }
