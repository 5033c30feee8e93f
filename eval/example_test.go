package eval_test

import (
	"fmt"

	"github.com/tramlab/tram/eval"
)

// Two representations of four examples: the second is the first rotated by
// 90° and doubled, so linear CKA is exactly 1; a third, unrelated one is not.
func ExampleCKA() {
	x := []float32{1, 0, 0, 1, -1, 0, 2, 3}
	y := []float32{0, 2, -2, 0, 0, -2, -6, 4} // rows (a, b) → (−2b, 2a)
	z := []float32{1, 1, 0, 0, 1, 0, 0, 1}
	fmt.Printf("rotated and scaled: %.6f\n", eval.CKA(x, 2, y, 2))
	fmt.Printf("unrelated: %.3f\n", eval.CKA(x, 2, z, 2))
	// Output:
	// rotated and scaled: 1.000000
	// unrelated: 0.733
}

// The 95% Wilson interval of 87 correct answers out of 100.
func ExampleWilson() {
	lo, hi := eval.Wilson(87, 100)
	fmt.Printf("87%% [%.1f%%, %.1f%%]\n", 100*lo, 100*hi)
	// Output: 87% [79.0%, 92.2%]
}
