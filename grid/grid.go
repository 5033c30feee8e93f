// Package grid defines the studies `tram reproduce` runs — rows (a method
// and its settings, on top of a family's recipe) × regimes × training
// domains × seeds, with tuning, zero-shot rows and WiSE-FT points — as
// YAML study files (ParseStudy; the paper's three are embedded, see
// Families); the record one run writes; and the statistics over seeds
// (means, 95% intervals, paired tests, equivalence tests with Holm's
// adjustment, the frontier, regressions) that the reports are made of.
//
// A row is a set of `tram finetune` flags layered over the recipe, so every
// run of a study is one fine-tuning run anyone can repeat alone. For a
// seed, every row sees the same data order, the same new head
// initialization and the same evaluation examples: comparisons are paired
// by seed.
package grid

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Kinds of rows.
const (
	ZeroShot = "zeroshot" // the starting model, not fine-tuned (the paper's first row)
	Main     = "main"     // a row of the paper's table
	Frontier = "frontier" // the plain optimizer at a lower learning rate
	Ablation = "ablation" // a variant that answers one question
)

// Row is one line of a grid's table: a method with settings.
type Row struct {
	// Name identifies the row: the method, then ":variant" for a variant
	// (tram-x:l2, sgd:lr=0.01, tram-theta0:newhead).
	Name string `json:"name"`
	// Method is the `tram finetune --method`.
	Method string `json:"method"`
	// Flags are `tram finetune` flags set on top of the recipe.
	Flags map[string]string `json:"flags,omitempty"`
	Kind  string            `json:"kind"`
	// About says in a few words what the row is for.
	About string `json:"about"`
	// Tune lists candidate values of flags to tune (lr, rho, sigma, …):
	// every combination is a trial, run at the study's tuning seeds, and
	// the evaluation seeds run the one with the lowest validation loss on
	// the training domain (see Tuning).
	Tune map[string][]string `json:"tune,omitempty"`
}

// Grid is one study: a family's experiment (the Go form of a study file).
type Grid struct {
	// Name names the study (default: the family).
	Name   string `json:"name,omitempty"`
	Family string `json:"family"`
	// Recipe names the embedded recipe (recipes/NAME.yaml), or a recipe
	// file when it ends in .yaml.
	Recipe string `json:"recipe"`
	// Model is the pretrained model directory (default pretrained/FAMILY).
	Model string `json:"model,omitempty"`
	// Domains are the training domains (one run per row, seed and
	// domain); "" is the recipe's. With UserData, the one test set that is
	// in-domain.
	Domains []string `json:"train_domains"`
	Rows    []Row    `json:"rows"`
	// Flags are `tram finetune` flags set for every run, on top of the
	// recipe and under each row's own.
	Flags map[string]string `json:"flags,omitempty"`
	// Seeds is the default number of seeds (numbered from 1).
	Seeds int `json:"seeds"`
	// Base is the plain optimizer's row (sgd or adamw): the baseline and
	// the frontier's anchor.
	Base string `json:"base"`
	// Metric is "accuracy" (higher is better) or "perplexity" (lower).
	Metric string `json:"metric"`
	// Eval configures the evaluation of every run.
	Eval Eval `json:"eval"`
	// Checkpoints are the fractions of the steps at which the base row's
	// parameters are evaluated as well (points of the frontier).
	Checkpoints []float64 `json:"checkpoints,omitempty"`
	// Equivalence holds the margins of the reports' equivalence tests
	// (zero: the defaults).
	Equivalence Equivalence `json:"equivalence,omitempty"`
	// Regimes are named sets of flags over Flags (none: one regime, the
	// study's flags as they are).
	Regimes []Regime `json:"regimes,omitempty"`
	// Tuning configures the tuning of the rows that have Tune.
	Tuning *Tuning `json:"tuning,omitempty"`
	// WiseFT are the α of the WiSE-FT points evaluated for every base run:
	// (1−α)·θ0 + α·θ_ft, rows "wise-ft:alpha=α" in the summary.
	WiseFT []float64 `json:"wise_ft,omitempty"`
	// Source is the study file it was read from.
	Source string `json:"source,omitempty"`
	// UserData, when set, is the study's own data (the study file's data:
	// key): every run fine-tunes on its training set instead of a family's
	// built-in domain and is evaluated on its test sets, which are then the
	// report's domains. Domains is the one test set drawn like the training
	// data (the in-domain one); it names the training set in run IDs.
	UserData *UserData `json:"user_data,omitempty"`
	// rowLines are the lines of the rows in Source (ParseStudy); dataLines
	// those of the data: keys ("data", "data.train", "data.tests.NAME", …).
	rowLines, dataLines map[string]int
}

