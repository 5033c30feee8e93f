//go:build amd64 && !purego

package gemm

// Assembly packing helpers (pack_amd64.s); see pack.go for the layouts.

//go:noescape
func packB16N(dst, src *float32, ldb, kc int)

//go:noescape
func packB16T(dst, src *float32, ldb, kc8 int)

//go:noescape
func packA6T(dst, src *float32, lda, kc int)

//go:noescape
func packA6N(dst, src *float32, lda, kc8 int)
