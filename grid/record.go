package grid

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tramlab/tram/family"
)

// Record is what one run writes (runs/ID.json in a grid's directory).
type Record struct {
	Family string `json:"family"`
	Row    string `json:"row"`
	Method string `json:"method"`
	Kind   string `json:"kind"`
	// Regime is the study's regime ("" without regimes).
	Regime string `json:"regime,omitempty"`
	// Domain is the training domain (with the user's own data, the name of
	// the in-domain test set: see InDomain).
	Domain string `json:"train_domain"`
	Seed   int    `json:"seed"`
	// Tuned are the flags a tuned row's evaluation run took from tuning
	// (see Choose), or a tuning trial's candidate values.
	Tuned map[string]string `json:"tuned,omitempty"`
	// Flags are every `tram finetune` flag that defined the run: the
	// recipe's, the grid's and the row's.
	Flags map[string]string `json:"flags"`
	// Command reruns this run alone; Finetune is the equivalent
	// `tram finetune` command (which writes the model instead of scoring it).
	Command  string `json:"command"`
	Finetune string `json:"finetune_command"`
	// Steps taken, the step whose parameters were kept, steps skipped for
	// non-finite values.
	Steps   int `json:"steps"`
	Kept    int `json:"kept_step"`
	Skipped int `json:"skipped_steps"`
	// Metrics of the kept parameters on every domain of the family (every
	// test set of the study's own data).
	Metrics []family.DomainResult `json:"metrics"`
	// ValLoss is the training domain's validation loss of the kept
	// parameters (absent when the run never validated): what tuning
	// selects on.
	ValLoss *float64 `json:"val_loss,omitempty"`
	// Checkpoints are earlier parameters of the same run, evaluated alike
	// (the base row's points of the frontier).
	Checkpoints []Checkpoint `json:"checkpoints,omitempty"`
	// WiseFT are the base row's WiSE-FT points: the kept parameters
	// interpolated with the pretrained ones at each of the study's α and
	// evaluated alike.
	WiseFT []WiseFTPoint `json:"wise_ft,omitempty"`
	// Log is the step log, relative to the grid's directory.
	Log          string  `json:"log"`
	TrainSeconds float64 `json:"train_seconds"`
	EvalSeconds  float64 `json:"eval_seconds"`
	Threads      int     `json:"threads"`
	Backend      string  `json:"backend"`
	Version      string  `json:"tram_version"`
	Commit       string  `json:"tram_commit"`
	// Data is the sha256 of the built data's manifest.json
	// (data.ManifestSHA256): the build of the family's data the run trained
	// and was scored on. It is empty for a study's own data and in records
	// made before it was recorded.
	Data string `json:"data_sha256,omitempty"`
	// EvalSettings records how the metrics were measured.
	EvalSettings map[string]any `json:"eval_settings,omitempty"`
}

// InDomain returns the name under which the run's training domain appears
// among its metrics: the --domain flag's; with the user's own data
// (--train), the in-domain test set, which the run's Domain names; else
// the one domain the recipe trains on (xling: English).
func (r Record) InDomain() string {
	if d := r.Flags["domain"]; d != "" {
		return d
	}
	if r.Flags["train"] != "" {
		return r.Domain
	}
	if r.Family == "xling" {
		return "en"
	}
	return r.Domain
}

// Checkpoint is the evaluation of a run's parameters after Step steps.
type Checkpoint struct {
	Step    int                   `json:"step"`
	Metrics []family.DomainResult `json:"metrics"`
}

// WiseFTPoint is the evaluation of (1−α)·θ0 + α·θ_ft.
type WiseFTPoint struct {
	Alpha   float64               `json:"alpha"`
	Metrics []family.DomainResult `json:"metrics"`
}

// WiseFTRow names the summary row of the WiSE-FT points at α.
func WiseFTRow(alpha float64) string { return fmt.Sprintf("wise-ft:alpha=%g", alpha) }

// Value returns the grid metric of one domain's result: accuracy in
// percent, or perplexity. ok is false when the result lacks it.
func Value(metric string, d family.DomainResult) (v float64, ok bool) {
	switch {
	case metric == "perplexity" && d.Perplexity != nil:
		return *d.Perplexity, true
	case metric == "accuracy" && d.Accuracy != nil:
		return 100 * *d.Accuracy, true
	}
	return 0, false
}

// Lookup returns the result of domain d in ms.
func Lookup(ms []family.DomainResult, d string) (family.DomainResult, bool) {
	i := slices.IndexFunc(ms, func(r family.DomainResult) bool { return r.Domain == d })
	if i < 0 {
		return family.DomainResult{}, false
	}
	return ms[i], true
}

// ReadRecords reads every runs/*.json of a grid directory, sorted by run
// (row order of g, then training domain, then seed). Records of rows the
// grid does not define are kept, after the others.
func ReadRecords(dir string, g *Grid) ([]Record, error) {
	return readRecords(filepath.Join(dir, "runs"), g)
}

// ReadTrials reads the tuning trials' records of a grid directory
// (tuning/*.json), sorted as ReadRecords sorts.
func ReadTrials(dir string, g *Grid) ([]Record, error) {
	return readRecords(filepath.Join(dir, "tuning"), g)
}

func readRecords(dir string, g *Grid) ([]Record, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var recs []Record
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var r Record
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		recs = append(recs, r)
	}
	order := func(row string) int {
		i := slices.Index(g.RowNames(), row)
		if i < 0 {
			return len(g.Rows)
		}
		return i
	}
	slices.SortFunc(recs, func(a, b Record) int {
		if c := order(a.Row) - order(b.Row); c != 0 {
			return c
		}
		if c := strings.Compare(a.Row, b.Row); c != 0 {
			return c
		}
		if c := slices.Index(g.RegimeNames(), a.Regime) - slices.Index(g.RegimeNames(), b.Regime); c != 0 {
			return c
		}
		if c := strings.Compare(a.Domain, b.Domain); c != 0 {
			return c
		}
		return a.Seed - b.Seed
	})
	return recs, nil
}

type domainResult = family.DomainResult
