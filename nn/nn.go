// Package nn holds tram's layers: Linear, Embedding, LayerNorm, BatchNorm2d,
// Conv2d, Dropout and attention with dropout on its probabilities, built on
// package autograd.
//
// Layers do not own storage of their own: each registers its parameters, by
// Hugging Face–style dotted name, in a model-wide tensor.Params arena (and
// batch norm its running statistics in a second arena of buffers), so a
// whole model's parameters form one flat vector in a stable order.
//
// Every forward call takes a *Pass, which says how this forward pass runs:
// training or evaluation, whether batch norm may update its running
// statistics, the random source for dropout, and optional noise for the
// model's inputs (the trust-region methods perturb input embeddings or
// pixels).
package nn

import (
	"math/rand/v2"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/tensor"
)

// Tensor and Graph are the float32 types models compute with.
type (
	Tensor = tensor.Tensor[float32]
	Graph  = autograd.Graph[float32]
	Params = tensor.Params[float32]
)

// Pass describes one forward pass.
type Pass struct {
	G *Graph
	// Train turns dropout on and makes batch norm use batch statistics.
	Train bool
	// FrozenStats keeps batch norm's running statistics unchanged even in
	// training (pass 2 and extra forwards of the two-pass methods).
	FrozenStats bool
	// RNG draws dropout masks; nil disables dropout.
	RNG *rand.Rand
	// InputNoise, when set, is called once per model forward with the
	// model's input representation and may add noise to it in place: the
	// token (word) embeddings right after the lookup, before position and
	// token-type embeddings are added (GPT-2, BERT, RoBERTa, DistilBERT),
	// ViT's patch embeddings before the class token and positions, or a
	// copy of the normalized pixels (tram's CNN and MLP; the caller's
	// images are never modified). It is the input noise of TRAM-x,
	// TRAM-Fisher and R3F (docs/METHOD.md).
	InputNoise func(x []float32)
	// LogitsOnly tells a task that the caller needs only the logits (a
	// trust-region target): it may skip computing the loss and return nil.
	LogitsOnly bool
}

// Module is anything with named parameters.
type Module interface {
	// Params returns the model's trainable parameters, in a stable order.
	Params() *Params
	// Buffers returns non-trainable state saved with the model (batch norm
	// running statistics); it may be empty.
	Buffers() *Params
}

// Linear is y = x·W + b. Layout tells how W is stored.
type Linear struct {
	W, B *Tensor
	// TransW: W is stored [out, in] (PyTorch nn.Linear) rather than
	// [in, out] (GPT-2's Conv1D).
	TransW bool
	// Spectral, when set, normalizes W by its spectral norm in every
	// forward (W is then Spectral.Orig).
	Spectral *SpectralNorm
}

// Layout of a Linear layer's weight.
const (
	InOut = false // [in, out], GPT-2 Conv1D
	OutIn = true  // [out, in], torch.nn.Linear
)

// NewLinear registers name.weight (and name.bias when bias) in ps.
func NewLinear(ps *Params, name string, in, out int, bias bool, layout bool) *Linear {
	l := &Linear{TransW: layout}
	if layout == OutIn {
		l.W = ps.Add(name+".weight", out, in)
	} else {
		l.W = ps.Add(name+".weight", in, out)
	}
	if bias {
		l.B = ps.Add(name+".bias", out)
	}
	return l
}

// Forward applies the layer to x [..., in].
func (l *Linear) Forward(p *Pass, x *Tensor) *Tensor {
	w := l.W
	if l.Spectral != nil {
		w = l.Spectral.Weight(p)
	}
	return p.G.Linear(x, w, l.B, l.TransW)
}

// Embedding is a lookup table [vocab, dim].
type Embedding struct{ W *Tensor }

// NewEmbedding registers name.weight [vocab, dim] in ps.
func NewEmbedding(ps *Params, name string, vocab, dim int) *Embedding {
	return &Embedding{W: ps.Add(name+".weight", vocab, dim)}
}

// Forward gathers the rows for ids into a tensor of the given shape (whose
// last dimension is the embedding width).
func (e *Embedding) Forward(p *Pass, ids []int32, shape ...int) *Tensor {
	return p.G.Embedding(e.W, ids, shape...)
}

// LayerNorm normalizes the last dimension.
type LayerNorm struct {
	Weight, Bias *Tensor
	Eps          float64
}