// UserData are a study's own data sets (see docs/DATA-YOURS.md for the
// formats): labelled texts, image folders or text files, as the family's
// model takes them. Paths are relative to the working directory
// (ParseStudy resolves a study file's against the file's directory).
type UserData struct {
	// Train is the training set (tram finetune --train), Valid the
	// validation set (--valid; what --eval-every, --select best and tuning
	// measure), "" for none.
	Train string `json:"train"`
	Valid string `json:"valid,omitempty"`
	// Tests are the test sets in the study file's order: the report's
	// domains.
	Tests []TestSet `json:"tests"`
	// TextColumn, TextPairColumn and LabelColumn name the fields of
	// labelled texts ("": tram finetune's defaults); BlockSize is a
	// language model's training block length (0: n_positions).
	TextColumn     string `json:"text_column,omitempty"`
	TextPairColumn string `json:"text_pair_column,omitempty"`
	LabelColumn    string `json:"label_column,omitempty"`
	BlockSize      int    `json:"block_size,omitempty"`
}

// TestSet is one named test set of a study's own data.
type TestSet struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// Flags returns the `tram finetune` flags that point a run at the data:
// --train, --valid, the column flags and --block-size (those given).
func (u *UserData) Flags() map[string]string {
	f := map[string]string{"train": u.Train}
	for k, v := range map[string]string{"valid": u.Valid, "text-column": u.TextColumn, "text-pair-column": u.TextPairColumn, "label-column": u.LabelColumn} {
		if v != "" {
			f[k] = v
		}
	}
	if u.BlockSize > 0 {
		f["block-size"] = strconv.Itoa(u.BlockSize)
	}
	return f
}

// TestArgs returns the test sets as `tram finetune` arguments, --test
// NAME=PATH each, in order.
func (u *UserData) TestArgs() []string {
	var args []string
	for _, t := range u.Tests {
		args = append(args, "--test", t.Name+"="+t.Path)
	}
	return args
}

// DataWhere names the place of a data: key of a study file ("FILE:LINE";
// key as "data", "data.train", "data.valid", "data.tests.NAME"), or the
// study's source or name.
func (g *Grid) DataWhere(key string) string {
	if n, ok := g.dataLines[key]; ok && g.Source != "" {
		return fmt.Sprintf("%s:%d", g.Source, n)
	}
	if n, ok := g.dataLines["data"]; ok && g.Source != "" {
		return fmt.Sprintf("%s:%d", g.Source, n)
	}
	return cmp.Or(g.Source, g.Name, g.Family)
}

// Where names the place a row is defined: "FILE:LINE" for a row of a
// study file, else the study's source or name.
func (g *Grid) Where(row string) string {
	if n, ok := g.rowLines[row]; ok && g.Source != "" {
		return fmt.Sprintf("%s:%d", g.Source, n)
	}
	return cmp.Or(g.Source, g.Name, g.Family)
}

// Equivalence holds the margins Δ of the equivalence tests (TOST, see
// Compare): two rows are equivalent when their paired difference lies
// within ±Δ with 95% confidence. Zero fields take the defaults.
type Equivalence struct {
	// Accuracy is Δ in accuracy points (default DefaultAccuracyMargin).
	Accuracy float64 `json:"accuracy_points,omitempty"`
	// Perplexity is Δ as a fraction of the base row's mean perplexity
	// (default DefaultPerplexityMargin).
	Perplexity float64 `json:"perplexity_fraction,omitempty"`
}

func (e Equivalence) orDefault() Equivalence {
	if e.Accuracy == 0 {
		e.Accuracy = DefaultAccuracyMargin
	}
	if e.Perplexity == 0 {
		e.Perplexity = DefaultPerplexityMargin
	}
	return e
}

// Margin returns Δ in the metric's units for a comparison whose base
// value is baseMean (see EquivalenceMargin).
func (e Equivalence) Margin(metric string, baseMean float64) float64 {
	e = e.orDefault()
	return EquivalenceMargin(metric, baseMean, e.Accuracy, e.Perplexity)
}

// Eval is how every run of a grid is evaluated (see family.EvalOptions).
type Eval struct {
	MaxExamples int `json:"max_examples,omitempty"`
	MaxTokens   int `json:"max_tokens,omitempty"`
	// CKA and Sharpness add linear CKA against the pretrained model and
	// ε-sharpness, on CKAExamples and SharpExamples examples per domain;
	// SharpSteps is ε-sharpness's number of ascent steps (0: eval's
	// default, 10).
	CKA           bool `json:"cka,omitempty"`
	CKAExamples   int  `json:"cka_examples,omitempty"`
	Sharpness     bool `json:"sharpness,omitempty"`
	SharpExamples int  `json:"sharp_examples,omitempty"`
	SharpSteps    int  `json:"sharp_steps,omitempty"`
}

// HigherIsBetter reports whether larger values of the grid's metric are
// better.
func (g *Grid) HigherIsBetter() bool { return g.Metric != "perplexity" }

// Row returns the row with the given name.
func (g *Grid) Row(name string) (Row, bool) {
	i := slices.IndexFunc(g.Rows, func(r Row) bool { return r.Name == name })
	if i < 0 {
		return Row{}, false
	}
	return g.Rows[i], true
}

