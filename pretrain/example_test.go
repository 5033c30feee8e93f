package pretrain_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tramlab/tram/internal/fixture"
	"github.com/tramlab/tram/pretrain"
)

// Pretrain the lm family's GPT-2 and its tokenizer for three steps on tiny
// stand-in data; the real run is `tram pretrain lm --out pretrained/lm`.
func ExampleRun() {
	dir, _ := os.MkdirTemp("", "pretrain")
	defer os.RemoveAll(dir)
	fixture.Write(filepath.Join(dir, "data"))
	out := filepath.Join(dir, "lm")
	res, err := pretrain.Run(context.Background(), "lm", pretrain.Options{Data: filepath.Join(dir, "data"), Out: out, Steps: 3, Batch: 2, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "CARD.md"} {
		_, err := os.Stat(filepath.Join(out, f))
		fmt.Println(f, err == nil)
	}
	fmt.Println("steps:", res.Steps, "held-out perplexity finite:", res.ValidPPL > 1)
	// Output:
	// config.json true
	// model.safetensors true
	// tokenizer.json true
	// CARD.md true
	// steps: 3 held-out perplexity finite: true
}
