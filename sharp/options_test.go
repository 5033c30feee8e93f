package sharp

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestDefaultOptions: the defaults of docs/METHOD.md §12, method by method,
// build without error, and leave the fields a method does not read zero.
func TestDefaultOptions(t *testing.T) {
	inf := math.Inf(1)
	tram := Options{Divergence: KLForward, Kappa: 1, MaxRadius: inf}
	want := map[string]Options{
		"sgd": {}, "adamw": {},
		"sam":         {Rho: 0.05},
		"asam":        {Rho: 0.5},
		"fsam":        {Gamma: 0.1, Eta: 0.1},
		"tram-theta0": tram,
		"tram-prev":   tram,
		"tram-ema":    {EMADecay: 0.999, Divergence: KLForward, Kappa: 1, MaxRadius: inf},
		"tram-x":      {Sigma: 0.01, Divergence: KLForward, Kappa: 1, MaxRadius: inf},
		"tram-fisher": {Gamma: 0.1, Eta: 0.1, Sigma: 0.01},
		"trpo":        {Lambda: 0.1},
		"r3f":         {Lambda: 0.1, Sigma: 0.1},
		"r4f":         {Lambda: 0.1, Sigma: 0.1},
		"mesa":        {Lambda: 0.1, EMADecay: 0.999, Tau: 1},
		"asam+trpo":   {Rho: 0.5, Lambda: 0.1},
		"asam+r3f":    {Rho: 0.5, Lambda: 0.1, Sigma: 0.1},
		"asam+mesa":   {Rho: 0.5, Lambda: 0.1, EMADecay: 0.999, Tau: 1},
		"l2sp":        {Lambda: 0.01},
	}
	if len(want) != len(MethodNames) {
		t.Fatalf("table covers %d of %d methods", len(want), len(MethodNames))
	}
	for _, name := range MethodNames {
		got := DefaultOptions(name)
		if !reflect.DeepEqual(got, want[name]) {
			t.Errorf("DefaultOptions(%q) = %+v, want %+v", name, got, want[name])
		}
		if _, err := NewMethod(name, got); err != nil {
			t.Errorf("NewMethod(%q, DefaultOptions) = %v", name, err)
		}
		// Every field not read is zero.
		used := OptionsUsed(name)
		v := reflect.ValueOf(got)
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i).Name; !slices.Contains(used, f) && !v.Field(i).IsZero() {
				t.Errorf("DefaultOptions(%q).%s = %v, but %s does not read it", name, f, v.Field(i), name)
			}
		}
	}
	if DefaultOptions("lookahead") != (Options{}) {
		t.Error("DefaultOptions of an unknown method is not the zero Options")
	}
}

// TestOptionsUsed: the lists name real fields, in the order of Options, and
// match what each method builds.
func TestOptionsUsed(t *testing.T) {
	typ := reflect.TypeOf(Options{})
	for _, c := range []struct {
		method string
		want   []string
	}{
		{"sgd", []string{}},
		{"sam", []string{"Rho", "MSharpness"}},
		{"asam", []string{"Rho", "Eta", "WeightsOnly", "MSharpness"}},
		{"fsam", []string{"Gamma", "Eta", "MSharpness"}},
		{"tram-prev", []string{"Eta", "Divergence", "Kappa", "MaxRadius", "WeightsOnly", "NoGradientFactor", "TargetEvalMode", "MSharpness"}},
		{"tram-ema", []string{"Eta", "EMADecay", "Divergence", "Kappa", "MaxRadius", "WeightsOnly", "NoGradientFactor", "TargetEvalMode", "MSharpness"}},
		{"tram-x", []string{"Eta", "Sigma", "UniformNoise", "Divergence", "Kappa", "MaxRadius", "WeightsOnly", "NoGradientFactor", "TargetEvalMode", "MSharpness"}},
		{"tram-fisher", []string{"Gamma", "Eta", "Sigma", "UniformNoise", "MSharpness"}},
		{"trpo", []string{"Lambda"}},
		{"r4f", []string{"Lambda", "Sigma", "UniformNoise", "OneSidedKL"}},
		{"mesa", []string{"Lambda", "EMADecay", "Tau"}},
		{"asam+r3f", []string{"Rho", "Eta", "Lambda", "Sigma", "UniformNoise", "WeightsOnly", "MSharpness", "OneSidedKL"}},
		{"asam+mesa", []string{"Rho", "Eta", "Lambda", "EMADecay", "Tau", "WeightsOnly", "MSharpness"}},
		{"l2sp", []string{"Lambda"}},
		{"lookahead", nil},
	} {
		got := OptionsUsed(c.method)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("OptionsUsed(%q) = %v, want %v", c.method, got, c.want)
		}
	}
	for _, name := range MethodNames {
		prev := -1
		for _, f := range OptionsUsed(name) {
			sf, ok := typ.FieldByName(f)
			if !ok || f == "Seed" {
				t.Fatalf("OptionsUsed(%q) names %q, not an option", name, f)
			}
			if sf.Index[0] <= prev {
				t.Errorf("OptionsUsed(%q) out of the order of Options at %s", name, f)
			}
			prev = sf.Index[0]
		}
	}
}

