package grid

import (
	"math"
	"slices"
	"strings"
)

// SaturatedAccuracy is the base row's mean accuracy (percent) at or above
// which an out-of-domain domain counts as saturated and is left out of the
// out-of-domain average (every method scores about the same there).
const SaturatedAccuracy = 99.0

// Summary is the statistics over seeds of a grid's records
// (summary.json).
type Summary struct {
	Family         string `json:"family"`
	Metric         string `json:"metric"`
	HigherIsBetter bool   `json:"higher_is_better"`
	Base           string `json:"base"`
	// Equivalence holds the margins of the equivalence tests.
	Equivalence Equivalence `json:"equivalence"`
	Tables      []Table     `json:"tables"`
	// Comparisons are the report's comparisons beyond each row against
	// the base (RowSummary.VsBaseIn, VsBaseOOD): the headline comparisons
	// and those the claims make, in the order the report makes them. Their
	// Holm adjustment is over one family: these and every VsBase
	// comparison (see report.Claims, which fills them).
	Comparisons []NamedComparison `json:"comparisons,omitempty"`
	// Tuning holds the tuning tables of the study's tuned rows
	// (SummarizeTuning over the records in DIR/tuning).
	Tuning []TuningTable `json:"tuning,omitempty"`
}

// NamedComparison is one comparison of a report, labelled.
type NamedComparison struct {
	// Claim is the paper's claim the comparison decides (1–9), 0 for the
	// headline comparisons.
	Claim       int    `json:"claim"`
	Regime      string `json:"regime,omitempty"`
	TrainDomain string `json:"train_domain"`
	// A and B are the rows (or quantities) compared, A − B; Quantity is
	// what is compared ("ood", "in", "ood_eps_sharpness", …).
	A          string     `json:"a"`
	B          string     `json:"b"`
	Quantity   string     `json:"quantity"`
	Comparison Comparison `json:"comparison"`
}

// Table holds one training domain's results.
type Table struct {
	// Regime is the study's regime ("" without regimes).
	Regime      string `json:"regime,omitempty"`
	TrainDomain string `json:"train_domain"`
	// Domains are the evaluated domains, the training domain first.
	Domains []string `json:"domains"`
	// OOD are the domains of the out-of-domain average; Saturated those
	// left out of it (SaturatedAccuracy).
	OOD       []string `json:"ood_domains"`
	Saturated []string `json:"saturated,omitempty"`
	// ZeroShot names the zero-shot row (the starting model, not
	// fine-tuned; see grid.ZeroShot), "" when the table has none.
	ZeroShot string       `json:"zero_shot_row,omitempty"`
	Rows     []RowSummary `json:"rows"`
	// Correlations are, per out-of-domain domain (and "ood"), the lines
	// through the methods' mean (in-domain, that domain) points: over the
	// prior methods (main rows that are neither TRAM nor a naive ASAM
	// combination) and over all main rows but the combinations (Table 9,
	// Figure 2).
	Correlations map[string]Correlation `json:"correlations,omitempty"`
}

// Correlation holds the two regression lines of one domain.
type Correlation struct {
	Prior Line `json:"prior"`
	All   Line `json:"all"`
}

// RowSummary is one row's statistics on one training domain.
type RowSummary struct {
	Row    string `json:"row"`
	Method string `json:"method"`
	Kind   string `json:"kind"`
	// Domains maps every evaluated domain to the metric over seeds.
	Domains map[string]Estimate `json:"domains"`
	// In is the training domain's metric; OOD the per-seed mean over the
	// OOD domains.
	In  Estimate `json:"in_domain"`
	OOD Estimate `json:"ood_avg"`
	// VsBaseIn and VsBaseOOD compare the row with the base row, paired by
	// seed (row − base), with the equivalence test against the summary's
	// margin (Compare); the report adjusts their p-values for
	// multiplicity with its other comparisons.
	VsBaseIn  Comparison `json:"vs_base_in"`
	VsBaseOOD Comparison `json:"vs_base_ood"`
	// VsZeroShot compares the row with the zero-shot row on every domain
	// and on the OOD average ("ood"), paired by seed (row − zero-shot):
	// where fine-tuning this way helped and where it hurt. Absent for the
	// zero-shot row itself and when the table has none.
	VsZeroShot map[string]Paired `json:"vs_zero_shot,omitempty"`
	// Frontier is the row's effective robustness: per seed, how much better
	// its OOD metric is than the base optimizer's frontier at the row's
	// in-domain metric (positive is better, in the metric's units);
	// FrontierOutside counts the seeds
	// whose in-domain metric lies outside the frontier's range
	// (extrapolated).
	Frontier        Estimate `json:"frontier_gain"`
	FrontierOutside int      `json:"frontier_outside"`
	// Sharpness and CKA, per domain and over the OOD domains, when measured.
	Sharpness    map[string]Estimate `json:"eps_sharpness,omitempty"`
	SharpnessOOD *Estimate           `json:"eps_sharpness_ood,omitempty"`
	CKA          map[string]Estimate `json:"cka,omitempty"`
	CKAOOD       *Estimate           `json:"cka_ood,omitempty"`
	// TrainSeconds is the fine-tuning wall time.
	TrainSeconds Estimate `json:"train_seconds"`
}

