package grid

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/tramlab/tram/sharp"
)

// A study file is a Grid written in YAML (docs/STUDIES.md is the format's
// reference, with a worked example):
//
//	name: my-study
//	family: lm                    # vision, lm or xling
//	recipe: lm                    # an embedded recipe, or a recipe file
//	model: pretrained/lm          # default pretrained/FAMILY
//	base: adamw                   # the base optimizer's row
//	seeds: 5                      # evaluation seeds 1…N
//	train_domains: [tech]
//	flags: {steps: "720"}         # tram finetune flags for every run
//	regimes:                      # named sets of flags over the study's
//	  - {name: long, flags: {lr: "3e-4", warmup: "72"}}
//	tuning: {seeds: [101, 102]}   # tuning seeds, disjoint from 1…N
//	wise_ft: [0.25, 0.5, 0.75]    # WiSE-FT points of every base run
//	equivalence: {perplexity_fraction: 0.01}
//	data:                         # your own data instead of the family's
//	  train: data/train.csv       # (paths relative to the study file)
//	  valid: data/valid.csv
//	  tests: {news: data/news.csv, forum: data/forum.csv}
//	rows:
//	  - {name: zero-shot, kind: zeroshot, method: adamw}
//	  - {name: adamw, tune: {lr: ["1e-3", "3e-4", "1e-4"]}}
//	  - {name: l2sp, tune: {lambda: ["0.1", "0.01", "0.001"]}}
//
// ParseStudy and LoadStudy read one and check it before any run: an
// unknown key, a wrong type or an invalid value is an error naming the
// file, the line and the key.

//go:embed studies/*.yaml
var embedded embed.FS

// Families are the paper's three studies, embedded in the binary
// (grid/studies/FAMILY.yaml): what `tram reproduce FAMILY` runs.
var Families = func() map[string]*Grid {
	m := map[string]*Grid{}
	for _, fam := range []string{"vision", "lm", "xling"} {
		raw, err := embedded.ReadFile("studies/" + fam + ".yaml")
		if err != nil {
			panic(err)
		}
		g, err := ParseStudy("studies/"+fam+".yaml", raw)
		if err != nil {
			panic(err) // a broken embedded study is a programmer error (tested)
		}
		m[fam] = g
	}
	return m
}()

// Regime is a named set of `tram finetune` flags layered over a study's
// flags and under each row's: one regime of fine-tuning (steps, learning
// rate, schedule, warm-up, …).
type Regime struct {
	Name  string            `json:"name" yaml:"name"`
	About string            `json:"about,omitempty" yaml:"about"`
	Flags map[string]string `json:"flags,omitempty" yaml:"flags"`
}

// Tuning says how a study tunes its rows (see Row.Tune): every candidate
// of every tuned row runs once per tuning seed, and the candidate with the
// lowest mean validation loss on the training domain (never an
// out-of-domain score) is the one the evaluation seeds run.
type Tuning struct {
	// Seeds are the tuning seeds, disjoint from the evaluation seeds.
	Seeds []int `json:"seeds" yaml:"seeds"`
}

// familyMetric is each family's metric.
var familyMetric = map[string]string{"vision": "accuracy", "lm": "perplexity", "xling": "accuracy"}

// reservedFlags are set by tram reproduce itself, never by a study.
var reservedFlags = []string{"method", "model", "data", "out", "log", "seed", "config", "save-every", "domain"}

// DataFlags are the `tram finetune` flags of the user's own data: a study
// gives them with its data: key (UserData.Flags), never as flags.
var DataFlags = []string{"train", "valid", "test", "text-column", "text-pair-column", "label-column", "block-size"}

// studyYAML is the file's shape.
type studyYAML struct {
	Name         string            `yaml:"name"`
	Family       string            `yaml:"family"`
	Recipe       string            `yaml:"recipe"`
	Model        string            `yaml:"model"`
	Base         string            `yaml:"base"`
	Seeds        int               `yaml:"seeds"`
	TrainDomains []string          `yaml:"train_domains"`
	Flags        map[string]string `yaml:"flags"`
	Checkpoints  []float64         `yaml:"checkpoints"`
	Eval         struct {
		MaxExamples   int  `yaml:"max_examples"`
		MaxTokens     int  `yaml:"max_tokens"`
		CKA           bool `yaml:"cka"`
		CKAExamples   int  `yaml:"cka_examples"`
		Sharpness     bool `yaml:"sharpness"`
		SharpExamples int  `yaml:"sharp_examples"`
		SharpSteps    int  `yaml:"sharp_steps"`
	} `yaml:"eval"`
	Equivalence struct {
		Accuracy   float64 `yaml:"accuracy_points"`
		Perplexity float64 `yaml:"perplexity_fraction"`
	} `yaml:"equivalence"`
	Regimes []Regime  `yaml:"regimes"`
	Tuning  *Tuning   `yaml:"tuning"`
	WiseFT  []float64 `yaml:"wise_ft"`
	Data    *dataYAML `yaml:"data"`
	Rows    []struct {
		Name   string              `yaml:"name"`
		Method string              `yaml:"method"`
		Kind   string              `yaml:"kind"`
		About  string              `yaml:"about"`
		Flags  map[string]string   `yaml:"flags"`
		Tune   map[string][]string `yaml:"tune"`
	} `yaml:"rows"`
}