// TestOptionsValidated: out-of-range values of the options a method reads
// are refused with the option's name and range; the edges are accepted;
// options the method does not read are not checked.
func TestOptionsValidated(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, c := range []struct {
		method string
		set    func(*Options)
		err    string // "" when valid
	}{
		{"sam", func(o *Options) { o.Rho = -0.1 }, "Rho = -0.1 is outside its valid range [0, ∞)"},
		{"sam", func(o *Options) { o.Rho = nan }, "Rho = NaN"},
		{"sam", func(o *Options) { o.Rho = inf }, "Rho = +Inf"},
		{"sam", func(o *Options) { o.Rho = 0 }, ""},
		{"sam", func(o *Options) { o.Tau, o.Lambda = 0, -1 }, ""}, // not read by SAM
		{"fsam", func(o *Options) { o.Gamma = -1 }, "Gamma = -1"},
		{"fsam", func(o *Options) { o.Eta = -1e-9 }, "Eta = -1e-09"},
		{"asam", func(o *Options) { o.Eta = -0.01 }, "Eta = -0.01"},
		{"tram-prev", func(o *Options) { o.Eta = -0.01 }, "Eta = -0.01"},
		{"trpo", func(o *Options) { o.Lambda = -0.1 }, "Lambda = -0.1"},
		{"trpo", func(o *Options) { o.Lambda = 0 }, ""},
		{"l2sp", func(o *Options) { o.Lambda = -0.01 }, "Lambda = -0.01"},
		{"l2sp", func(o *Options) { o.Lambda = nan }, "Lambda = NaN"},
		{"l2sp", func(o *Options) { o.Lambda = 0 }, ""},
		{"l2sp", func(o *Options) { o.Rho = -1 }, ""}, // not read by L2-SP
		{"r3f", func(o *Options) { o.Sigma = -0.1 }, "Sigma = -0.1"},
		{"tram-x", func(o *Options) { o.Sigma = 0 }, ""},
		{"mesa", func(o *Options) { o.Tau = 0 }, "Tau = 0 is outside its valid range (0, ∞)"},
		{"mesa", func(o *Options) { o.Tau = -1 }, "Tau = -1"},
		{"mesa", func(o *Options) { o.EMADecay = 1.5 }, "EMADecay = 1.5 is outside its valid range [0, 1]"},
		{"tram-ema", func(o *Options) { o.EMADecay = -0.1 }, "EMADecay = -0.1"},
		{"tram-ema", func(o *Options) { o.EMADecay = 0 }, ""},
		{"tram-ema", func(o *Options) { o.EMADecay = 1 }, ""},
		{"tram-theta0", func(o *Options) { o.Kappa = -1 }, "Kappa = -1"},
		{"tram-theta0", func(o *Options) { o.Kappa = 0 }, ""},
		{"tram-theta0", func(o *Options) { o.MaxRadius = -1 }, "MaxRadius = -1"},
		{"tram-theta0", func(o *Options) { o.MaxRadius = nan }, "MaxRadius = NaN"},
		{"tram-theta0", func(o *Options) { o.MaxRadius = 0 }, ""},
		{"tram-theta0", func(o *Options) { o.MaxRadius = 0.5 }, ""},
		{"tram-theta0", func(o *Options) { o.Divergence = nil }, "Divergence is nil"},
		{"tram-x", func(o *Options) { o.Divergence = MMD }, ""},
	} {
		o := DefaultOptions(c.method)
		c.set(&o)
		_, err := NewMethod(c.method, o)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s %+v: unexpected error %v", c.method, o, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s %+v: error %v, want one containing %q", c.method, o, err, c.err)
		}
	}
}

// TestOptionsReachTheStrategies: each option lands where it acts.
func TestOptionsReachTheStrategies(t *testing.T) {
	o := DefaultOptions("tram-ema")
	o.Eta, o.EMADecay, o.Kappa, o.MaxRadius, o.Divergence = 0.01, 0.5, 2, 0.3, KLReverse
	o.WeightsOnly, o.NoGradientFactor, o.MSharpness = true, true, true
	m, err := NewMethod("tram-ema", o)
	if err != nil {
		t.Fatal(err)
	}
	p := m.Perturb
	tr := p.Radius.(TrustRegion)
	if p.Eta != 0.01 || !p.WeightsOnly || !p.NoGradientFactor || !p.MSharpness || tr.Scale != 2 || tr.Max != 0.3 ||
		tr.Divergence != KLReverse || tr.Target.(*ParamTarget).Decay != 0.5 {
		t.Errorf("tram-ema built as %+v, radius %+v", p, tr)
	}
	r := DefaultOptions("asam+r3f")
	r.OneSidedKL, r.Lambda, r.Sigma, r.UniformNoise = true, 0.3, 0.2, true
	m, err = NewMethod("asam+r3f", r)
	if err != nil {
		t.Fatal(err)
	}
	reg := m.Reg.(*R3F)
	if u, ok := reg.Noise.(UniformNoise); !reg.OneSided || reg.Lambda != 0.3 || !ok || u.Sigma != 0.2 || m.Perturb.Radius != Fixed(0.5) {
		t.Errorf("asam+r3f built as %+v with %+v", reg, m.Perturb)
	}
	mesa := DefaultOptions("mesa")
	mesa.Tau, mesa.EMADecay = 3, 0
	m, _ = NewMethod("mesa", mesa)
	if mr := m.Reg.(*MESA); mr.Tau != 3 || mr.Ref.Decay != 0 {
		t.Errorf("mesa built as %+v", mr)
	}
	l2 := DefaultOptions("l2sp")
	l2.Lambda = 0.3
	m, _ = NewMethod("l2sp", l2)
	if a := m.Anchor; a == nil || a.Lambda != 0.3 || a.Ref.Decay != 1 || m.Perturb != nil || m.Reg != nil {
		t.Errorf("l2sp built as %+v", m)
	}
}
