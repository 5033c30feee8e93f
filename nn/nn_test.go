package nn

import (
	"math"
	"testing"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/tensor"
)

// TestBatchNormUpdatesOncePerForward: each updating forward (a micro-batch
// of pass 1) moves the running statistics once with its own batch's mean
// and unbiased variance; frozen and evaluation forwards leave them alone.
func TestBatchNormUpdatesOncePerForward(t *testing.T) {
	var ps, bufs Params
	bn := NewBatchNorm2d(&ps, &bufs, "bn", 2)
	micro := []*Tensor{
		tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6, 7, 9}, 2, 2, 2, 1),
		tensor.FromSlice([]float32{-1, 0, 2, 2, 1, 3, 0, 4}, 2, 2, 2, 1),
	}
	mean, vr := []float64{0, 0}, []float64{1, 1}
	g := autograd.NewGraph[float32]()
	for _, x := range micro {
		g.Reset()
		bn.Forward(&Pass{G: g, Train: true}, x)
		for c := 0; c < 2; c++ {
			var v []float64
			for n := 0; n < 2; n++ {
				for i := 0; i < 2; i++ {
					v = append(v, float64(x.Data[(n*2+c)*2+i]))
				}
			}
			var m, s float64
			for _, a := range v {
				m += a / float64(len(v))
			}
			for _, a := range v {
				s += (a - m) * (a - m) / float64(len(v)-1)
			}
			mean[c] = 0.9*mean[c] + 0.1*m
			vr[c] = 0.9*vr[c] + 0.1*s
		}
		g.Reset()
		bn.Forward(&Pass{G: g, Train: true, FrozenStats: true}, x)
		bn.Forward(&Pass{G: g}, x)
	}
	for c := 0; c < 2; c++ {
		if math.Abs(float64(bn.RunningMean.Data[c])-mean[c]) > 1e-6 || math.Abs(float64(bn.RunningVar.Data[c])-vr[c]) > 1e-6 {
			t.Fatalf("channel %d: running mean %v var %v, want %v %v", c, bn.RunningMean.Data[c], bn.RunningVar.Data[c], mean[c], vr[c])
		}
	}
	if n := bn.NumBatchesTracked.Data[0]; n != 2 {
		t.Fatalf("num_batches_tracked %v after two updating forwards", n)
	}
}

// TestAttentionDropoutOnlyWhenTraining: nn.Attention drops attention
// probabilities only in training passes with an RNG and a positive
// probability, drawing from the pass's RNG.
func TestAttentionDropoutOnlyWhenTraining(t *testing.T) {
	x := tensor.Randn[float32](tensor.NewRNG(1), 1, 2, 6, 24)
	g := autograd.NewGraph[float32]()
	plain := append([]float32(nil), g.Attention(x, 2, true, nil).Data...)
	same := func(y *Tensor) bool {
		for i, v := range plain {
			if math.Float32bits(v) != math.Float32bits(y.Data[i]) {
				return false
			}
		}
		return true
	}
	for _, p := range []*Pass{
		{G: g, RNG: tensor.NewRNG(2)},              // evaluation
		{G: g, Train: true},                        // no RNG
		{G: g, Train: true, RNG: tensor.NewRNG(2)}, // probability 0 below
	} {
		prob := 0.5
		if p.RNG != nil && p.Train {
			prob = 0
		}
		if !same(Attention(p, x, 2, true, nil, prob)) {
			t.Fatalf("pass %+v with probability %v changed the attention", *p, prob)
		}
	}
	a := Attention(&Pass{G: g, Train: true, RNG: tensor.NewRNG(2)}, x, 2, true, nil, 0.5)
	if same(a) {
		t.Fatal("probability 0.5 in training left the attention unchanged")
	}
	b := Attention(&Pass{G: g, Train: true, RNG: tensor.NewRNG(2)}, x, 2, true, nil, 0.5)
	for i := range a.Data {
		if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
			t.Fatal("the same seed drew another mask")
		}
	}
}
