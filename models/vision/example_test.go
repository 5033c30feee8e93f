package vision_test

import (
	"fmt"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/models/vision"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/tensor"
)

func Example() {
	m, err := vision.New(vision.Config{ModelType: "tram-resnet", NumClasses: 10, Widths: []int{8, 16, 32}}, 1)
	if err != nil {
		panic(err)
	}
	x := tensor.Randn[float32](tensor.NewRNG(1), 1, 2, 1, 28, 28)
	logits := m.Logits(&nn.Pass{G: autograd.NewGraph[float32](), Train: true}, x)
	fmt.Println(logits.Shape(), len(m.Buffers().List()), "buffers")
	// Output: [2 10] 27 buffers
}
