package finetune

import (
	"flag"
	"fmt"
	"os"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/tramlab/tram/recipes"
)

// applyConfig sets, from a YAML recipe, every flag of fs that the command
// line did not set (set names those; the recipe's keys are added to it, so
// they count as given). A key is a flag's name; the mapping "methods" holds
// one mapping per method name whose keys apply only when that method runs
// (e.g. methods: {sam: {rho: 0.05}}). An unknown key is an error naming the
// key and its line. Values are scalars, written as on the command line.
//
// FILE of the form recipe:NAME names a recipe embedded in the binary
// (package recipes).
func applyConfig(fs *flag.FlagSet, set map[string]bool, file string) error {
	var raw []byte
	var err error
	if name, ok := strings.CutPrefix(file, "recipe:"); ok {
		raw, err = recipes.Read(name)
	} else {
		raw, err = os.ReadFile(file)
	}
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("--config %s: %v", file, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("--config %s:%d: the recipe must be a mapping of flag names to values", file, root.Line)
	}
	given := map[string]bool{}
	for k := range set {
		given[k] = true
	}
	apply := func(key, value *yaml.Node) error {
		name := key.Value
		fl := fs.Lookup(name)
		if fl == nil || name == "config" {
			return fmt.Errorf("--config %s:%d: unknown key %q (keys are the flags of this command, and \"methods\")", file, key.Line, name)
		}
		if value.Kind != yaml.ScalarNode {
			return fmt.Errorf("--config %s:%d: the value of %q must be a scalar", file, value.Line, name)
		}
		if given[name] || given["train"] && builtinDataKey(name, value.Value, given["valid"]) {
			return nil // the command line wins
		}
		if err := fs.Set(name, value.Value); err != nil {
			return fmt.Errorf("--config %s:%d: %s: %v", file, value.Line, name, err)
		}
		set[name] = true
		return nil
	}
	var methods *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value == "methods" {
			if v.Kind != yaml.MappingNode {
				return fmt.Errorf("--config %s:%d: \"methods\" must map method names to their options", file, v.Line)
			}
			methods = v
			continue
		}
		if err := apply(k, v); err != nil {
			return err
		}
	}
	if methods == nil {
		return nil
	}
	method := ""
	if fl := fs.Lookup("method"); fl != nil {
		method = fl.Value.String()
	}
	for i := 0; i+1 < len(methods.Content); i += 2 {
		k, v := methods.Content[i], methods.Content[i+1]
		if v.Kind != yaml.MappingNode {
			return fmt.Errorf("--config %s:%d: the options of method %q must be a mapping", file, v.Line, k.Value)
		}
		// Every key is checked, but only the running method's are applied.
		for j := 0; j+1 < len(v.Content); j += 2 {
			key := v.Content[j]
			if fs.Lookup(key.Value) == nil || key.Value == "config" || key.Value == "method" {
				return fmt.Errorf("--config %s:%d: unknown key %q under methods.%s", file, key.Line, key.Value, k.Value)
			}
			if strings.EqualFold(k.Value, method) {
				if err := apply(key, v.Content[j+1]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// builtinDataKey reports whether a recipe key describes the built-in
// datasets rather than the training, so that a run on the user's own data
// (--train) skips it: --domain, --task, --data, --head pretrained-rows, and,
// without --valid, the validation schedule (--eval-every, --select).
func builtinDataKey(name, value string, valid bool) bool {
	switch name {
	case "domain", "task", "data":
		return true
	case "head":
		return value == "pretrained-rows"
	case "eval-every", "select":
		return !valid
	}
	return false
}
