package xling

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/tramlab/tram/data"
)

// Load reads one split of a built GetText-X directory: "train", "dev", or
// "test-LANG" with LANG one of en, de, fr, es, it, ru, sv, zh_CN.
func Load(dir, split string) ([]Example, error) {
	name := split + ".jsonl"
	var out []Example
	err := data.ReadJSONL(filepath.Join(dir, name), func(line []byte) error {
		var e Example
		if err := json.Unmarshal(line, &e); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("xling: load %s: %w", split, err)
	}
	return out, nil
}

// A Pair is an aligned English msgid and its translation.
type Pair struct {
	En   string `json:"en"`
	Lang string `json:"lang"`
	Text string `json:"text"`
}

// LoadPairs reads pairs-train.jsonl.
func LoadPairs(dir string) ([]Pair, error) {
	var out []Pair
	err := data.ReadJSONL(filepath.Join(dir, "pairs-train.jsonl"), func(line []byte) error {
		var p Pair
		if err := json.Unmarshal(line, &p); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// A Doc is one unlabelled pretraining text.
type Doc struct {
	Text   string `json:"text"`
	Lang   string `json:"lang"`
	Source string `json:"source"` // man, fortunes, debian-reference or catalogues
}

// LoadPretrain reads pretrain.jsonl.
func LoadPretrain(dir string) ([]Doc, error) {
	var out []Doc
	err := data.ReadJSONL(filepath.Join(dir, "pretrain.jsonl"), func(line []byte) error {
		var d Doc
		if err := json.Unmarshal(line, &d); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

// ClassIndex returns the index of label in Classes, or -1.
func ClassIndex(label string) int {
	for i, c := range Classes {
		if c == label {
			return i
		}
	}
	return -1
}
