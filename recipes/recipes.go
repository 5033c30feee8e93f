// Package recipes embeds the fine-tuning recipes of the three families
// (vision.yaml, lm.yaml, xling.yaml): YAML files whose keys are
// `tram finetune` flags. `tram finetune --config recipe:NAME` and
// `tram reproduce` read them from the binary, so they need no checkout.
package recipes

import (
	"embed"
	"fmt"
	"strings"
)

//go:embed *.yaml
var files embed.FS

// Read returns the recipe NAME (vision, lm or xling).
func Read(name string) ([]byte, error) {
	b, err := files.ReadFile(name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no recipe %q; recipes: %s", name, strings.Join(Names(), ", "))
	}
	return b, nil
}

// Names lists the embedded recipes.
func Names() []string {
	ents, _ := files.ReadDir(".")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return names
}
