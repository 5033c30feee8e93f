package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot/plotter"

	"github.com/tramlab/tram/grid"
)

// quantity is one curve drawn from the step logs.
type quantity struct {
	key, title, ylabel string
	log                bool
}

var quantities = []quantity{
	{"loss", "training loss", "loss (pass 1)", false},
	{"val-loss", "validation loss", "validation loss", false},
	{"d", "trust-region d_t or fixed radius", "d", true},
	{"eps-norm", "perturbation norm ‖ε‖", "‖ε‖", true},
}

// logLine is one line of a step log; non-finite values are strings there.
type logLine struct {
	Step    int  `json:"step"`
	Loss    any  `json:"loss"`
	D       any  `json:"d"`
	EpsNorm any  `json:"eps_norm"`
	Skipped bool `json:"skipped"`
	Eval    *struct {
		Loss any `json:"loss"`
	} `json:"eval"`
}

// readLog returns a step log's values by quantity and step; a missing log
// is no curve.
func readLog(path string) (map[string]map[int]float64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]map[int]float64{}
	put := func(q string, step int, v any) {
		x, ok := v.(float64)
		if !ok {
			return
		}
		if out[q] == nil {
			out[q] = map[int]float64{}
		}
		out[q][step] = x
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue // a torn or unencodable line
		}
		if l.Eval != nil {
			put("val-loss", l.Step, l.Eval.Loss)
			continue
		}
		if l.Skipped {
			continue
		}
		put("loss", l.Step, l.Loss)
		put("d", l.Step, l.D)
		put("eps-norm", l.Step, l.EpsNorm)
	}
	return out, sc.Err()
}

// logPath is a record's step log: Record.Log, or runs/ID.log.jsonl.
func logPath(dir string, r grid.Record) string {
	if r.Log != "" {
		return filepath.Join(dir, r.Log)
	}
	id := grid.Run{Row: grid.Row{Name: r.Row}, Domain: r.Domain, Seed: r.Seed}.ID()
	return filepath.Join(dir, "runs", id+".log.jsonl")
}

// curves returns, per quantity, each main row's mean curve over its seeds
// on one training domain.
func curves(in *input, t grid.Table) (map[string][]series, error) {
	out := map[string][]series{}
	for j, r := range mainRows(t) {
		sums := map[string]map[int]float64{}
		counts := map[string]map[int]int{}
		for _, rec := range in.recs {
			if rec.Row != r.Row || rec.Domain != t.TrainDomain {
				continue
			}
			vals, err := readLog(logPath(in.dir, rec))
			if err != nil {
				return nil, err
			}
			for q, byStep := range vals {
				if sums[q] == nil {
					sums[q], counts[q] = map[int]float64{}, map[int]int{}
				}
				for s, v := range byStep {
					sums[q][s] += v
					counts[q][s]++
				}
			}
		}
		for _, q := range quantities {
			steps := make([]int, 0, len(sums[q.key]))
			for s := range sums[q.key] {
				steps = append(steps, s)
			}
			if len(steps) == 0 {
				continue
			}
			slices.Sort(steps)
			xy := make(plotter.XYs, len(steps))
			for i, s := range steps {
				xy[i] = plotter.XY{X: float64(s), Y: sums[q.key][s] / float64(counts[q.key][s])}
			}
			out[q.key] = append(out[q.key], series{row: r.Row, method: r.Method, index: j, xy: xy})
		}
	}
	return out, nil
}
