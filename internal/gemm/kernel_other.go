//go:build !amd64 || purego

package gemm

// hasAsm is false: there is no assembly kernel for this architecture.
var hasAsm = false

func kernel6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32) {
	panic("gemm: assembly kernel not available on this architecture")
}
