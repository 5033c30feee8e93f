//go:build !amd64 || purego

package gemm

// hasAsm is false: there is no assembly kernel for this architecture.
var hasAsm = false

func kernel6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32, bias *float32) {
	panic("gemm: assembly kernel not available on this architecture")
}

var hasAsm512 = false

func kernel6x32(kc int, a, b0, b1, c *float32, ldc int, alpha, beta float32, bias *float32) {
	panic("gemm: assembly kernel not available on this architecture")
}
