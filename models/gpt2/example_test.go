package gpt2_test

import (
	"fmt"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/nn"
)

func Example() {
	m, err := gpt2.New(gpt2.Small(100, 16, 32, 2, 4), 1)
	if err != nil {
		panic(err)
	}
	ids := []int32{5, 17, 42, 8, 99, 3} // two sequences of three tokens
	g := autograd.NewGraph[float32]()
	targets := gpt2.ShiftTargets(nil, ids, 2, 3)
	logits, loss := m.LMLoss(&nn.Pass{G: g}, ids, 2, 3, targets)
	fmt.Println(logits.Shape(), targets, m.Params().List()[0].Name())
	fmt.Printf("loss ≈ ln(100): %v\n", loss.Item() > 4.4 && loss.Item() < 4.8)
	// Output:
	// [2 2 100] [17 42 99 3] wte.weight
	// loss ≈ ln(100): true
}