// NewLayerNorm registers name.weight (ones) and name.bias (zeros).
func NewLayerNorm(ps *Params, name string, dim int, eps float64) *LayerNorm {
	l := &LayerNorm{Weight: ps.Add(name+".weight", dim), Bias: ps.Add(name+".bias", dim), Eps: eps}
	fill(l.Weight.Data, 1)
	return l
}

// Forward normalizes x.
func (l *LayerNorm) Forward(p *Pass, x *Tensor) *Tensor {
	return p.G.LayerNorm(x, l.Weight, l.Bias, l.Eps)
}

// BatchNorm2d normalizes per channel of [N, C, H, W] (or [N, C]) inputs.
//
// Training forwards normalize with the statistics of the batch they are
// given, and each forward that may update (Train without FrozenStats) moves
// the running statistics once, r ← (1−Momentum)·r + Momentum·s, and counts
// one in num_batches_tracked. With gradient accumulation the two-pass step
// (package sharp) calls the model once per micro-batch in pass 1, so a step
// of k micro-batches normalizes each with its own statistics and updates
// the running statistics k times, once per micro-batch, as a PyTorch loop
// that accumulates gradients over micro-batches does; it is not the same as
// one forward over the whole batch. This is deliberate, not a defect:
// pass 2 and target forwards freeze the statistics, so only pass 1 moves
// them.
type BatchNorm2d struct {
	Weight, Bias            *Tensor
	RunningMean, RunningVar *Tensor
	NumBatchesTracked       *Tensor
	Momentum, Eps           float64
}

// NewBatchNorm2d registers name.weight and name.bias in ps and the running
// statistics name.running_mean, name.running_var and
// name.num_batches_tracked in buffers, as PyTorch names them.
func NewBatchNorm2d(ps, buffers *Params, name string, channels int) *BatchNorm2d {
	b := &BatchNorm2d{
		Weight: ps.Add(name+".weight", channels), Bias: ps.Add(name+".bias", channels),
		RunningMean: buffers.Add(name+".running_mean", channels), RunningVar: buffers.Add(name+".running_var", channels),
		NumBatchesTracked: buffers.Add(name + ".num_batches_tracked"),
		Momentum:          0.1, Eps: 1e-5,
	}
	fill(b.Weight.Data, 1)
	fill(b.RunningVar.Data, 1)
	return b
}

// Forward normalizes x with batch statistics in training (updating the
// running ones unless p.FrozenStats) and running statistics in evaluation.
func (b *BatchNorm2d) Forward(p *Pass, x *Tensor) *Tensor {
	mode := autograd.RunningStats
	if p.Train {
		mode = autograd.BatchStatsUpdate
		if p.FrozenStats {
			mode = autograd.BatchStats
		} else {
			b.NumBatchesTracked.Data[0]++
		}
	}
	return p.G.BatchNorm(x, b.Weight, b.Bias, b.RunningMean, b.RunningVar, mode, b.Momentum, b.Eps)
}

// Conv2d is a 2-D convolution with weight [out, in, k, k].
type Conv2d struct {
	W, B        *Tensor
	Stride, Pad int
}

// NewConv2d registers name.weight [out, in, k, k] (and name.bias).
func NewConv2d(ps *Params, name string, in, out, k, stride, pad int, bias bool) *Conv2d {
	c := &Conv2d{W: ps.Add(name+".weight", out, in, k, k), Stride: stride, Pad: pad}
	if bias {
		c.B = ps.Add(name+".bias", out)
	}
	return c
}

// Forward convolves x [N, in, H, W].
func (c *Conv2d) Forward(p *Pass, x *Tensor) *Tensor {
	return p.G.Conv2d(x, c.W, c.B, c.Stride, c.Pad)
}

// Dropout zeroes elements with probability P in training passes that have
// an RNG.
func Dropout(p *Pass, x *Tensor, prob float64) *Tensor {
	if !p.Train || prob == 0 || p.RNG == nil {
		return x
	}
	return p.G.Dropout(x, prob, p.RNG)
}

// Attention is fused multi-head self-attention on qkv [B, T, 3·C] (see
// autograd.Graph.Attention), with dropout of probability prob on the
// attention probabilities in training passes that have an RNG, drawn from
// p.RNG like Dropout's masks. prob = 0, evaluation and passes without an
// RNG run the plain attention.
func Attention(p *Pass, qkv *Tensor, heads int, causal bool, keep []bool, prob float64) *Tensor {
	if !p.Train || prob == 0 || p.RNG == nil {
		return p.G.Attention(qkv, heads, causal, keep)
	}
	return p.G.AttentionDropout(qkv, heads, causal, keep, prob, p.RNG)
}

func fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}
