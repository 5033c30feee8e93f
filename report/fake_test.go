package report_test

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"

	"github.com/tramlab/tram/family"
	"github.com/tramlab/tram/grid"
)

// fake describes a made-up grid: its rows, the domains every run is
// evaluated on, and the metric of a row trained on train, on a domain, for
// a seed (accuracy in percent, or perplexity).
type fake struct {
	g       *grid.Grid
	domains []string
	// train is the training domain of a grid without Domains (the
	// recipe's).
	train string
	value func(row, train, domain string, seed int) float64
}

func row(name, kind string, flags ...string) grid.Row {
	method, _, _ := strings.Cut(name, ":")
	r := grid.Row{Name: name, Method: method, Kind: kind, About: "fake " + name}
	if len(flags) > 0 {
		r.Flags = map[string]string{flags[0]: flags[1]}
	}
	return r
}

// jitter is a made-up noise in [-0.5, 0.5), fixed by its arguments.
func jitter(parts ...any) float64 {
	h := fnv.New32a()
	fmt.Fprintln(h, parts...)
	return float64(h.Sum32()%1000)/1000 - 0.5
}

// seedShift is shared by every row of a seed, so that rows pair by seed.
func seedShift(seed int) float64 { return []float64{0.3, -0.2, 0.1, 0.25, -0.1}[(seed-1)%5] }

// boost is each fake vision row's advantage out of domain (accuracy points).
var boost = map[string]float64{"sgd": 0, "sam": 0.5, "asam": 0.6, "fsam": 0.7, "tram-prev": 2.0, "tram-x": 1.8,
	"tram-theta0": 1.0, "sgd:lr=0.01": 0.8, "tram-prev:nograd": 1.2}

// fakeVision is a small accuracy grid: the base row, SAM's family, three
// TRAM rows, one frontier row and one ablation; trained on "script",
// tested on "print", "hand" and "mnist" (saturated).
func fakeVision() fake {
	g := &grid.Grid{Family: "vision", Recipe: "vision", Base: "sgd", Metric: "accuracy", Seeds: 3,
		Checkpoints: []float64{1.0 / 3, 2.0 / 3},
		Eval:        grid.Eval{Sharpness: true, SharpExamples: 8, CKA: true, CKAExamples: 8},
		Rows: []grid.Row{
			row("sgd", grid.Main), row("sam", grid.Main), row("asam", grid.Main), row("fsam", grid.Main),
			row("tram-prev", grid.Main), row("tram-x", grid.Main), row("tram-theta0", grid.Main),
			row("sgd:lr=0.01", grid.Frontier, "lr", "0.01"),
			row("tram-prev:nograd", grid.Ablation, "no-gradient-factor", "true"),
		}}
	return fake{g: g, domains: []string{"script", "print", "hand", "mnist"}, train: "script",
		value: func(row, _, domain string, seed int) float64 { return accuracy(boost, row, domain, seed, 0.3) }}
}

// accuracy is a made-up accuracy (percent): a per-domain level, the row's
// boost, the seed's shift and noise of the given size.
func accuracy(boost map[string]float64, row, domain string, seed int, noise float64) float64 {
	b, sh, n := boost[row], seedShift(seed), noise*jitter(row, domain, seed)
	switch domain {
	case "script":
		if strings.Contains(row, ":lr=") {
			return 88 + sh + n
		}
		return 90 + 0.5*b + sh + n
	case "print":
		return 70 + b + sh + n
	case "hand":
		return 60 + b + 2*sh - n
	}
	return 99.5 + 0.1*sh // saturated
}

// inPPL are the fake lm rows' in-domain perplexities; out of domain, "art"
// is anticorrelated with it (60 − in) and "cs" correlated (in + 5), and
// artOffset moves a row off the prior methods' line on "art".
var (
	inPPL = map[string]float64{"adamw": 24, "sam": 23, "asam": 22.5, "fsam": 21, "trpo": 21.5, "r3f": 22, "mesa": 23.5,
		"asam+trpo": 25, "tram-x": 20.5, "tram-theta0": 20.8, "tram-prev": 20, "adamw:lr=0.001": 26}
	artOffset = map[string]float64{"tram-x": -0.8, "tram-theta0": -0.8, "tram-prev": 0.3}
)

// fakeLM is a small perplexity grid with two training domains.
func fakeLM() fake {
	var rows []grid.Row
	for _, n := range []string{"adamw", "sam", "asam", "fsam", "trpo", "r3f", "mesa", "asam+trpo", "tram-x", "tram-theta0", "tram-prev"} {
		rows = append(rows, row(n, grid.Main))
	}
	rows = append(rows, row("adamw:lr=0.001", grid.Frontier, "lr", "0.001"))
	g := &grid.Grid{Family: "lm", Recipe: "lm", Base: "adamw", Metric: "perplexity", Seeds: 3,
		Domains: []string{"tech", "cs"}, Rows: rows, Eval: grid.Eval{MaxTokens: 1000}}
	return fake{g: g, domains: []string{"tech", "art", "cs"}, value: lmValue}
}

