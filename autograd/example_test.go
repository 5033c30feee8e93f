package autograd_test

import (
	"fmt"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/tensor"
)

// Fit y = 2x with one weight: record the loss, differentiate, step.
func Example() {
	w := tensor.FromSlice([]float64{0.5}, 1, 1).SetRequiresGrad(true)
	x := tensor.FromSlice([]float64{1, 2, 3}, 3, 1)
	y := tensor.FromSlice([]float64{2, 4, 6}, 3, 1)
	g := autograd.NewGraph[float64]()
	for range 20 {
		g.Reset()
		w.ZeroGrad()
		pred := g.MatMul(x, w, false, false)
		loss := g.Mean(g.Square(g.Sub(pred, y)))
		g.Backward(loss)
		w.Data[0] -= 0.1 * w.Grad[0]
	}
	fmt.Printf("w = %.4f\n", w.Data[0])
	// Output: w = 2.0000
}

func ExampleGradCheck() {
	x := tensor.FromSlice([]float64{0.3, -1.2, 2.0}, 3)
	err := autograd.GradCheck(func(g *autograd.Graph[float64]) *tensor.Tensor[float64] {
		return g.Sum(g.GELU(x))
	}, []*tensor.Tensor[float64]{x}, 1e-6, 1e-8, 1e-6)
	fmt.Println(err)
	// Output: <nil>
}
