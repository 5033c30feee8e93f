package bench

import (
	"math"
	"strings"
	"testing"
)

func TestWorkloadsTrain(t *testing.T) {
	for _, w := range Workloads {
		for _, m := range []string{"sgd", "adamw", "sam", "tram", "r3f", "tram-theta0"} {
			if w == "gpt2" {
				continue // the same shapes as gpt; covered by models/gpt2's tests
			}
			if testing.Short() && w == "gpt" {
				continue
			}
			if w == "gpt" && m != "adamw" && m != "tram" {
				continue // keep the suite quick: the gpt pair covers one plain and one two-pass method
			}
			r, err := New(w, m)
			if err != nil {
				t.Fatal(err)
			}
			first, err := r.Step()
			if err != nil {
				t.Fatal(err)
			}
			var last float64
			steps := 1 // gpt steps take about a second each
			if w == "mlp" {
				steps = 10
			}
			for range steps {
				if last, err = r.Step(); err != nil {
					t.Fatal(err)
				}
			}
			if math.IsNaN(last) || !(last < first) {
				t.Errorf("%s/%s: loss went %v → %v, want a decrease", w, m, first, last)
			}
		}
	}
}

func TestCostFollowsTheSpec(t *testing.T) {
	// The method spec's §5 table: forward/backward passes per step.
	for m, want := range map[string][2]int{"sgd": {1, 1}, "adamw": {1, 1}, "trpo": {2, 1}, "r3f": {2, 1}, "mesa": {2, 1},
		"sam": {2, 2}, "asam": {2, 2}, "fsam": {2, 2}, "tram-fisher": {2, 2}, "tram": {3, 2}, "tram-theta0": {3, 2}, "tram-x": {3, 2}} {
		r, err := New("mlp", m)
		if err != nil {
			t.Fatal(err)
		}
		if f, b := r.Cost(); f != want[0] || b != want[1] {
			t.Errorf("%s: cost %d/%d, want %d/%d", m, f, b, want[0], want[1])
		}
	}
}

func TestUnknownNames(t *testing.T) {
	if _, err := New("resnet", "sgd"); err == nil || err.Error() != `unknown workload "resnet"; valid workloads: mlp, gpt, gpt2` {
		t.Fatalf("got %v", err)
	}
	if _, err := New("mlp", "lion"); err == nil || !strings.HasPrefix(err.Error(), `unknown method "lion"; valid methods: tram, sgd, adamw, sam,`) {
		t.Fatalf("got %v", err)
	}
}

func benchStep(b *testing.B, w, m string) {
	r, err := New(w, m)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Step(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Step(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMLPSGD(b *testing.B)   { benchStep(b, "mlp", "sgd") }
func BenchmarkMLPAdamW(b *testing.B) { benchStep(b, "mlp", "adamw") }
func BenchmarkMLPSAM(b *testing.B)   { benchStep(b, "mlp", "sam") }
func BenchmarkGPTAdamW(b *testing.B) { benchStep(b, "gpt", "adamw") }
func BenchmarkGPTTRAM(b *testing.B)  { benchStep(b, "gpt", "tram") }
