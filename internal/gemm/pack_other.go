//go:build !amd64 || purego

package gemm

func packB16N(dst, src *float32, ldb, kc int)  { panic("gemm: no assembly packing here") }
func packB16T(dst, src *float32, ldb, kc8 int) { panic("gemm: no assembly packing here") }
func packA6T(dst, src *float32, lda, kc int)   { panic("gemm: no assembly packing here") }

func packA6N(dst, src *float32, lda, kc8 int) { panic("gemm: no assembly packing here") }
