package finetune_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tramlab/tram/family"
	"github.com/tramlab/tram/finetune"
	"github.com/tramlab/tram/internal/fixture"
	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/pretrain"
	"github.com/tramlab/tram/sharp"
)

// Fine-tune a (briefly) pretrained CNN on one digit domain with TRAM-θ0,
// validating every two steps and keeping the best checkpoint.
func ExampleRun() {
	dir, _ := os.MkdirTemp("", "finetune")
	defer os.RemoveAll(dir)
	data, pre := filepath.Join(dir, "data"), filepath.Join(dir, "pretrained")
	fixture.Write(data) // tiny stand-ins for `tram data build`
	pretrain.Run(context.Background(), "vision", pretrain.Options{Data: data, Out: pre, Steps: 2, Batch: 8})

	setup, err := family.Open(pre, family.Options{Data: data, Domain: "script", Batch: 8, Seed: 1, Head: "pretrained-rows"})
	if err != nil {
		fmt.Println(err)
		return
	}
	method, _ := sharp.NewMethod("tram-theta0", sharp.DefaultOptions("tram-theta0"))
	res, err := finetune.Run(context.Background(), finetune.Config{Setup: setup, Method: method,
		Base: optim.NewSGD(0.05, 0.9, 0), Steps: 4, Seed: 1, EvalEvery: 2, Select: "best"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(res.Evals), "validations; kept step", res.Kept == 2 || res.Kept == 4)
	// Output: 2 validations; kept step true
}