// IsTRAM reports whether a row's method is a TRAM variant.
func IsTRAM(method string) bool { return strings.HasPrefix(method, "tram-") }

// IsCombination reports whether a method is a naive ASAM+X combination.
func IsCombination(method string) bool { return strings.HasPrefix(method, "asam+") }

// Summarize computes the statistics of a grid's records: one table per
// regime and training domain. The base row's WiSE-FT points become rows
// of their own (WiseFTRow) and points of the base optimizer's frontier.
func Summarize(g *Grid, recs []Record) *Summary {
	s := &Summary{Family: g.Family, Metric: g.Metric, HigherIsBetter: g.HigherIsBetter(), Base: g.Base, Equivalence: g.Equivalence.orDefault()}
	type cell struct{ regime, domain string }
	var cells []cell
	for _, r := range recs {
		if c := (cell{r.Regime, r.Domain}); !slices.Contains(cells, c) {
			cells = append(cells, c)
		}
	}
	for _, c := range cells {
		var sub, wise []Record
		for _, r := range recs {
			if r.Regime != c.regime || r.Domain != c.domain {
				continue
			}
			sub = append(sub, r)
			if r.Row == g.Base {
				for _, w := range r.WiseFT {
					wise = append(wise, Record{Family: r.Family, Row: WiseFTRow(w.Alpha), Method: "wise-ft", Kind: Main, Regime: r.Regime,
						Domain: r.Domain, Seed: r.Seed, Flags: r.Flags, Metrics: w.Metrics})
				}
			}
		}
		slices.SortStableFunc(wise, func(a, b Record) int { return strings.Compare(a.Row, b.Row) })
		t := summarizeDomain(g, c.domain, append(sub, wise...))
		t.Regime = c.regime
		s.Tables = append(s.Tables, t)
	}
	return s
}

// trainDomainOf returns the name under which a run's training domain
// appears among its metrics (Record.InDomain).
func trainDomainOf(r Record) string { return r.InDomain() }

