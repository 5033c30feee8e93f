package tensor_test

import (
	"fmt"

	"github.com/tramlab/tram/tensor"
)

func ExampleParams() {
	var ps tensor.Params[float32]
	w := ps.Add("fc.weight", 2, 3)
	b := ps.Add("fc.bias", 3)
	w.Set(1.5, 0, 2)
	b.Data[1] = -1
	fmt.Println(ps.Len(), ps.Data)
	// Output: 9 [0 0 1.5 0 0 0 0 -1 0]
}

func ExampleTensor_At() {
	t := tensor.FromSlice([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	fmt.Println(t.Shape(), t.At(1, 0), t)
	// Output: [2 3] 4 Tensor[2 3] [1 2 3 4 5 6]
}