// dataYAML is the shape of a study file's data: key. Tests is a mapping
// NAME: PATH read as a node, to keep the file's order.
type dataYAML struct {
	Train          string    `yaml:"train"`
	Valid          string    `yaml:"valid"`
	Tests          yaml.Node `yaml:"tests"`
	TextColumn     string    `yaml:"text_column"`
	TextPairColumn string    `yaml:"text_pair_column"`
	LabelColumn    string    `yaml:"label_column"`
	BlockSize      int       `yaml:"block_size"`
}

// LoadStudy reads and checks a study file.
func LoadStudy(path string) (*Grid, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseStudy(path, raw)
}

var (
	yamlLine  = regexp.MustCompile(`^yaml: (?:unmarshal errors:\n\s*)?line (\d+): (.*)`)
	yamlField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	safeName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+=:-]*$`)
)

// ParseStudy reads a study from raw (file names it in errors) and checks
// it: structure, families, methods, kinds, row names, flags reserved for
// tram reproduce, tuning budgets and seeds, WiSE-FT points.
func ParseStudy(file string, raw []byte) (*Grid, error) {
	var y studyYAML
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&y); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty study file", file)
		}
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			if f := yamlField.FindStringSubmatch(m[2]); f != nil {
				m[2] = fmt.Sprintf("unknown key %q (docs/STUDIES.md lists the keys)", f[1])
			}
			return nil, fmt.Errorf("%s:%s: %s", file, m[1], m[2])
		}
		return nil, fmt.Errorf("%s: %s", file, strings.TrimPrefix(msg, "yaml: "))
	}
	var doc yaml.Node
	_ = yaml.Unmarshal(raw, &doc)
	at := func(path ...any) string { return fmt.Sprintf("%s:%d", file, nodeLine(&doc, path...)) }

	g := &Grid{Name: y.Name, Family: y.Family, Recipe: y.Recipe, Model: y.Model, Base: y.Base, Seeds: y.Seeds,
		Domains: y.TrainDomains, Flags: y.Flags, Checkpoints: y.Checkpoints, Metric: familyMetric[y.Family],
		Eval: Eval{MaxExamples: y.Eval.MaxExamples, MaxTokens: y.Eval.MaxTokens, CKA: y.Eval.CKA, CKAExamples: y.Eval.CKAExamples,
			Sharpness: y.Eval.Sharpness, SharpExamples: y.Eval.SharpExamples, SharpSteps: y.Eval.SharpSteps},
		Equivalence: Equivalence{Accuracy: y.Equivalence.Accuracy, Perplexity: y.Equivalence.Perplexity},
		Regimes:     y.Regimes, Tuning: y.Tuning, WiseFT: y.WiseFT, Source: file}
	switch {
	case g.Family == "":
		return nil, fmt.Errorf("%s: family: missing (vision, lm or xling)", at())
	case g.Metric == "":
		return nil, fmt.Errorf("%s: family: unknown family %q (vision, lm or xling)", at("family"), g.Family)
	case g.Seeds < 1:
		return nil, fmt.Errorf("%s: seeds: the number of evaluation seeds must be ≥ 1 (got %d)", at("seeds"), g.Seeds)
	case len(y.Rows) == 0:
		return nil, fmt.Errorf("%s: rows: a study needs at least one row", at())
	}
	if g.Name == "" {
		g.Name = g.Family
	}
	hasData := y.Data != nil || hasKey(&doc, "data")
	switch {
	case g.Recipe == "" && !hasData:
		g.Recipe = g.Family
	}
	if hasData {
		if err := g.parseData(y.Data, &doc, at); err != nil {
			return nil, err
		}
	}
	if err := checkFlags(g.Flags, at("flags"), "flags"); err != nil {
		return nil, err
	}
	if g.Eval.MaxExamples < 0 || g.Eval.MaxTokens < 0 || g.Eval.CKAExamples < 0 || g.Eval.SharpExamples < 0 || g.Eval.SharpSteps < 0 {
		return nil, fmt.Errorf("%s: eval: counts must be ≥ 0", at("eval"))
	}
	if g.Equivalence.Accuracy < 0 || g.Equivalence.Perplexity < 0 {
		return nil, fmt.Errorf("%s: equivalence: margins must be > 0 (or left out for the defaults)", at("equivalence"))
	}
	for i, c := range g.Checkpoints {
		if !(c > 0 && c < 1) {
			return nil, fmt.Errorf("%s: checkpoints: %v is not a fraction of the steps in (0, 1)", at("checkpoints", i), c)
		}
	}
	for i, a := range g.WiseFT {
		if !(a > 0 && a < 1) {
			return nil, fmt.Errorf("%s: wise_ft: α = %v is not in (0, 1) (α 0 is the pretrained model, 1 the fine-tuned one)", at("wise_ft", i), a)
		}
	}
	seenRegime := map[string]bool{}
	for i, r := range g.Regimes {
		switch {
		case !safeName.MatchString(r.Name) || strings.Contains(r.Name, ":"):
			return nil, fmt.Errorf("%s: regimes[%d].name: %q is not a valid name (letters, digits, . _ + = -)", at("regimes", i), i, r.Name)
		case seenRegime[r.Name]:
			return nil, fmt.Errorf("%s: regimes[%d].name: regime %q twice", at("regimes", i), i, r.Name)
		}
		seenRegime[r.Name] = true
		if err := checkFlags(r.Flags, at("regimes", i, "flags"), fmt.Sprintf("regimes[%d].flags", i)); err != nil {
			return nil, err
		}
	}
	if t := g.Tuning; t != nil {
		if len(t.Seeds) == 0 {
			return nil, fmt.Errorf("%s: tuning.seeds: list the tuning seeds (disjoint from the evaluation seeds 1…%d)", at("tuning"), g.Seeds)
		}
		for i, s := range t.Seeds {
			if s >= 1 && s <= g.Seeds || s < 1 || slices.Index(t.Seeds, s) != i {
				return nil, fmt.Errorf("%s: tuning.seeds: seed %d must be ≥ 1, listed once, and not an evaluation seed (1…%d)", at("tuning", "seeds", i), s, g.Seeds)
			}
		}
	}
	trials := 0
	for i, yr := range y.Rows {
		where := at("rows", i)
		method, _, _ := strings.Cut(yr.Name, ":")
		r := Row{Name: yr.Name, Method: yr.Method, Kind: yr.Kind, About: yr.About, Flags: yr.Flags, Tune: yr.Tune}
		if r.Method == "" {
			r.Method = method
		}
		if r.Kind == "" {
			r.Kind = Main
		}
		switch {
		case !safeName.MatchString(r.Name):
			return nil, fmt.Errorf("%s: rows[%d].name: %q is not a valid row name", where, i, r.Name)
		case slices.ContainsFunc(g.Rows, func(o Row) bool { return o.Name == r.Name }):
			return nil, fmt.Errorf("%s: rows[%d].name: row %q twice", where, i, r.Name)
		case !slices.Contains(sharp.MethodNames, r.Method):
			return nil, fmt.Errorf("%s: rows[%d].method: unknown method %q; valid: %s", where, i, r.Method, strings.Join(sharp.MethodNames, ", "))
		case !slices.Contains([]string{ZeroShot, Main, Frontier, Ablation}, r.Kind):
			return nil, fmt.Errorf("%s: rows[%d].kind: %q; valid: %s, %s, %s, %s", where, i, r.Kind, ZeroShot, Main, Frontier, Ablation)
		}
		if err := checkFlags(r.Flags, where, fmt.Sprintf("rows[%d].flags", i)); err != nil {
			return nil, err
		}
		if r.Kind == ZeroShot {
			if len(r.Tune) > 0 {
				return nil, fmt.Errorf("%s: rows[%d].tune: a zero-shot row takes no step, so it has nothing to tune", where, i)
			}
			r.Flags = maps.Clone(r.Flags)
			if r.Flags == nil {
				r.Flags = map[string]string{}
			}
			for j := 0; j+1 < len(zeroShotFlags); j += 2 {
				if v, ok := r.Flags[zeroShotFlags[j]]; ok && v != zeroShotFlags[j+1] {
					return nil, fmt.Errorf("%s: rows[%d].flags: a zero-shot row runs with --%s %s (got %q)", where, i, zeroShotFlags[j], zeroShotFlags[j+1], v)
				}
				r.Flags[zeroShotFlags[j]] = zeroShotFlags[j+1]
			}
		}
		if len(r.Tune) > 0 {
			if g.Tuning == nil {
				return nil, fmt.Errorf("%s: rows[%d].tune: the study has no tuning section (tuning: {seeds: [...]})", where, i)
			}
			n := 1
			for _, k := range slices.Sorted(maps.Keys(r.Tune)) {
				if slices.Contains(reservedFlags, k) {
					return nil, fmt.Errorf("%s: rows[%d].tune: --%s is set by tram reproduce itself", where, i, k)
				}
				if slices.Contains(DataFlags, k) {
					return nil, fmt.Errorf("%s: rows[%d].tune: --%s comes from the study's data: key", where, i, k)
				}
				if len(r.Tune[k]) == 0 || len(r.Tune[k]) != len(slicesCompact(r.Tune[k])) {
					return nil, fmt.Errorf("%s: rows[%d].tune.%s: list distinct candidate values", where, i, k)
				}
				if _, ok := r.Flags[k]; ok {
					return nil, fmt.Errorf("%s: rows[%d]: %s is both a flag and tuned", where, i, k)
				}
				n *= len(r.Tune[k])
			}
			if trials == 0 {
				trials = n
			} else if n != trials {
				return nil, fmt.Errorf("%s: rows[%d].tune: %d trials, and the rows tuned before it have %d: every tuned row gets the same budget", where, i, n, trials)
			}
		}
		g.Rows = append(g.Rows, r)
		if g.rowLines == nil {
			g.rowLines = map[string]int{}
		}
		g.rowLines[r.Name] = nodeLine(&doc, "rows", i)
	}
	if _, ok := g.Row(g.Base); !ok {
		return nil, fmt.Errorf("%s: base: no row named %q (the base optimizer's row)", at("base"), g.Base)
	}
	return g, nil
}

func slicesCompact(v []string) []string {
	c := slices.Clone(v)
	sort.Strings(c)
	return slices.Compact(c)
}

// checkFlags refuses the flags tram reproduce sets itself and those of the
// study's own data.
func checkFlags(flags map[string]string, where, what string) error {
	for _, k := range slices.Sorted(maps.Keys(flags)) {
		if slices.Contains(reservedFlags, k) {
			return fmt.Errorf("%s: %s: --%s is set by tram reproduce itself (rows, --model, --data, --out, seeds, train_domains)", where, what, k)
		}
		if slices.Contains(DataFlags, k) {
			return fmt.Errorf("%s: %s: --%s describes your own data: give it in the study's data: key (train, valid, tests, text_column, text_pair_column, label_column, block_size; docs/STUDIES.md)", where, what, k)
		}
	}
	return nil
}

// parseData checks a study's data: key and sets g.UserData, with paths
// resolved against the study file's directory, and the lines of its keys.
// The files are not opened here: tram reproduce checks they exist.
func (g *Grid) parseData(y *dataYAML, doc *yaml.Node, at func(path ...any) string) error {
	if y == nil {
		return fmt.Errorf("%s: data: give the training set and the test sets (train: FILE|DIR, tests: {NAME: PATH, …})", at("data"))
	}
	dir := filepath.Dir(g.Source)
	resolve := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	u := &UserData{Train: resolve(y.Train), Valid: resolve(y.Valid), TextColumn: y.TextColumn, TextPairColumn: y.TextPairColumn,
		LabelColumn: y.LabelColumn, BlockSize: y.BlockSize}
	g.dataLines = map[string]int{"data": nodeLine(doc, "data")}
	for _, k := range []string{"train", "valid", "tests"} {
		if hasKey(doc, "data", k) {
			g.dataLines["data."+k] = nodeLine(doc, "data", k)
		}
	}
	if u.Train == "" {
		return fmt.Errorf("%s: data.train: missing: the training set (a file or folder; relative paths are relative to the study file)", at("data"))
	}
	t := &y.Tests
	switch {
	case t.Kind == 0:
		return fmt.Errorf("%s: data.tests: missing: name at least one test set, NAME: PATH (one of them the in-domain one, named in train_domains)", at("data"))
	case t.Kind != yaml.MappingNode || len(t.Content) == 0:
		return fmt.Errorf("%s: data.tests: a mapping of test-set names to paths, NAME: PATH, at least one", at("data", "tests"))
	}
	var names []string
	for i := 0; i+1 < len(t.Content); i += 2 {
		k, v := t.Content[i], t.Content[i+1]
		where := fmt.Sprintf("%s:%d", g.Source, k.Line)
		switch {
		case k.Kind != yaml.ScalarNode || !safeName.MatchString(k.Value) || strings.Contains(k.Value, ":"):
			return fmt.Errorf("%s: data.tests: %q is not a valid test-set name (letters, digits, . _ + = -)", where, k.Value)
		case slices.Contains(names, k.Value):
			return fmt.Errorf("%s: data.tests: test set %q twice", where, k.Value)
		case v.Kind != yaml.ScalarNode || v.Value == "" || v.Tag == "!!null":
			return fmt.Errorf("%s: data.tests.%s: the test set's path (a file or folder)", where, k.Value)
		}
		names = append(names, k.Value)
		u.Tests = append(u.Tests, TestSet{Name: k.Value, Path: resolve(v.Value)})
		g.dataLines["data.tests."+k.Value] = k.Line
	}
	if u.BlockSize < 0 {
		return fmt.Errorf("%s: data.block_size: must be ≥ 0 (0: the model's n_positions; got %d)", at("data", "block_size"), u.BlockSize)
	}
	var refused []string
	switch g.Family {
	case "vision":
		refused = []string{"text_column", "text_pair_column", "label_column", "block_size"}
	case "lm":
		refused = []string{"text_pair_column", "label_column"}
	case "xling":
		refused = []string{"block_size"}
	}
	for _, k := range refused {
		if hasKey(doc, "data", k) {
			what := map[string]string{"vision": "image folders, the class being the folder's name",
				"lm": "texts without labels", "xling": "labelled texts, one example each"}[g.Family]
			return fmt.Errorf("%s: data.%s: a %s study's data are %s: %s does not apply", at("data", k), k, g.Family, what, k)
		}
	}
	if len(g.Domains) != 1 || !slices.Contains(names, g.Domains[0]) {
		where := at("train_domains")
		if !hasKey(doc, "train_domains") {
			where = at("data")
		}
		return fmt.Errorf("%s: train_domains: with data:, name the one test set drawn like the training data (the in-domain one; the others are out of domain): one of %s",
			where, strings.Join(names, ", "))
	}
	if g.Tuning != nil && u.Valid == "" {
		return fmt.Errorf("%s: tuning: tuned rows are chosen on the validation loss: give data.valid (a validation set)", at("tuning"))
	}
	g.UserData = u
	return nil
}

// hasKey reports whether the mapping at path in a YAML document has key
// (the last element of path).
func hasKey(doc *yaml.Node, path ...string) bool {
	if len(doc.Content) == 0 {
		return false
	}
	n := doc.Content[0]
	for _, p := range path {
		if n.Kind != yaml.MappingNode {
			return false
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == p {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return false
		}
		n = next
	}
	return true
}

// nodeLine returns the line of the node at path (mapping keys as strings,
// sequence indices as ints) in a YAML document, or of the deepest node
// found on the way; 1 for an empty document.
func nodeLine(doc *yaml.Node, path ...any) int {
	if len(doc.Content) == 0 {
		return 1
	}
	n := doc.Content[0]
	line := n.Line
	for _, p := range path {
		var next *yaml.Node
		switch k := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						next = n.Content[i+1]
						line = n.Content[i].Line
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				next = n.Content[k]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

// TuneTrials lists a tuned row's candidates: every combination of its
// Tune values, as flags, in a fixed order (keys sorted, the first key
// slowest); nil for a row without Tune.
func (r Row) TuneTrials() []map[string]string {
	if len(r.Tune) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(r.Tune))
	out := []map[string]string{{}}
	for _, k := range keys {
		var next []map[string]string
		for _, t := range out {
			for _, v := range r.Tune[k] {
				c := maps.Clone(t)
				c[k] = v
				next = append(next, c)
			}
		}
		out = next
	}
	return out
}

// TrialName names a candidate: the row, then each tuned flag=value.
func (r Row) TrialName(trial map[string]string) string {
	name := r.Name
	for _, k := range slices.Sorted(maps.Keys(trial)) {
		name += ":" + k + "=" + trial[k]
	}
	return name
}

// IsWiseFT reports whether a row name is a WiSE-FT point of the base row
// ("wise-ft:alpha=0.5"), and returns α.
func IsWiseFT(row string) (alpha float64, ok bool) {
	v, ok := strings.CutPrefix(row, "wise-ft:alpha=")
	if !ok {
		return 0, false
	}
	if _, err := fmt.Sscan(v, &alpha); err != nil || math.IsNaN(alpha) {
		return 0, false
	}
	return alpha, true
}
