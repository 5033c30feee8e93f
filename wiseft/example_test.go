package wiseft_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/wiseft"
)

// A pretrained encoder with a 3-class head, fine-tuned with a new 2-class
// head, mixed halfway.
func Example() {
	root, _ := os.MkdirTemp("", "wiseft")
	defer os.RemoveAll(root)
	save := func(name string, head []float32, enc ...float32) string {
		dir := filepath.Join(root, name)
		os.Mkdir(dir, 0o755)
		err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), []checkpoint.Tensor{
			{Name: "encoder.weight", Shape: []int{2, 2}, Data: enc},
			{Name: "head.weight", Shape: []int{len(head) / 2, 2}, Data: head},
		}, map[string]string{"format": "pt"})
		if err != nil {
			panic(err)
		}
		if err := checkpoint.WriteJSON(filepath.Join(dir, "config.json"), map[string]int{"num_labels": len(head) / 2}); err != nil {
			panic(err)
		}
		return dir
	}
	pre := save("pretrained", []float32{0, 0, 0, 0, 0, 0}, 1, 2, 3, 4)
	tuned := save("tuned", []float32{5, 6, 7, 8}, 3, 2, 1, 0)

	res, err := wiseft.Interpolate(pre, tuned, filepath.Join(root, "wise-0.5"), 0.5)
	if err != nil {
		panic(err)
	}
	fmt.Println("interpolated:", res.Interpolated)
	for _, t := range res.FromTuned {
		fmt.Println("from the tuned model:", t)
	}
	fmt.Println("copied:", res.Copied)
	w, _ := checkpoint.ReadAll(filepath.Join(root, "wise-0.5", "model.safetensors"))
	fmt.Println(w["encoder.weight"], w["head.weight"])
	// Output:
	// interpolated: [encoder.weight]
	// from the tuned model: head.weight: shape [2 2] differs from the pretrained model's [3 2]
	// copied: [config.json]
	// [2 2 2 2] [5 6 7 8]
}