// Select returns the rows named in spec: "all", "zeroshot", "main",
// "frontier", "ablation", or a comma-separated list of row names and those
// words.
func (g *Grid) Select(spec string) ([]Row, error) {
	if spec == "" {
		spec = "all"
	}
	want := map[string]bool{}
	for _, s := range strings.Split(spec, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case "all":
			for _, r := range g.Rows {
				want[r.Name] = true
			}
		case ZeroShot, Main, Frontier, Ablation:
			for _, r := range g.Rows {
				if r.Kind == s {
					want[r.Name] = true
				}
			}
		default:
			if _, ok := g.Row(s); !ok {
				return nil, fmt.Errorf("--methods: the %s grid has no row %q; rows: %s (or all, zeroshot, main, frontier, ablation)",
					g.Family, s, strings.Join(g.RowNames(), ", "))
			}
			want[s] = true
		}
	}
	var rows []Row
	for _, r := range g.Rows {
		if want[r.Name] {
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// RowNames lists the rows' names in table order.
func (g *Grid) RowNames() []string {
	names := make([]string, len(g.Rows))
	for i, r := range g.Rows {
		names[i] = r.Name
	}
	return names
}

// Run is one cell of a grid: a row in a regime on a training domain with a
// seed.
type Run struct {
	Row    Row
	Regime string // "" : the study's flags alone
	Domain string // training domain ("" : the recipe's)
	Seed   int
	// Trial names the tuned row of a tuning trial ("" for other runs);
	// Row is then that row at one candidate, named by Row.TrialName.
	// Tuned are the candidate values of a trial, or those an evaluation
	// run of a tuned row took from its tuning.
	Trial string
	Tuned map[string]string
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._+=-]`)

// ID names the run's files: ROW[.REGIME][.DOMAIN].sSEED, with characters
// outside [A-Za-z0-9._+=-] replaced by "_" (tram-x:l2 → tram-x_l2).
func (r Run) ID() string {
	id := r.Row.Name
	if r.Regime != "" {
		id += "." + r.Regime
	}
	if r.Domain != "" {
		id += "." + r.Domain
	}
	return unsafeChars.ReplaceAllString(id, "_") + ".s" + strconv.Itoa(r.Seed)
}

// Runs lists the runs of rows × regimes × domains × seeds, seed-major
// (every row of seed 1 first), so that a partial grid holds complete
// paired sets.
func (g *Grid) Runs(rows []Row, domains []string, seeds []int) []Run {
	if len(domains) == 0 {
		domains = []string{""}
	}
	var runs []Run
	for _, s := range seeds {
		for _, reg := range g.RegimeNames() {
			for _, d := range domains {
				for _, r := range rows {
					runs = append(runs, Run{Row: r, Regime: reg, Domain: d, Seed: s})
				}
			}
		}
	}
	return runs
}

// RegimeNames lists the regimes' names; [""] without regimes.
func (g *Grid) RegimeNames() []string {
	if len(g.Regimes) == 0 {
		return []string{""}
	}
	names := make([]string, len(g.Regimes))
	for i, r := range g.Regimes {
		names[i] = r.Name
	}
	return names
}

// Regime returns the regime with the given name.
func (g *Grid) Regime(name string) (Regime, bool) {
	i := slices.IndexFunc(g.Regimes, func(r Regime) bool { return r.Name == name })
	if i < 0 {
		return Regime{}, false
	}
	return g.Regimes[i], true
}

// FinetuneFlags returns the `tram finetune` flags of a run beyond the
// recipe: the grid's, the regime's, the row's, the seed and the training
// domain (--domain), or with UserData the data's flags (--train, --valid,
// …: the run's Domain then only names the training set).
func (g *Grid) FinetuneFlags(r Run) map[string]string {
	f := maps.Clone(g.Flags)
	if f == nil {
		f = map[string]string{}
	}
	if reg, ok := g.Regime(r.Regime); ok {
		maps.Copy(f, reg.Flags)
	}
	maps.Copy(f, r.Row.Flags)
	f["method"] = r.Row.Method
	f["seed"] = strconv.Itoa(r.Seed)
	if g.UserData != nil {
		maps.Copy(f, g.UserData.Flags())
	} else if r.Domain != "" {
		f["domain"] = r.Domain
	}
	return f
}

// Args writes flags as command-line arguments, sorted by name, each as
// --NAME=VALUE (the one form boolean flags accept too).
func Args(flags map[string]string) []string {
	var args []string
	for _, k := range slices.Sorted(maps.Keys(flags)) {
		args = append(args, "--"+k+"="+flags[k])
	}
	return args
}

// zeroShotFlags make a run write its starting model without a fine-tuning
// step (with the study's head warm-up, if any: a linear probe). A study
// file's zero-shot rows get them.
var zeroShotFlags = []string{"steps", "0", "warmup", "0", "eval-every", "0", "select", "last"}
