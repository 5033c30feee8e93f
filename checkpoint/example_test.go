package checkpoint_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tramlab/tram/checkpoint"
)

func Example() {
	dir, _ := os.MkdirTemp("", "ckpt")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")
	err := checkpoint.WriteSafetensors(path, []checkpoint.Tensor{
		{Name: "fc.weight", Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}},
	}, map[string]string{"format": "pt"})
	if err != nil {
		panic(err)
	}
	sf, err := checkpoint.Open(path)
	if err != nil {
		panic(err)
	}
	defer sf.Close()
	w := make([]float32, 4)
	_, err = sf.LoadInto([]checkpoint.Expected{{Names: []string{"fc.weight"}, Shape: []int{2, 2}, Dst: w}}, nil)
	fmt.Println(sf.Names(), sf.Tensors["fc.weight"].DType, w, err)
	// Output: [fc.weight] F32 [1 2 3 4] <nil>
}
