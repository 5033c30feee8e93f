package train_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/sharp"
	"github.com/tramlab/tram/train"
)

// Fine-tune a small GPT-2 with TRAM-θ0 on token sequences read from JSONL.
func Example() {
	dir, _ := os.MkdirTemp("", "train")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "train.jsonl")
	os.WriteFile(path, []byte(`{"input_ids":[1,2,3,4]}`+"\n"+`{"input_ids":[4,3,2,1]}`+"\n"), 0o644)

	model, _ := gpt2.New(gpt2.Small(8, 4, 16, 1, 2), 1)
	data, err := train.ReadJSONL(path, model.Config.VocabSize)
	if err != nil {
		panic(err)
	}
	task := train.NewLMTask(model, data, 2, false, 0)
	method, _ := sharp.NewMethod("tram-theta0", sharp.DefaultOptions("tram-theta0"))
	opt := sharp.New(model, optim.NewAdamW(1e-2, 0), method, 0)
	var first, last sharp.Stats
	for step := 0; step < 30; step++ {
		task.Next()
		st, err := opt.Step(task)
		if err != nil {
			panic(err)
		}
		if step == 0 {
			first = st
		}
		last = st
	}
	fmt.Printf("%d sequences of %d tokens; d at step 1: %v; loss fell: %v; d grew: %v\n",
		data.N(), data.T, first.D, last.Loss < first.Loss, last.D > 0)
	// Output: 2 sequences of 4 tokens; d at step 1: 0; loss fell: true; d grew: true
}
