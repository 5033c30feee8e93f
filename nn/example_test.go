package nn_test

import (
	"fmt"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/nn"
)

// Layers register their parameters, by name, in one arena.
func Example() {
	var ps nn.Params
	fc := nn.NewLinear(&ps, "fc", 3, 2, true, nn.OutIn)
	ln := nn.NewLayerNorm(&ps, "ln", 2, 1e-5)
	copy(fc.W.Data, []float32{1, 0, 0, 0, 1, 0})
	g := autograd.NewGraph[float32]()
	x := g.Constant([]float32{1, 2, 3}, 1, 3)
	y := ln.Forward(&nn.Pass{G: g}, fc.Forward(&nn.Pass{G: g}, x))
	for _, p := range ps.List() {
		fmt.Println(p.Name(), p.Shape())
	}
	fmt.Printf("%d parameters; y = %.3f\n", ps.Len(), y.Data)
	// Output:
	// fc.weight [2 3]
	// fc.bias [2]
	// ln.weight [2]
	// ln.bias [2]
	// 12 parameters; y = [-1.000 1.000]
}