// lmValue is a fake perplexity; trained on cs, the roles of tech and cs
// swap.
func lmValue(row, train, domain string, seed int) float64 {
	q := inPPL[row] + 0.1*seedShift(seed) + 0.05*jitter(row, train, domain, seed)
	if train == "cs" && domain != "art" {
		domain = map[string]string{"cs": "tech", "tech": "cs"}[domain]
	}
	switch domain {
	case "tech":
		return q
	case "art":
		return 60 - q + artOffset[row] + 0.05*jitter("art", row, seed)
	}
	return q + 5
}

// records returns the fake's records for the seeds (no step logs).
func (f fake) records(seeds []int) []grid.Record {
	trains := f.g.Domains
	if len(trains) == 0 {
		trains = []string{""}
	}
	var recs []grid.Record
	for _, seed := range seeds {
		for _, train := range trains {
			for _, r := range f.g.Rows {
				recs = append(recs, f.record(r, train, seed))
			}
		}
	}
	return recs
}

func (f fake) record(r grid.Row, train string, seed int) grid.Record {
	inDom := train
	if inDom == "" {
		inDom = f.train
	}
	metrics := func(shift func(domain string) float64) []family.DomainResult {
		var ms []family.DomainResult
		for _, d := range f.domains {
			v := f.value(r.Name, inDom, d, seed) + shift(d)
			m := family.DomainResult{Domain: d, Examples: 100}
			if f.g.Metric == "perplexity" {
				m.Perplexity = ptr(v)
			} else {
				m.Accuracy = ptr(v / 100)
				b := boost[r.Name]
				m.Sharpness = ptr(2 - 0.5*b + 0.1*float64(seed) + 0.1*jitter("sharp", r.Name, d, seed))
				m.CKA = ptr(0.5 + 0.02*b + 0.01*float64(seed) + 0.005*jitter("cka", r.Name, d, seed))
			}
			ms = append(ms, m)
		}
		return ms
	}
	run := grid.Run{Row: r, Domain: train, Seed: seed}
	rec := grid.Record{Family: f.g.Family, Row: r.Name, Method: r.Method, Kind: r.Kind, Domain: train, Seed: seed,
		Flags: map[string]string{"domain": inDom, "method": r.Method, "seed": fmt.Sprint(seed)},
		Steps: 30, Kept: 30, Metrics: metrics(func(string) float64 { return 0 }), Log: "runs/" + run.ID() + ".log.jsonl",
		TrainSeconds: 10 + float64(seed), Threads: 2, Backend: "asm", Version: "v0.0.0-test", Commit: "abc1234", Data: "feedface"}
	if f.g.Family == "lm" && seed == 3 {
		rec.Data = "c0ffee" // one seed from another data build: the report says so
	}
	if r.Name == f.g.Base {
		// Earlier checkpoints: worse in domain, better out of it.
		sign := 1.0
		if f.g.Metric == "perplexity" {
			sign = -1
		}
		for i := range 2 {
			rec.Checkpoints = append(rec.Checkpoints, grid.Checkpoint{Step: 10 * (i + 1), Metrics: metrics(func(d string) float64 {
				if d == inDom {
					return sign * (-3 + float64(i))
				}
				return sign * (1.5 - 0.5*float64(i))
			})})
		}
	}
	return rec
}

// write writes a grid directory: grid.json asking for the seeds ask,
// machine.json, and a record and a step log for every run of seeds.
func (f fake) write(dir string, seeds, ask []int) error {
	if err := os.MkdirAll(filepath.Join(dir, "runs"), 0o755); err != nil {
		return err
	}
	g := f.g
	cmd := "tram reproduce " + g.Family + " --seeds 3"
	files := map[string]any{
		"grid.json": map[string]any{"family": g.Family, "recipe": g.Recipe, "train_domains": g.Domains, "rows": g.Rows,
			"seeds": g.Seeds, "base": g.Base, "metric": g.Metric, "eval": g.Eval, "checkpoints": g.Checkpoints,
			"seed_list": ask, "command": cmd, "commands": []string{cmd}},
		"machine.json": map[string]any{"cpu": "Fake CPU", "cores": 2, "go": "go1.26", "os": "linux/amd64",
			"tram_version": "v0.0.0-test", "tram_commit": "abc1234", "threads": 2, "jobs": 1},
	}
	for _, rec := range f.records(seeds) {
		files[strings.TrimSuffix(rec.Log, ".log.jsonl")+".json"] = rec
		var log strings.Builder
		for step := 1; step <= 30; step++ {
			d := 0.0
			if rec.Method != g.Base {
				d = 0.05 / float64(step) * (1 + boost[rec.Row])
			}
			line, _ := json.Marshal(map[string]any{"step": step, "loss": 2 / float64(step+rec.Seed), "d": d, "radius": d,
				"eps_norm": d / 2, "grad_norm": 1.0, "skipped": false})
			log.Write(append(line, '\n'))
			if step%10 == 0 {
				line, _ = json.Marshal(map[string]any{"step": step, "eval": map[string]any{"step": step, "loss": 1.5 / float64(step)}})
				log.Write(append(line, '\n'))
			}
		}
		log.WriteString(`{"step":31,"loss":"NaN","d":"NaN","skipped":true}` + "\n")
		if err := os.WriteFile(filepath.Join(dir, rec.Log), []byte(log.String()), 0o644); err != nil {
			return err
		}
	}
	for name, v := range files {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func ptr(x float64) *float64 { return &x }
