package grid

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Estimate is a mean over seeds with its 95% confidence interval.
type Estimate struct {
	Mean float64 `json:"mean"`
	// CI95 is the half-width of the 95% interval of the mean (Student's t
	// with n−1 degrees of freedom; 0 when n < 2).
	CI95 float64 `json:"ci95"`
	N    int     `json:"n"`
	// Values are the per-seed values, in seed order.
	Values []float64 `json:"values"`
	Seeds  []int     `json:"seeds"`
}

// Estimated returns the mean and 95% interval of values (one per seed).
func Estimated(values []float64, seeds []int) Estimate {
	e := Estimate{N: len(values), Values: values, Seeds: seeds, Mean: math.NaN()}
	if e.N == 0 {
		return e
	}
	e.Mean = stat.Mean(values, nil)
	if e.N > 1 {
		sd := stat.StdDev(values, nil)
		e.CI95 = tQuantile(0.975, float64(e.N-1)) * sd / math.Sqrt(float64(e.N))
	}
	return e
}

func tQuantile(p, dof float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: dof}.Quantile(p)
}

// Paired compares two rows seed by seed.
type Paired struct {
	// Diff is the mean difference a − b over the seeds both have, with its
	// interval.
	Diff Estimate `json:"diff"`
	// P is the two-sided p-value of the paired t-test; NaN when n < 2 or
	// every difference is zero. When every seed differs by the same
	// non-zero amount the t statistic is infinite (on accuracies over a
	// few hundred examples this happens by discreteness, e.g. one example
	// on each of two seeds), and P is the exact two-sided sign test's,
	// 2·2⁻ⁿ: no fewer than 6 seeds can make that significant.
	P float64 `json:"p_paired_t"`
	// Wins counts the seeds where a is better than b (by the grid's
	// direction), Losses where it is worse.
	Wins   int `json:"wins"`
	Losses int `json:"losses"`
}

// PairedTest compares a with b over their common seeds; higher says which
// direction is better.
func PairedTest(a, b Estimate, higher bool) Paired {
	var d []float64
	var seeds []int
	var p Paired
	for i, s := range a.Seeds {
		j := slices.Index(b.Seeds, s)
		if j < 0 {
			continue
		}
		x := a.Values[i] - b.Values[j]
		d, seeds = append(d, x), append(seeds, s)
		switch {
		case x > 0 == higher && x != 0:
			p.Wins++
		case x != 0:
			p.Losses++
		}
	}
	p.Diff = Estimated(d, seeds)
	p.P = math.NaN()
	if n := len(d); n > 1 {
		switch sd := spread(d); {
		case sd > 0:
			t := p.Diff.Mean / (sd / math.Sqrt(float64(n)))
			p.P = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Survival(math.Abs(t))
		case p.Diff.Mean != 0:
			p.P = math.Min(1, 2*math.Pow(0.5, float64(n)))
		}
	}
	return p
}

// spread is the standard deviation of d, or 0 when it is only rounding
// error: differences of metrics computed in floating point (accuracy as
// 100·k/n) that are equal in exact arithmetic differ by about 1e-14, which
// would make a t statistic astronomically large. Below 1e-9 of the largest
// |d| the differences count as equal, and the tests take their
// zero-variance rules.
func spread(d []float64) float64 {
	sd := stat.StdDev(d, nil)
	top := 0.0
	for _, x := range d {
		top = math.Max(top, math.Abs(x))
	}
	if sd <= 1e-9*top {
		return 0
	}
	return sd
}

// Pearson returns the correlation of x and y and its two-sided p-value
// (t-test with n−2 degrees of freedom); NaN when n < 3.
func Pearson(x, y []float64) (rho, p float64) {
	n := len(x)
	if n < 3 {
		return math.NaN(), math.NaN()
	}
	rho = stat.Correlation(x, y, nil)
	if math.Abs(rho) >= 1 {
		return rho, 0
	}
	t := rho * math.Sqrt(float64(n-2)/(1-rho*rho))
	return rho, 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 2)}.Survival(math.Abs(t))
}

// Line is a least-squares line y = Intercept + Slope·x.
type Line struct {
	Intercept float64 `json:"intercept"`
	Slope     float64 `json:"slope"`
	Rho       float64 `json:"pearson"`
	P         float64 `json:"p"`
	N         int     `json:"n"`
}

// Fit returns the least-squares line through the points.
func Fit(x, y []float64) Line {
	l := Line{N: len(x), Intercept: math.NaN(), Slope: math.NaN()}
	if len(x) >= 2 {
		l.Intercept, l.Slope = stat.LinearRegression(x, y, nil, false)
	}
	l.Rho, l.P = Pearson(x, y)
	return l
}

// Point is one (in-domain, out-of-domain) pair of a frontier.
type Point struct{ In, Out float64 }

// Interpolate returns the out-of-domain value the points reach at the
// in-domain value in, linearly between the two neighbouring points (sorted
// by In), or extrapolated from the nearest two when in lies outside them;
// outside reports the latter. It needs two points with distinct In.
func Interpolate(points []Point, in float64) (out float64, outside bool) {
	ps := slices.Clone(points)
	sort.Slice(ps, func(i, j int) bool { return ps[i].In < ps[j].In })
	ps = slices.CompactFunc(ps, func(a, b Point) bool { return a.In == b.In })
	if len(ps) < 2 {
		return math.NaN(), true
	}
	i := sort.Search(len(ps), func(i int) bool { return ps[i].In >= in })
	outside = i == 0 && in < ps[0].In || i == len(ps)
	switch {
	case i == 0:
		i = 1
	case i == len(ps):
		i = len(ps) - 1
	}
	a, b := ps[i-1], ps[i]
	return a.Out + (b.Out-a.Out)*(in-a.In)/(b.In-a.In), outside
}

// MarshalJSON writes NaN and infinite values as null.
func (e Estimate) MarshalJSON() ([]byte, error) { type plain Estimate; return marshalFinite(plain(e)) }

// MarshalJSON writes NaN and infinite values as null.
func (p Paired) MarshalJSON() ([]byte, error) { type plain Paired; return marshalFinite(plain(p)) }

// MarshalJSON writes NaN and infinite values as null.
func (l Line) MarshalJSON() ([]byte, error) { type plain Line; return marshalFinite(plain(l)) }

// marshalFinite marshals a struct whose float64 fields may be NaN or
// infinite (JSON has no such numbers): those become null.
func marshalFinite(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for i := 0; i < rt.NumField(); i++ {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		var raw []byte
		var err error
		switch f := rv.Field(i); {
		case f.Kind() == reflect.Float64 && (math.IsNaN(f.Float()) || math.IsInf(f.Float(), 0)):
			raw = []byte("null")
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Float64:
			parts := make([]string, f.Len())
			for j := range parts {
				x := f.Index(j).Float()
				parts[j] = "null"
				if !math.IsNaN(x) && !math.IsInf(x, 0) {
					parts[j] = strconv.FormatFloat(x, 'g', -1, 64)
				}
			}
			raw = []byte("[" + strings.Join(parts, ",") + "]")
		default:
			raw, err = json.Marshal(f.Interface())
		}
		if err != nil {
			return nil, err
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&b, "%q:", name)
		b.Write(raw)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
