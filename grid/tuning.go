package grid

import (
	"maps"
	"math"
	"slices"
)

// TuningTable is the tuning of one row in one regime on one training
// domain: every candidate (Row.TuneTrials) with its scores over the
// tuning seeds.
type TuningTable struct {
	Row         string  `json:"row"`
	Regime      string  `json:"regime,omitempty"`
	TrainDomain string  `json:"train_domain"`
	Trials      []Trial `json:"trials"`
	// Complete is true when every candidate ran on every tuning seed;
	// only then is a candidate chosen.
	Complete bool `json:"complete"`
}

// Trial is one candidate of a tuned row.
type Trial struct {
	// Name is the row with the candidate's values (Row.TrialName).
	Name  string            `json:"name"`
	Flags map[string]string `json:"flags"`
	// ValLoss is the training domain's validation loss over the tuning
	// seeds: what the choice is made on.
	ValLoss Estimate `json:"val_loss"`
	// In and OOD are the test metrics on the training domain and the
	// average over every other domain, over the tuning seeds: shown, never
	// used to choose (OOD: no domain is left out as saturated here).
	In  Estimate `json:"in_domain"`
	OOD Estimate `json:"ood_avg"`
	// Chosen marks the candidate with the lowest mean validation loss (the
	// first of equals): what the evaluation seeds run. Oracle marks the
	// candidate with the best OOD average — what one would pick by peeking
	// at the test domains; reported for comparison, never used.
	Chosen bool `json:"chosen"`
	Oracle bool `json:"oracle"`
}

// TuneKey identifies a tuning: a row in a regime on a training domain.
func TuneKey(row, regime, domain string) string { return row + "|" + regime + "|" + domain }

// SummarizeTuning computes the tuning tables of the grid's tuned rows from
// their trials' records (ReadTrials), for every regime and training domain
// that has records.
func SummarizeTuning(g *Grid, trials []Record) []TuningTable {
	var out []TuningTable
	if g.Tuning == nil {
		return nil
	}
	domains := g.Domains
	if len(domains) == 0 {
		domains = []string{""} // the recipe's (records name it; not compared)
	}
	for _, row := range g.Rows {
		cands := row.TuneTrials()
		if cands == nil {
			continue
		}
		for _, reg := range g.RegimeNames() {
			for _, dom := range domains {
				t := TuningTable{Row: row.Name, Regime: reg, TrainDomain: dom, Complete: true}
				for _, c := range cands {
					name := row.TrialName(c)
					tr := Trial{Name: name, Flags: c}
					var val, in, ood []float64
					var vs, is []int
					for _, r := range trials {
						if r.Row != name || r.Regime != reg || dom != "" && r.Domain != dom {
							continue
						}
						if r.ValLoss != nil {
							val, vs = append(val, *r.ValLoss), append(vs, r.Seed)
						}
						if p, ok := trialPoint(g.Metric, r); ok {
							in, ood, is = append(in, p.In), append(ood, p.Out), append(is, r.Seed)
						}
					}
					tr.ValLoss, tr.In, tr.OOD = Estimated(val, vs), Estimated(in, is), Estimated(ood, is)
					if tr.ValLoss.N < len(g.Tuning.Seeds) {
						t.Complete = false
					}
					t.Trials = append(t.Trials, tr)
				}
				if !slices.ContainsFunc(t.Trials, func(tr Trial) bool { return tr.ValLoss.N > 0 || tr.In.N > 0 }) {
					continue
				}
				if t.Complete {
					best, oracle := 0, 0
					for i, tr := range t.Trials {
						if tr.ValLoss.Mean < t.Trials[best].ValLoss.Mean {
							best = i
						}
						if o := t.Trials[oracle].OOD.Mean; g.HigherIsBetter() && tr.OOD.Mean > o || !g.HigherIsBetter() && tr.OOD.Mean < o {
							oracle = i
						}
					}
					t.Trials[best].Chosen, t.Trials[oracle].Oracle = true, true
				}
				out = append(out, t)
			}
		}
	}
	return out
}

// Choose returns the chosen candidate of every complete tuning, by
// TuneKey.
func Choose(tables []TuningTable) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, t := range tables {
		for _, tr := range t.Trials {
			if tr.Chosen {
				out[TuneKey(t.Row, t.Regime, t.TrainDomain)] = maps.Clone(tr.Flags)
			}
		}
	}
	return out
}

// trialPoint returns a record's training-domain metric and its average
// over every other domain.
func trialPoint(metric string, r Record) (Point, bool) {
	in := trainDomainOf(r)
	p := Point{In: math.NaN()}
	var sum float64
	n := 0
	for _, m := range r.Metrics {
		v, ok := Value(metric, m)
		if !ok {
			continue
		}
		if m.Domain == in {
			p.In = v
		} else {
			sum += v
			n++
		}
	}
	if math.IsNaN(p.In) || n == 0 {
		return p, false
	}
	p.Out = sum / float64(n)
	return p, true
}
