package gemm_test

import (
	"fmt"

	"github.com/tramlab/tram/internal/gemm"
)

func ExampleSgemm() {
	// A is 2×3, B is 3×2, both row-major; C = A·B.
	a := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	b := []float32{
		7, 8,
		9, 10,
		11, 12,
	}
	c := make([]float32, 2*2)
	gemm.Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	fmt.Println(c)

	// C = Aᵀ·A (3×3) without forming Aᵀ: op(A) = Aᵀ is 3×2, lda stays 3.
	g := make([]float32, 3*3)
	gemm.Sgemm(true, false, 3, 3, 2, 1, a, 3, a, 3, 0, g, 3)
	fmt.Println(g)
	// Output:
	// [58 64 139 154]
	// [17 22 27 22 29 36 27 36 45]
}

func ExampleSgemmBias() {
	// A linear layer: Y = X·W + bias, X is 2×3, W is 3×2, bias has 2 entries.
	x := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	w := []float32{
		7, 8,
		9, 10,
		11, 12,
	}
	bias := []float32{0.5, -1}
	y := make([]float32, 2*2) // only written: no need to clear it
	gemm.SgemmBias(false, false, 2, 2, 3, 1, x, 3, w, 2, bias, y, 2)
	fmt.Println(y)
	// Output:
	// [58.5 63 139.5 153]
}
