package vit_test

import (
	"fmt"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/models/vit"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/tensor"
)

func Example() {
	cfg := vit.Config{ModelType: "vit", HiddenSize: 16, NumLayers: 2, NumHeads: 2, IntermediateSize: 32,
		HiddenAct: "gelu", ImageSize: 8, PatchSize: 4, NumChannels: 3, ID2Label: vit.Labels(10)}
	m, err := vit.New(cfg, 1)
	if err != nil {
		panic(err)
	}
	x := tensor.New[float32](2, 3, 8, 8) // two black 8×8 RGB images
	logits := m.Logits(&nn.Pass{G: autograd.NewGraph[float32]()}, x)
	fmt.Println(logits.Shape(), cfg.NumPatches(), "patches")
	fmt.Println(m.FileName("embeddings.cls_token"), m.FileName("classifier.weight"))
	// Output:
	// [2 10] 4 patches
	// vit.embeddings.cls_token classifier.weight
}
