package bench

import (
	"math"
	"strings"
	"testing"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/tensor"
)

func TestWorkloadsTrain(t *testing.T) {
	for _, w := range Workloads {
		for _, m := range []string{"sgd", "adamw", "sam", "tram", "r3f", "tram-theta0"} {
			if w == "gpt2" {
				continue // the same shapes as gpt; covered by models/gpt2's tests
			}
			big := w == "gpt" || w == "cnn" || w == "bert"
			if testing.Short() && big {
				continue
			}
			if big && m != "adamw" && m != "tram" {
				continue // keep the suite quick: one plain and one two-pass method on the larger workloads
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
			steps := 1 // gpt, cnn and bert steps take up to a second each
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

// TestNoBuffersAllocatedAfterWarmUp: after the warm-up steps, a step of the
// conv and encoder workloads takes every buffer from the graph's pools, and
// allocates only a handful of small objects (the step's passes and a few
// closures of its parameter-wide loops, about 20 for tram).
func TestNoBuffersAllocatedAfterWarmUp(t *testing.T) {
	if testing.Short() {
		t.Skip("several steps of the larger workloads")
	}
	for _, w := range []string{"cnn", "bert"} {
		r, err := New(w, "tram")
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Time(0)
		if err != nil {
			t.Fatal(err)
		}
		if res.BytesPerStep > 256<<10 || res.AllocsPerStep > 50 {
			t.Errorf("%s/tram: %.0f bytes in %.0f allocations per step after warm-up", w, res.BytesPerStep, res.AllocsPerStep)
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
	if _, err := New("resnet", "sgd"); err == nil || err.Error() != `unknown workload "resnet"; valid workloads: mlp, gpt, gpt2, cnn, bert` {
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

func BenchmarkMLPSGD(b *testing.B)    { benchStep(b, "mlp", "sgd") }
func BenchmarkMLPAdamW(b *testing.B)  { benchStep(b, "mlp", "adamw") }
func BenchmarkMLPSAM(b *testing.B)    { benchStep(b, "mlp", "sam") }
func BenchmarkGPTAdamW(b *testing.B)  { benchStep(b, "gpt", "adamw") }
func BenchmarkGPTTRAM(b *testing.B)   { benchStep(b, "gpt", "tram") }
func BenchmarkCNNSGD(b *testing.B)    { benchStep(b, "cnn", "sgd") }
func BenchmarkCNNTRAM(b *testing.B)   { benchStep(b, "cnn", "tram") }
func BenchmarkBERTAdamW(b *testing.B) { benchStep(b, "bert", "adamw") }
func BenchmarkBERTTRAM(b *testing.B)  { benchStep(b, "bert", "tram") }

// BenchmarkCNNEval: an evaluation forward of the cnn workload's model
// (running statistics, no gradient) on 256 images, as the experiments
// evaluate their ~9,000 images.
func BenchmarkCNNEval(b *testing.B) {
	w := newCNN(0)
	x := tensor.Randn[float32](tensor.NewRNG(1), 1, 256, 1, 28, 28)
	g := autograd.NewGraph[float32]()
	b.ReportAllocs()
	for b.Loop() {
		g.Reset()
		g.NoGrad(func() { w.Logits(&nn.Pass{G: g}, x) })
	}
}
