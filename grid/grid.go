// Package grid defines the experiment grids of `tram reproduce`: for each
// family, the rows of the paper's table (a method and its settings, on top
// of the family's recipe), the trade-off frontier of the plain optimizer,
// and the ablations, each run once per seed; the record one run writes; and
// the statistics over seeds (means, 95% intervals, paired tests, the
// frontier, regressions) that the reports are made of.
//
// A row is a set of `tram finetune` flags layered over the recipe, so every
// run of a grid is one fine-tuning run anyone can repeat alone. For a seed,
// every row sees the same data order, the same new head initialization and
// the same evaluation examples: comparisons are paired by seed.
package grid

import (
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
}

// Grid is one family's experiment.
type Grid struct {
	Family string `json:"family"`
	// Recipe names the embedded recipe (recipes/FAMILY.yaml).
	Recipe string `json:"recipe"`
	// Domains are the training domains (one run per row, seed and
	// domain); "" is the recipe's.
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

// Run is one cell of a grid: a row on a training domain with a seed.
type Run struct {
	Row    Row
	Domain string // training domain ("" : the recipe's)
	Seed   int
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._+=-]`)

// ID names the run's files: ROW[.DOMAIN].sSEED, with characters outside
// [A-Za-z0-9._+=-] replaced by "_" (tram-x:l2 → tram-x_l2).
func (r Run) ID() string {
	id := r.Row.Name
	if r.Domain != "" {
		id += "." + r.Domain
	}
	return unsafeChars.ReplaceAllString(id, "_") + ".s" + strconv.Itoa(r.Seed)
}

// Runs lists the runs of rows × domains × seeds, seed-major (every row of
// seed 1 first), so that a partial grid holds complete paired sets.
func (g *Grid) Runs(rows []Row, domains []string, seeds []int) []Run {
	if len(domains) == 0 {
		domains = []string{""}
	}
	var runs []Run
	for _, s := range seeds {
		for _, d := range domains {
			for _, r := range rows {
				runs = append(runs, Run{Row: r, Domain: d, Seed: s})
			}
		}
	}
	return runs
}

// FinetuneFlags returns the `tram finetune` flags of a run beyond the
// recipe: the grid's, the row's, the seed and the training domain.
func (g *Grid) FinetuneFlags(r Run) map[string]string {
	f := maps.Clone(g.Flags)
	if f == nil {
		f = map[string]string{}
	}
	maps.Copy(f, r.Row.Flags)
	f["method"] = r.Row.Method
	f["seed"] = strconv.Itoa(r.Seed)
	if r.Domain != "" {
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

// row builds a Row; flags alternate names and values.
func row(name, kind, about string, flags ...string) Row {
	method, _, _ := strings.Cut(name, ":")
	r := Row{Name: name, Method: method, Kind: kind, About: about}
	if len(flags) > 0 {
		r.Flags = map[string]string{}
		for i := 0; i+1 < len(flags); i += 2 {
			r.Flags[flags[i]] = flags[i+1]
		}
	}
	return r
}

// zeroShotFlags make a run write its starting model without a fine-tuning
// step (with the grid's head warm-up, if any: a linear probe).
var zeroShotFlags = []string{"steps", "0", "warmup", "0", "eval-every", "0", "select", "last"}

// zeroShot returns a family's zero-shot row: the pretrained model
// evaluated on every domain before fine-tuning, named name and run with
// the base optimizer (which only a head warm-up uses).
func zeroShot(name, base, about string) Row {
	r := row(name, ZeroShot, about, zeroShotFlags...)
	r.Method = base
	return r
}

// Families are the grids of the three experiment families, by name.
var Families = map[string]*Grid{"vision": Vision(), "lm": LM(), "xling": Xling()}

// Vision is the cross-domain image grid: Table 3's rows with SGD as the
// base optimizer (fine-tuned on the script digits, tested on every digit
// domain), TRAM-EMA, SGD at lower learning rates, and ablations.
func Vision() *Grid {
	return &Grid{Family: "vision", Recipe: "vision", Seeds: 5, Base: "sgd", Metric: "accuracy",
		Checkpoints: []float64{1.0 / 3, 2.0 / 3},
		Rows: []Row{
			zeroShot("zero-shot", "sgd", "the pretrained model, not fine-tuned; the digit rows of its 62-way head as the head"),
			row("sgd", Main, "the base optimizer at the recipe's learning rate"),
			row("sam", Main, "SAM, ρ from the recipe"),
			row("asam", Main, "ASAM, ρ from the recipe"),
			row("fsam", Main, "Fisher SAM, γ 0.1, η 0.1"),
			row("tram-prev", Main, "TRAM-θt−1"),
			row("tram-theta0", Main, "TRAM-θ0, the digit rows of the pretrained head as the new head"),
			row("tram-x", Main, "TRAM-x, σ from the recipe"),
			row("tram-fisher", Main, "TRAM-Fisher, σ from the recipe"),
			row("tram-ema", Main, "TRAM-EMA, β 0.999"),
			row("sgd:lr=0.01", Frontier, "the base optimizer at half the recipe's rate", "lr", "0.01"),
			row("sgd:lr=0.005", Frontier, "the base optimizer at a quarter of the recipe's rate", "lr", "0.005"),
			row("tram-theta0:newhead", Ablation, "TRAM-θ0 with a random new head (paper-literal)", "head", "new"),
			row("sgd:newhead", Ablation, "SGD with a random new head (the baseline of tram-theta0:newhead)", "head", "new"),
			row("tram-x:sigma=0.1", Ablation, "TRAM-x at σ 0.1 (sensitivity)", "sigma", "0.1"),
		}}
}

// textRows are the rows the lm and xling grids share: Table 4's and
// Table 5's, with AdamW as base.
func textRows(zero Row, lowerLRs ...string) []Row {
	rows := []Row{
		zero,
		row("adamw", Main, "the base optimizer at the recipe's learning rate"),
		row("sam", Main, "SAM, ρ 0.05"),
		row("asam", Main, "ASAM, ρ 0.5"),
		row("fsam", Main, "Fisher SAM, γ 0.1, η 0.1"),
		row("trpo", Main, "TRPO-style KL to θt−1, λ 0.1"),
		row("r3f", Main, "R3F, λ 0.1, σ 0.1"),
		row("mesa", Main, "MESA, λ 0.1, β 0.999"),
		row("asam+trpo", Main, "ASAM with the TRPO penalty (naive combination)"),
		row("asam+r3f", Main, "ASAM with the R3F penalty (naive combination)"),
		row("asam+mesa", Main, "ASAM with the MESA penalty (naive combination)"),
		row("tram-x", Main, "TRAM-x, σ from the recipe"),
		row("tram-prev", Main, "TRAM-θt−1"),
		row("tram-theta0", Main, "TRAM-θ0"),
		row("tram-fisher", Main, "TRAM-Fisher, σ from the recipe"),
		row("tram-ema", Main, "TRAM-EMA, β 0.999"),
	}
	for i, lr := range lowerLRs {
		rows = append(rows, row("adamw:lr="+lr, Frontier, fmt.Sprintf("the base optimizer at a lower learning rate (%d of %d)", i+1, len(lowerLRs)), "lr", lr))
	}
	return append(rows,
		row("tram-prev:nograd", Ablation, "TRAM-θt−1 with the public code's perturbation (no gradient factor)", "no-gradient-factor", "true"),
		row("tram-x:nograd", Ablation, "TRAM-x with the public code's perturbation (no gradient factor)", "no-gradient-factor", "true"),
		row("adamw:dropout", Ablation, "AdamW with the pretrained model's dropout on", "dropout", "config"),
		row("tram-prev:dropout", Ablation, "TRAM-θt−1 with dropout on and the reference in evaluation mode (the public code)",
			"dropout", "config", "target-eval-mode", "true"),
		row("tram-x:sigma=0.03", Ablation, "TRAM-x at σ 0.03 (sensitivity)", "sigma", "0.03"),
		row("tram-x:sigma=0.3", Ablation, "TRAM-x at σ 0.3 (sensitivity)", "sigma", "0.3"),
	)
}

// LM is the cross-domain language-modelling grid: Table 4's rows with the
// naive ASAM combinations, on two LM-Register training domains, tested on
// all eight.
func LM() *Grid {
	return &Grid{Family: "lm", Recipe: "lm", Seeds: 3, Base: "adamw", Metric: "perplexity",
		Domains:     []string{"scripture", "tech"},
		Checkpoints: []float64{1.0 / 3, 2.0 / 3},
		Eval:        Eval{MaxTokens: 16384},
		Rows:        textRows(zeroShot("zero-shot", "adamw", "the pretrained model, not fine-tuned"), "0.001", "0.0003")}
}

// Xling is the zero-shot cross-lingual grid: Table 5's rows on GetText-X
// (trained on English, tested on eight languages), with the divergence
// ablation of Table 14 and ε-sharpness and CKA (Table 6).
func Xling() *Grid {
	rows := textRows(zeroShot("linear-probe", "adamw", "the new head trained alone (the grid's head warm-up) on the frozen pretrained encoder"), "0.0001")
	rows = append(rows,
		row("tram-x:mmd", Ablation, "TRAM-x with MMD as its divergence (Table 14)", "divergence", "mmd"),
		row("tram-x:l2", Ablation, "TRAM-x with L2 as its divergence (Table 14)", "divergence", "l2"),
		row("tram-theta0:nowarmup", Ablation, "TRAM-θ0 with a random new head and no warm-up (paper-literal)", "head-warmup", "0"),
		row("adamw:nowarmup", Ablation, "AdamW without the head warm-up (the baseline of tram-theta0:nowarmup)", "head-warmup", "0"),
	)
	// Every row warms the new head up first (a linear probe), so that
	// TRAM-θ0's reference predicts the task rather than noise.
	//
	// ε-sharpness takes 3 ascent steps, not 10: at ε = 1e-5 the loss is
	// linear over the box, so the first step reaches the corner that
	// maximizes it. On a fine-tuned encoder, 10, 5, 3 and 2 steps gave the
	// same value to four significant digits (en 0.11231, de 0.15365, zh_CN
	// 0.15538 at 3 and at 10 steps), and 10 steps cost as much as AdamW's
	// whole fine-tuning run.
	return &Grid{Family: "xling", Recipe: "xling", Seeds: 5, Base: "adamw", Metric: "accuracy",
		Flags:       map[string]string{"head-warmup": "30"},
		Checkpoints: []float64{1.0 / 3, 2.0 / 3},
		Eval:        Eval{MaxExamples: 600, CKA: true, CKAExamples: 256, Sharpness: true, SharpExamples: 64, SharpSteps: 3},
		Rows:        rows}
}
