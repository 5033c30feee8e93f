package optim_test

import (
	"fmt"

	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/tensor"
)

// Minimize (θ − 3)² with SGD and momentum.
func ExampleSGD() {
	var ps tensor.Params[float32]
	theta := ps.Add("theta", 1)
	opt := optim.NewSGD(0.1, 0.5, 0)
	for range 50 {
		theta.Grad[0] = 2 * (theta.Data[0] - 3)
		opt.Step(&ps)
	}
	fmt.Printf("%.3f\n", theta.Data[0])
	// Output: 3.000
}
