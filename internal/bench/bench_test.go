package bench

import (
	"math"
	"testing"
)

func TestWorkloadsTrain(t *testing.T) {
	for _, w := range Workloads {
		for _, m := range []string{"sgd", "adamw", "sam", "tram"} {
			if testing.Short() && w == "gpt" {
				continue
			}
			if w == "gpt" && (m == "sgd" || m == "sam") {
				continue // keep the suite quick: the gpt pair covers one plain and one two-pass method
			}
			r, err := New(w, m)
			if err != nil {
				t.Fatal(err)
			}
			first := r.Step()
			var last float32
			steps := 3
			if w == "mlp" {
				steps = 10
			}
			for range steps {
				last = r.Step()
			}
			if math.IsNaN(float64(last)) || !(last < first) {
				t.Errorf("%s/%s: loss went %v → %v, want a decrease", w, m, first, last)
			}
		}
	}
}

func TestUnknownNames(t *testing.T) {
	if _, err := New("resnet", "sgd"); err == nil || err.Error() != `unknown workload "resnet"; valid workloads: mlp, gpt` {
		t.Fatalf("got %v", err)
	}
	if _, err := New("mlp", "lion"); err == nil || err.Error() != `unknown method "lion"; valid methods: sgd, adamw, sam, tram` {
		t.Fatalf("got %v", err)
	}
}

func benchStep(b *testing.B, w, m string) {
	r, err := New(w, m)
	if err != nil {
		b.Fatal(err)
	}
	r.Step()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.Step()
	}
}

func BenchmarkMLPSGD(b *testing.B)   { benchStep(b, "mlp", "sgd") }
func BenchmarkMLPAdamW(b *testing.B) { benchStep(b, "mlp", "adamw") }
func BenchmarkMLPSAM(b *testing.B)   { benchStep(b, "mlp", "sam") }
func BenchmarkGPTAdamW(b *testing.B) { benchStep(b, "gpt", "adamw") }
func BenchmarkGPTTRAM(b *testing.B)  { benchStep(b, "gpt", "tram") }