func summarizeDomain(g *Grid, td string, recs []Record) Table {
	t := Table{TrainDomain: td}
	in := trainDomainOf(recs[0])
	t.Domains = []string{in}
	for _, m := range recs[0].Metrics {
		if m.Domain != in {
			t.Domains = append(t.Domains, m.Domain)
		}
	}
	higher := g.HigherIsBetter()
	byRow := map[string][]Record{}
	var rowOrder []string
	for _, r := range recs {
		if _, ok := byRow[r.Row]; !ok {
			rowOrder = append(rowOrder, r.Row)
		}
		byRow[r.Row] = append(byRow[r.Row], r)
	}
	metric := func(rs []Record, d string, get func(domainMetrics) (float64, bool)) (Estimate, bool) {
		var vs []float64
		var seeds []int
		for _, r := range rs {
			m, ok := Lookup(r.Metrics, d)
			if !ok {
				continue
			}
			if v, ok := get(domainMetrics{g.Metric, m}); ok {
				vs, seeds = append(vs, v), append(seeds, r.Seed)
			}
		}
		return Estimated(vs, seeds), len(vs) > 0
	}
	// Saturated domains: the base row's mean accuracy ≥ SaturatedAccuracy.
	for _, d := range t.Domains[1:] {
		if base, ok := byRow[g.Base]; ok && higher {
			if e, ok := metric(base, d, domainMetrics.value); ok && e.Mean >= SaturatedAccuracy {
				t.Saturated = append(t.Saturated, d)
				continue
			}
		}
		t.OOD = append(t.OOD, d)
	}
	oodOf := func(ms []view) (float64, bool) {
		var sum float64
		for _, d := range t.OOD {
			i := slices.IndexFunc(ms, func(m view) bool { return m.Domain == d })
			if i < 0 {
				return 0, false
			}
			sum += ms[i].V
		}
		return sum / float64(len(t.OOD)), len(t.OOD) > 0
	}
	point := func(ms []view) (Point, bool) {
		i := slices.IndexFunc(ms, func(m view) bool { return m.Domain == in })
		o, ok := oodOf(ms)
		if i < 0 || !ok {
			return Point{}, false
		}
		return Point{In: ms[i].V, Out: o}, true
	}
	// The frontier of each seed: the base row, the frontier rows and the
	// base row's checkpoints.
	frontier := map[int][]Point{}
	for _, r := range recs {
		if _, wise := IsWiseFT(r.Row); r.Row != g.Base && r.Kind != Frontier && !wise {
			continue
		}
		if p, ok := point(views(g.Metric, r.Metrics)); ok {
			frontier[r.Seed] = append(frontier[r.Seed], p)
		}
		if r.Row == g.Base {
			for _, c := range r.Checkpoints {
				if p, ok := point(views(g.Metric, c.Metrics)); ok {
					frontier[r.Seed] = append(frontier[r.Seed], p)
				}
			}
		}
	}
	rowSummaries := map[string]RowSummary{}
	for _, name := range rowOrder {
		rs := byRow[name]
		sum := RowSummary{Row: name, Method: rs[0].Method, Kind: rs[0].Kind, Domains: map[string]Estimate{}}
		for _, d := range t.Domains {
			if e, ok := metric(rs, d, domainMetrics.value); ok {
				sum.Domains[d] = e
			}
		}
		sum.In = sum.Domains[in]
		var ood, gain, secs []float64
		var seeds, gainSeeds []int
		for _, r := range rs {
			secs = append(secs, r.TrainSeconds)
			p, ok := point(views(g.Metric, r.Metrics))
			if !ok {
				continue
			}
			ood, seeds = append(ood, p.Out), append(seeds, r.Seed)
			if f, outside := Interpolate(frontier[r.Seed], p.In); !math.IsNaN(f) {
				d := p.Out - f
				if !higher {
					d = -d
				}
				gain, gainSeeds = append(gain, d), append(gainSeeds, r.Seed)
				if outside {
					sum.FrontierOutside++
				}
			}
		}
		sum.OOD = Estimated(ood, seeds)
		sum.Frontier = Estimated(gain, gainSeeds)
		sum.TrainSeconds = Estimated(secs, nil)
		for _, kind := range []struct {
			get func(domainMetrics) (float64, bool)
			all *map[string]Estimate
			ood **Estimate
		}{{domainMetrics.sharpness, &sum.Sharpness, &sum.SharpnessOOD}, {domainMetrics.cka, &sum.CKA, &sum.CKAOOD}} {
			for _, d := range t.Domains {
				if e, ok := metric(rs, d, kind.get); ok {
					if *kind.all == nil {
						*kind.all = map[string]Estimate{}
					}
					(*kind.all)[d] = e
				}
			}
			if *kind.all == nil {
				continue
			}
			var vs []float64
			var ss []int
			for _, r := range rs {
				var acc float64
				n := 0
				for _, d := range t.OOD {
					if m, ok := Lookup(r.Metrics, d); ok {
						if v, ok := kind.get(domainMetrics{g.Metric, m}); ok {
							acc += v
							n++
						}
					}
				}
				if n == len(t.OOD) && n > 0 {
					vs, ss = append(vs, acc/float64(n)), append(ss, r.Seed)
				}
			}
			e := Estimated(vs, ss)
			*kind.ood = &e
		}
		rowSummaries[name] = sum
	}
	base, hasBase := rowSummaries[g.Base]
	for _, name := range rowOrder {
		if rowSummaries[name].Kind == ZeroShot && t.ZeroShot == "" {
			t.ZeroShot = name
		}
	}
	zero, hasZero := rowSummaries[t.ZeroShot]
	for _, name := range rowOrder {
		sum := rowSummaries[name]
		if hasBase {
			eq := g.Equivalence.orDefault()
			sum.VsBaseIn = Compare(sum.In, base.In, higher, eq.Margin(g.Metric, base.In.Mean))
			sum.VsBaseOOD = Compare(sum.OOD, base.OOD, higher, eq.Margin(g.Metric, base.OOD.Mean))
		}
		if hasZero && name != t.ZeroShot {
			sum.VsZeroShot = map[string]Paired{"ood": PairedTest(sum.OOD, zero.OOD, higher)}
			for _, d := range t.Domains {
				sum.VsZeroShot[d] = PairedTest(sum.Domains[d], zero.Domains[d], higher)
			}
		}
		t.Rows = append(t.Rows, sum)
	}
	// Correlations over the methods' means (main rows, no combinations).
	t.Correlations = map[string]Correlation{}
	for _, d := range append(slices.Clone(t.Domains[1:]), "ood") {
		var px, py, ax, ay []float64
		for _, r := range t.Rows {
			if r.Kind != Main || IsCombination(r.Method) {
				continue
			}
			y := r.OOD.Mean
			if d != "ood" {
				y = r.Domains[d].Mean
			}
			if r.In.N == 0 || math.IsNaN(y) {
				continue
			}
			ax, ay = append(ax, r.In.Mean), append(ay, y)
			if !IsTRAM(r.Method) {
				px, py = append(px, r.In.Mean), append(py, y)
			}
		}
		t.Correlations[d] = Correlation{Prior: Fit(px, py), All: Fit(ax, ay)}
	}
	return t
}

// domainMetrics pairs a domain's result with the grid's metric.
type domainMetrics struct {
	Metric string
	R      domainResult
}

func (m domainMetrics) value() (float64, bool) { return Value(m.Metric, m.R) }

func (m domainMetrics) sharpness() (float64, bool) {
	if m.R.Sharpness == nil {
		return 0, false
	}
	return *m.R.Sharpness, true
}

func (m domainMetrics) cka() (float64, bool) {
	if m.R.CKA == nil {
		return 0, false
	}
	return *m.R.CKA, true
}

// view is a domain's metric value.
type view struct {
	Domain string
	V      float64
}

func views(metric string, ms []domainResult) []view {
	var out []view
	for _, m := range ms {
		if v, ok := Value(metric, m); ok {
			out = append(out, view{m.Domain, v})
		}
	}
	return out
}
