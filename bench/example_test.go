package bench_test

import (
	"fmt"

	"github.com/tramlab/tram/bench"
)

// Time one workload × method the way `tram bench` does, and read off what a
// step of the method costs in forward and backward passes.
func Example() {
	r, err := bench.New("mlp", "sam")
	if err != nil {
		panic(err)
	}
	res, err := r.Time(0) // two warm-up steps, then the minimum of three timed steps
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s/%s: %d timed steps, %d forward and %d backward passes per step\n",
		res.Workload, res.Method, res.Steps, res.ForwardPasses, res.BackwardPasses)
	// Output:
	// mlp/sam: 3 timed steps, 2 forward and 2 backward passes per step
}
