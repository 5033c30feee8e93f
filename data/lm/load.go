package lm

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/tramlab/tram/data"
)

// Load reads the entries of one domain's split ("train", "valid", "test")
// from a built LM-Register directory.
func Load(dir, domain, split string) ([]Doc, error) {
	return load(filepath.Join(dir, domain, split+".jsonl"))
}

// LoadPretrain reads the general-English pretraining corpus.
func LoadPretrain(dir string) ([]Doc, error) {
	return load(filepath.Join(dir, "pretrain.jsonl"))
}

func load(path string) ([]Doc, error) {
	var out []Doc
	err := data.ReadJSONL(path, func(line []byte) error {
		var d Doc
		if err := json.Unmarshal(line, &d); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lm: %w", err)
	}
	return out, nil
}
