package autograd

import (
	"math"
	"strings"
	"testing"

	"github.com/tramlab/tram/tensor"
)

type t64 = Tensor[float64]

// project reduces any tensor to a scalar with fixed random weights, so the
// check exercises every output element's gradient.
func project(g *Graph[float64], y *t64) *t64 {
	w := tensor.Randn[float64](tensor.NewRNG(99), 1, y.Shape()...)
	return g.Sum(g.Mul(y, w))
}

func rnd(seed uint64, shape ...int) *t64 {
	return tensor.Randn[float64](tensor.NewRNG(seed), 1, shape...)
}

func positive(seed uint64, shape ...int) *t64 {
	t := rnd(seed, shape...)
	for i, v := range t.Data {
		t.Data[i] = 0.5 + math.Abs(v)
	}
	return t
}

func TestGradCheckOps(t *testing.T) {
	ids := []int32{3, 0, 3, 1, 4}
	targets := []int32{2, -100, 0, 4, 1, 3}
	keep := []bool{true, true, false, true, true, true, true, false}
	cases := []struct {
		name   string
		inputs []*t64
		f      func(g *Graph[float64], in []*t64) *t64
	}{
		{"Add same", []*t64{rnd(1, 3, 4), rnd(2, 3, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.Add(in[0], in[1]) }},
		{"Add bcast row", []*t64{rnd(1, 2, 3, 4), rnd(2, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.Add(in[0], in[1]) }},
		{"Add bcast positions", []*t64{rnd(1, 2, 3, 4), rnd(2, 3, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.Add(in[0], in[1]) }},
		{"Mul bcast suffix", []*t64{rnd(1, 2, 3, 4), rnd(2, 3, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.Mul(in[0], in[1]) }},
		{"Div bcast suffix", []*t64{rnd(1, 2, 3), positive(2, 3)}, func(g *Graph[float64], in []*t64) *t64 { return g.Div(in[0], in[1]) }},
		{"Sub bcast col", []*t64{rnd(1, 3, 4), rnd(2, 3, 1)}, func(g *Graph[float64], in []*t64) *t64 { return g.Sub(in[0], in[1]) }},
		{"Mul bcast both", []*t64{rnd(1, 3, 1), rnd(2, 1, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.Mul(in[0], in[1]) }},
		{"Mul same", []*t64{rnd(1, 5), rnd(2, 5)}, func(g *Graph[float64], in []*t64) *t64 { return g.Mul(in[0], in[1]) }},
		{"Div", []*t64{rnd(1, 2, 3), positive(2, 2, 3)}, func(g *Graph[float64], in []*t64) *t64 { return g.Div(in[0], in[1]) }},
		{"Div bcast scalar", []*t64{rnd(1, 2, 3), positive(2, 1)}, func(g *Graph[float64], in []*t64) *t64 { return g.Div(in[0], in[1]) }},
		{"Scale", []*t64{rnd(1, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.Scale(in[0], -1.5, 2) }},
		{"Exp", []*t64{rnd(1, 6)}, func(g *Graph[float64], in []*t64) *t64 { return g.Exp(in[0]) }},
		{"Log", []*t64{positive(1, 6)}, func(g *Graph[float64], in []*t64) *t64 { return g.Log(in[0]) }},
		{"Tanh", []*t64{rnd(1, 6)}, func(g *Graph[float64], in []*t64) *t64 { return g.Tanh(in[0]) }},
		{"ReLU", []*t64{rnd(1, 10)}, func(g *Graph[float64], in []*t64) *t64 { return g.ReLU(in[0]) }},
		{"GELU", []*t64{rnd(1, 10)}, func(g *Graph[float64], in []*t64) *t64 { return g.GELU(in[0]) }},
		{"GELUErf", []*t64{rnd(1, 10)}, func(g *Graph[float64], in []*t64) *t64 { return g.GELUErf(in[0]) }},
		{"Sigmoid", []*t64{rnd(1, 6)}, func(g *Graph[float64], in []*t64) *t64 { return g.Sigmoid(in[0]) }},
		{"Sqrt", []*t64{positive(1, 6)}, func(g *Graph[float64], in []*t64) *t64 { return g.Sqrt(in[0]) }},
		{"Square", []*t64{rnd(1, 6)}, func(g *Graph[float64], in []*t64) *t64 { return g.Square(in[0]) }},
		{"Abs", []*t64{rnd(1, 6)}, func(g *Graph[float64], in []*t64) *t64 { return g.Abs(in[0]) }},
		{"MatMul NN", []*t64{rnd(1, 3, 4), rnd(2, 4, 5)}, func(g *Graph[float64], in []*t64) *t64 { return g.MatMul(in[0], in[1], false, false) }},
		{"MatMul TN", []*t64{rnd(1, 4, 3), rnd(2, 4, 5)}, func(g *Graph[float64], in []*t64) *t64 { return g.MatMul(in[0], in[1], true, false) }},
		{"MatMul NT", []*t64{rnd(1, 3, 4), rnd(2, 5, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.MatMul(in[0], in[1], false, true) }},
		{"MatMul TT", []*t64{rnd(1, 4, 3), rnd(2, 5, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.MatMul(in[0], in[1], true, true) }},
		{"MatMul batched", []*t64{rnd(1, 2, 3, 4), rnd(2, 2, 4, 2)}, func(g *Graph[float64], in []*t64) *t64 { return g.MatMul(in[0], in[1], false, false) }},
		{"MatMul batched TT", []*t64{rnd(1, 2, 4, 3), rnd(2, 2, 2, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.MatMul(in[0], in[1], true, true) }},
		{"MatMul shared B", []*t64{rnd(1, 2, 3, 4), rnd(2, 4, 2)}, func(g *Graph[float64], in []*t64) *t64 { return g.MatMul(in[0], in[1], false, false) }},
		{"MatMul shared B^T", []*t64{rnd(1, 2, 3, 4), rnd(2, 2, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.MatMul(in[0], in[1], false, true) }},
		{"MatMul A^T shared B", []*t64{rnd(1, 2, 4, 3), rnd(2, 4, 2)}, func(g *Graph[float64], in []*t64) *t64 { return g.MatMul(in[0], in[1], true, false) }},
		{"MatMul A^T shared B^T", []*t64{rnd(1, 2, 4, 3), rnd(2, 2, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.MatMul(in[0], in[1], true, true) }},
		{"Linear [in,out]", []*t64{rnd(1, 2, 3, 4), rnd(2, 4, 5), rnd(3, 5)}, func(g *Graph[float64], in []*t64) *t64 { return g.Linear(in[0], in[1], in[2], false) }},
		{"Linear [out,in]", []*t64{rnd(1, 3, 4), rnd(2, 5, 4), rnd(3, 5)}, func(g *Graph[float64], in []*t64) *t64 { return g.Linear(in[0], in[1], in[2], true) }},
		{"Linear no bias", []*t64{rnd(1, 3, 4), rnd(2, 5, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.Linear(in[0], in[1], nil, true) }},
		{"Reshape", []*t64{rnd(1, 2, 6)}, func(g *Graph[float64], in []*t64) *t64 { return g.Reshape(in[0], 3, -1) }},
		{"Permute", []*t64{rnd(1, 2, 3, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.Permute(in[0], 2, 0, 1) }},
		{"Transpose", []*t64{rnd(1, 2, 3, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.Transpose(in[0]) }},
		{"Slice", []*t64{rnd(1, 3, 5, 2)}, func(g *Graph[float64], in []*t64) *t64 { return g.Slice(in[0], 1, 1, 4) }},
		{"Slice last axis", []*t64{rnd(1, 2, 3, 5)}, func(g *Graph[float64], in []*t64) *t64 { return g.Slice(in[0], -1, 1, 4) }},
		{"Concat", []*t64{rnd(1, 2, 3, 2), rnd(2, 2, 1, 2)}, func(g *Graph[float64], in []*t64) *t64 { return g.Concat(in[0], in[1], 1) }},
		{"Concat last axis", []*t64{rnd(1, 2, 3, 2), rnd(2, 2, 3, 3)}, func(g *Graph[float64], in []*t64) *t64 { return g.Concat(in[0], in[1], 2) }},
		{"Embedding", []*t64{rnd(1, 5, 3)}, func(g *Graph[float64], in []*t64) *t64 { return g.Embedding(in[0], ids) }},
		{"Sum", []*t64{rnd(1, 3, 2)}, func(g *Graph[float64], in []*t64) *t64 { return g.Sum(in[0]) }},
		{"Mean", []*t64{rnd(1, 3, 2)}, func(g *Graph[float64], in []*t64) *t64 { return g.Mean(in[0]) }},
		{"SumAxis", []*t64{rnd(1, 2, 3, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.SumAxis(in[0], 1) }},
		{"MeanAxis", []*t64{rnd(1, 2, 3, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.MeanAxis(in[0], -1) }},
		{"MaxAxis", []*t64{rnd(1, 2, 3, 4)}, func(g *Graph[float64], in []*t64) *t64 { return g.MaxAxis(in[0], 0) }},
		{"Softmax", []*t64{rnd(1, 3, 5)}, func(g *Graph[float64], in []*t64) *t64 { return g.Softmax(in[0]) }},
		{"LogSoftmax", []*t64{rnd(1, 3, 5)}, func(g *Graph[float64], in []*t64) *t64 { return g.LogSoftmax(in[0]) }},
		{"CrossEntropy ignore", []*t64{rnd(1, 2, 3, 5)}, func(g *Graph[float64], in []*t64) *t64 { return g.CrossEntropy(in[0], targets, -100) }},
		{"KL both sides", []*t64{rnd(1, 3, 5), rnd(2, 3, 5)}, func(g *Graph[float64], in []*t64) *t64 { return g.KL(in[0], in[1]) }},
		{"LayerNorm", []*t64{rnd(1, 3, 6), rnd(2, 6), rnd(3, 6)}, func(g *Graph[float64], in []*t64) *t64 { return g.LayerNorm(in[0], in[1], in[2], 1e-5) }},
		{"BatchNorm 2d batch stats", []*t64{rnd(1, 5, 3), rnd(2, 3), rnd(3, 3)}, func(g *Graph[float64], in []*t64) *t64 {
			return g.BatchNorm(in[0], in[1], in[2], tensor.New[float64](3), tensor.FromSlice([]float64{1, 1, 1}, 3), BatchStats, 0.1, 1e-5)
		}},
		{"BatchNorm 4d batch stats", []*t64{rnd(1, 2, 3, 2, 2), rnd(2, 3), rnd(3, 3)}, func(g *Graph[float64], in []*t64) *t64 {
			return g.BatchNorm(in[0], in[1], in[2], tensor.New[float64](3), tensor.FromSlice([]float64{1, 1, 1}, 3), BatchStats, 0.1, 1e-5)
		}},
		{"BatchNorm running", []*t64{rnd(1, 2, 3, 2, 2), rnd(2, 3), rnd(3, 3)}, func(g *Graph[float64], in []*t64) *t64 {
			return g.BatchNorm(in[0], in[1], in[2], tensor.FromSlice([]float64{0.1, -0.2, 0.3}, 3), tensor.FromSlice([]float64{1, 2, 0.5}, 3), RunningStats, 0.1, 1e-5)
		}},
		{"BatchNorm 4d updating running stats", []*t64{rnd(1, 2, 3, 2, 2), rnd(2, 3), rnd(3, 3)}, func(g *Graph[float64], in []*t64) *t64 {
			// Normalizes with the batch's statistics; the running ones it
			// updates (fresh here each evaluation) do not enter the output.
			return g.BatchNorm(in[0], in[1], in[2], tensor.New[float64](3), tensor.FromSlice([]float64{1, 1, 1}, 3), BatchStatsUpdate, 0.1, 1e-5)
		}},
		{"Conv2d pad1", []*t64{rnd(1, 2, 2, 5, 5), rnd(2, 3, 2, 3, 3), rnd(3, 3)}, func(g *Graph[float64], in []*t64) *t64 { return g.Conv2d(in[0], in[1], in[2], 1, 1) }},
		{"Conv2d stride2", []*t64{rnd(1, 2, 1, 6, 5), rnd(2, 2, 1, 3, 2), nil}, func(g *Graph[float64], in []*t64) *t64 { return g.Conv2d(in[0], in[1], nil, 2, 0) }},
		{"Conv2d stride2 pad1", []*t64{rnd(1, 2, 2, 7, 6), rnd(2, 3, 2, 3, 3), rnd(3, 3)}, func(g *Graph[float64], in []*t64) *t64 { return g.Conv2d(in[0], in[1], in[2], 2, 1) }},
		{"Conv2d stride3 pad2", []*t64{rnd(1, 1, 2, 5, 7), rnd(2, 2, 2, 2, 3), nil}, func(g *Graph[float64], in []*t64) *t64 { return g.Conv2d(in[0], in[1], nil, 3, 2) }},
		{"MaxPool2d overlapping", []*t64{rnd(1, 2, 2, 7, 6)}, func(g *Graph[float64], in []*t64) *t64 { return g.MaxPool2d(in[0], 3, 2) }},
		{"MaxPool2d gaps", []*t64{rnd(1, 1, 2, 8, 7)}, func(g *Graph[float64], in []*t64) *t64 { return g.MaxPool2d(in[0], 2, 3) }},
		{"MaxPool2d", []*t64{rnd(1, 2, 2, 4, 6)}, func(g *Graph[float64], in []*t64) *t64 { return g.MaxPool2d(in[0], 2, 2) }},
		{"AvgPool2d overlap", []*t64{rnd(1, 1, 2, 5, 5)}, func(g *Graph[float64], in []*t64) *t64 { return g.AvgPool2d(in[0], 3, 1) }},
		{"Dropout", []*t64{rnd(1, 4, 5)}, func(g *Graph[float64], in []*t64) *t64 { return g.Dropout(in[0], 0.3, tensor.NewRNG(5)) }},
		{"Attention causal", []*t64{rnd(1, 2, 4, 12)}, func(g *Graph[float64], in []*t64) *t64 { return g.Attention(in[0], 2, true, nil) }},
		{"Attention bidirectional masked", []*t64{rnd(1, 2, 4, 6)}, func(g *Graph[float64], in []*t64) *t64 { return g.Attention(in[0], 1, false, keep) }},
		{"Attention causal and padding", []*t64{rnd(1, 2, 4, 12)}, func(g *Graph[float64], in []*t64) *t64 { return g.Attention(in[0], 2, true, keep) }},
		// Dropout on the attention probabilities: a fresh RNG with the same
		// seed in every evaluation fixes the mask.
		{"Attention causal dropout", []*t64{rnd(1, 2, 4, 12)}, func(g *Graph[float64], in []*t64) *t64 {
			return g.AttentionDropout(in[0], 2, true, nil, 0.3, tensor.NewRNG(5))
		}},
		{"Attention masked dropout", []*t64{rnd(1, 2, 4, 12)}, func(g *Graph[float64], in []*t64) *t64 {
			return g.AttentionDropout(in[0], 2, false, keep, 0.4, tensor.NewRNG(6))
		}},
		{"Attention causal padding dropout", []*t64{rnd(1, 2, 4, 12)}, func(g *Graph[float64], in []*t64) *t64 {
			return g.AttentionDropout(in[0], 2, true, keep, 0.5, tensor.NewRNG(7))
		}},
		// Gradients handed on or written fresh: inputs produced by ops.
		{"Add self, intermediate", []*t64{rnd(1, 3, 4)}, func(g *Graph[float64], in []*t64) *t64 {
			y := g.Scale(in[0], 1.5, 0)
			return g.Add(y, y)
		}},
		{"Add bias to intermediate", []*t64{rnd(1, 2, 3, 4), rnd(2, 4)}, func(g *Graph[float64], in []*t64) *t64 {
			return g.Add(g.Scale(in[0], 2, 0), in[1])
		}},
		{"Add hands its gradient on, then more arrives", []*t64{rnd(1, 3, 4), rnd(2, 3, 4), rnd(3, 3, 4)}, func(g *Graph[float64], in []*t64) *t64 {
			z := g.Scale(in[0], 1, 0)
			u := g.Mul(z, in[1]) // runs backward after the Add below
			w := g.Add(z, in[2])
			return g.Add(g.Mul(u, u), g.Mul(w, w))
		}},
		{"Concat of one intermediate twice", []*t64{rnd(1, 2, 3)}, func(g *Graph[float64], in []*t64) *t64 {
			z := g.Tanh(in[0])
			return g.Concat(z, z, 1)
		}},
		{"ReLU then GELUErf of intermediates", []*t64{rnd(1, 4, 5)}, func(g *Graph[float64], in []*t64) *t64 {
			z := g.Scale(in[0], 1, 0.1)
			return g.Add(g.ReLU(z), g.GELUErf(z))
		}},
		// Composed blocks.
		{"pre-LN attention block", []*t64{rnd(1, 2, 3, 4), rnd(2, 4), rnd(3, 4), rnd(4, 4, 12), rnd(5, 12), rnd(6, 4, 4)}, func(g *Graph[float64], in []*t64) *t64 {
			h := g.LayerNorm(in[0], in[1], in[2], 1e-5)
			a := g.Attention(g.Linear(h, in[3], in[4], false), 2, true, nil)
			return g.Add(in[0], g.Linear(a, in[5], nil, false))
		}},
		{"MLP block GELU", []*t64{rnd(1, 3, 4), rnd(2, 4, 8), rnd(3, 8), rnd(4, 8, 4)}, func(g *Graph[float64], in []*t64) *t64 {
			return g.Linear(g.GELU(g.Linear(in[0], in[1], in[2], false)), in[3], nil, false)
		}},
		{"conv-BN-ReLU-pool block", []*t64{rnd(1, 3, 2, 6, 6), rnd(2, 4, 2, 3, 3), rnd(3, 4), rnd(4, 4)}, func(g *Graph[float64], in []*t64) *t64 {
			c := g.Conv2d(in[0], in[1], nil, 1, 1)
			b := g.BatchNorm(c, in[2], in[3], tensor.New[float64](4), tensor.FromSlice([]float64{1, 1, 1, 1}, 4), BatchStats, 0.1, 1e-5)
			return g.MaxPool2d(g.ReLU(b), 2, 2)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ins []*t64
			for _, in := range tc.inputs {
				if in != nil {
					ins = append(ins, in)
				}
			}
			f := func(g *Graph[float64]) *t64 {
				all := make([]*t64, len(tc.inputs))
				copy(all, tc.inputs)
				y := tc.f(g, all)
				if y.Len() == 1 {
					return y
				}
				return project(g, y)
			}
			if err := GradCheck(f, ins, 1e-6, 1e-7, 1e-5); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestGradCheckDetectsWrongGradient(t *testing.T) {
	// A deliberately wrong rule must fail the check: x² whose "gradient" is x.
	x := rnd(1, 4)
	err := GradCheck(func(g *Graph[float64]) *t64 {
		y := g.Mul(x, x)
		if g.Recording() {
			// Break the rule: detach one factor so the gradient halves.
			c := g.Constant(x.Data, x.Shape()...)
			y = g.Mul(x, c)
		}
		return g.Sum(y)
	}, []*t64{x}, 1e-6, 1e-7, 1e-5)
	if err == nil || !strings.Contains(err.Error(), "gradient check failed") {
		t.Fatalf("wrong gradient not detected: %v", err)
	}
}
