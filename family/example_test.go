package family_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tramlab/tram/family"
)

// The family of a model directory comes from its config.json.
func ExampleDetect() {
	dir, _ := os.MkdirTemp("", "model")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "gpt2"}`), 0o644)
	fam, err := family.Detect(dir)
	fmt.Println(fam, err)
	// Output: lm <nil>
}
