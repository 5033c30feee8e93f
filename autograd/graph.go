// Package autograd builds computations on tensors and differentiates them in
// reverse mode.
//
// A Graph is a define-by-run tape: every op method (g.MatMul, g.Add,
// g.LayerNorm, …) computes its result at once and, when gradients are wanted,
// appends a node whose backward rule accumulates (+=) into its inputs'
// gradients. Backward walks the tape in reverse. Each op family keeps its
// forward kernel and its backward rule side by side in one file, so every rule
// can be audited next to the math it differentiates.
//
// Buffers are recycled: tensors produced by a Graph, and their gradients, are
// owned by it and stay valid until the next Reset, after which their storage
// is reused. A training step that calls Reset first therefore allocates
// nothing once the shapes have been seen. As in PyTorch, only the gradients
// of leaves (tensors the graph did not produce, such as parameters) are
// results of Backward: an op's output gradient may be handed on to one of
// its inputs once the op's rule has run (an addition passes it through).
//
// Shape errors are programmer errors: ops panic with a message naming the op
// and both shapes.
package autograd

import (
	"fmt"
	"math/bits"

	"github.com/tramlab/tram/tensor"
)

// Float is the set of element types a Graph computes in.
type Float = tensor.Float

// Tensor is tensor.Tensor, re-exported for brevity in signatures.
type Tensor[T Float] = tensor.Tensor[T]

// A node is one recorded op: its output, inputs, saved state and the rule
// that pushes out.Grad back into the inputs' gradients.
type node[T Float] struct {
	rule rule
	out  *Tensor[T]
	in   [3]*Tensor[T]
	ints [8]int
	fl   [2]float64
	aux  [3][]T  // saved buffers (owned by the graph's pool)
	idx  []int32 // caller-owned indices (token ids, targets)
	mask []bool  // caller-owned masks
}

// Graph records operations for reverse-mode differentiation and owns the
// buffers of the tensors it produces. The zero value is ready to use; a
// Graph is not safe for concurrent use.
type Graph[T Float] struct {
	nodes   []node[T]
	noGrad  int
	free    map[int][][]T // recycled buffers by size class (see sizeClass)
	used    [][]T         // buffers handed out since the last Reset
	headers []*Tensor[T]  // tensor headers, reused after Reset
	nhdr    int
	ws      []T // scratch of the op that is running (workspace)
}

// NewGraph returns an empty graph that records gradients.
func NewGraph[T Float]() *Graph[T] {
	return &Graph[T]{free: map[int][][]T{}}
}

// Reset forgets the tape and recycles every buffer and tensor the graph has
// produced. Tensors returned by earlier ops must not be used afterwards.
func (g *Graph[T]) Reset() {
	for i := range g.nodes {
		g.nodes[i] = node[T]{}
	}
	g.nodes = g.nodes[:0]
	for _, b := range g.used {
		c := sizeClass(cap(b))
		g.free[c] = append(g.free[c], b)
	}
	clear(g.used)
	g.used = g.used[:0]
	for _, h := range g.headers[:g.nhdr] {
		*h = Tensor[T]{}
	}
	g.nhdr = 0
}

// NoGrad runs fn without recording: ops inside it produce tensors that do
// not require gradients and keep no backward state.
func (g *Graph[T]) NoGrad(fn func()) {
	g.noGrad++
	defer func() { g.noGrad-- }()
	fn()
}

// Recording reports whether ops currently record gradients.
func (g *Graph[T]) Recording() bool { return g.noGrad == 0 }

// Len returns the number of recorded nodes.
func (g *Graph[T]) Len() int { return len(g.nodes) }

// buf returns a zeroed buffer of length n owned by the graph until Reset.
func (g *Graph[T]) buf(n int) []T {
	b := g.bufNoZero(n)
	clear(b)
	return b
}

// bufNoZero is buf without clearing, for buffers the caller fully overwrites.
func (g *Graph[T]) bufNoZero(n int) []T {
	if g.free == nil { // a zero Graph is ready to use
		g.free = map[int][][]T{}
	}
	c := sizeClass(n)
	var b []T
	// Take a free buffer of n's class or of one of the next classes (at
	// most twice n's capacity), so that steps whose shapes vary (text
	// batches padded to their longest sequence) reuse each other's
	// buffers instead of keeping one set per length.
	for k := c; k <= c+classesPerOctave && b == nil; k++ {
		if fl := g.free[k]; len(fl) > 0 {
			b = fl[len(fl)-1]
			g.free[k] = fl[:len(fl)-1]
		}
	}
	if b == nil {
		b = make([]T, classSize(c))
	}
	g.used = append(g.used, b) // b has len == cap: free buffers are kept whole
	return b[:n:n]
}

// classesPerOctave is how finely buffer sizes are classed: each doubling of
// size spans this many classes, so a buffer is at most 1/4 larger than
// asked for in its own class.
const classesPerOctave = 4

// sizeClass returns the class of a buffer of n elements: sizes 0…8 are
// their own classes, larger ones round up to m·2^k with m ∈ {4, 5, 6, 7}.
func sizeClass(n int) int {
	if n <= 8 {
		return n
	}
	k := bits.Len(uint(n-1)) - 3 // n-1 < 8·2^k
	m := (n + 1<<k - 1) >> k     // ⌈n / 2^k⌉ ∈ 5…8
	if m == 8 {
		k, m = k+1, 4
	}
	return 8 + (k-1)*classesPerOctave + (m - 4)
}

// classSize returns the largest size in class c, the capacity buffers of
// that class are allocated with.
func classSize(c int) int {
	if c <= 8 {
		return c
	}
	k, m := (c-8)/classesPerOctave+1, (c-8)%classesPerOctave+4
	return m << k
}

// workspace returns a scratch slice of length n, not zeroed, that is valid
// only until the next call: an op uses it for temporaries that do not
// outlive it (a convolution's column matrices), so they stay in cache from
// one op to the next instead of each op holding its own buffers until
// Reset. It grows to the largest request and is then reused.
func (g *Graph[T]) workspace(n int) []T {
	if cap(g.ws) < n {
		g.ws = make([]T, n)
	}
	return g.ws[:n]
}

// Buffer returns a zeroed scratch slice of length n that the graph owns until
// the next Reset. Layers use it for per-step state such as dropout masks.
func (g *Graph[T]) Buffer(n int) []T { return g.buf(n) }

// header returns a recycled tensor header with the given shape and no data.
func (g *Graph[T]) header(shape ...int) *Tensor[T] {
	if g.nhdr == len(g.headers) {
		g.headers = append(g.headers, &Tensor[T]{})
	}
	t := g.headers[g.nhdr]
	g.nhdr++
	t.SetShape(shape...)
	return t
}

// newTensor returns a graph-owned tensor of the given shape; its data is not
// zeroed (ops overwrite it).
func (g *Graph[T]) newTensor(shape ...int) *Tensor[T] {
	t := g.header(shape...)
	t.Data = g.bufNoZero(t.Len())
	return t
}

// Zeros returns a graph-owned tensor of zeros.
func (g *Graph[T]) Zeros(shape ...int) *Tensor[T] {
	t := g.header(shape...)
	t.Data = g.buf(t.Len())
	return t
}

// Constant returns a graph-owned tensor holding a copy of data, which does
// not require gradients.
func (g *Graph[T]) Constant(data []T, shape ...int) *Tensor[T] {
	t := g.newTensor(shape...)
	if len(data) != len(t.Data) {
		panic(fmt.Sprintf("autograd: Constant: %d values for shape %v", len(data), t.Shape()))
	}
	copy(t.Data, data)
	return t
}

// grad returns t's gradient buffer, attaching a zeroed one if needed.
func (g *Graph[T]) grad(t *Tensor[T]) []T {
	if t.Grad == nil {
		t.Grad = g.buf(len(t.Data))
	}
	return t.Grad
}

// gradFresh returns t's gradient buffer like grad, and reports whether it
// was attached just now without being zeroed: the caller must then write
// every element (=) instead of accumulating into it (+=), which saves
// clearing the buffer first.
func (g *Graph[T]) gradFresh(t *Tensor[T]) ([]T, bool) {
	if t.Grad == nil {
		t.Grad = g.bufNoZero(len(t.Data))
		return t.Grad, true
	}
	return t.Grad, false
}

// gradInto is gradFresh for a rule whose input gradient has as many
// elements as the output's and is computed element by element (or after
// reductions that read all of dY first): when the input has no gradient
// yet, it takes over the output's gradient buffer, which no node reads
// after this one, and the rule writes its result over dY in place: no new
// buffer, and no memory traffic to bring one into the cache.
func (g *Graph[T]) gradInto(x, out *Tensor[T]) ([]T, bool) {
	if x.Grad == nil && out.Grad != nil && len(out.Grad) == len(x.Data) {
		x.Grad = out.Grad
		return x.Grad, true
	}
	return g.gradFresh(x)
}

// needsGrad reports whether an op on these inputs must be recorded.
func (g *Graph[T]) needsGrad(in ...*Tensor[T]) bool {
	if g.noGrad > 0 {
		return false
	}
	for _, t := range in {
		if t != nil && t.RequiresGrad() {
			return true
		}
	}
	return false
}

// record appends a node for out if any input requires a gradient, marks out
// accordingly, and returns the node (nil when nothing was recorded).
func (g *Graph[T]) record(out *Tensor[T], r rule, in ...*Tensor[T]) *node[T] {
	if !g.needsGrad(in...) {
		return nil
	}
	out.MarkRequiresGrad(true) // its gradient buffer attaches lazily, from the pool
	g.nodes = append(g.nodes, node[T]{rule: r, out: out})
	n := &g.nodes[len(g.nodes)-1]
	copy(n.in[:], in)
	return n
}

// Backward seeds d(loss)/d(loss) = 1 and propagates gradients through the
// tape in reverse, accumulating into every tensor that requires one
// (parameters included: gradients add to what is already there). loss must
// be a one-element tensor produced by this graph.
func (g *Graph[T]) Backward(loss *Tensor[T]) {
	if loss.Len() != 1 {
		panic(fmt.Sprintf("autograd: Backward needs a one-element loss, got shape %v", loss.Shape()))
	}
	if !loss.RequiresGrad() {
		panic("autograd: Backward on a loss that does not depend on any tensor requiring gradients")
	}
	g.grad(loss)[0] += 1
	for i := len(g.nodes) - 1; i >= 0; i-- {
		n := &g.nodes[i]
		if n.out.Grad == nil {
			continue
		}
		g.backward(n)
	}
}

// A rule names the backward function of a node. Nodes store a rule rather
// than a func value because a generic function's value is a closure over its
// type dictionary: storing one in a node would allocate at every op.
type rule uint8

const (
	ruleNone rule = iota
	ruleAttention
	ruleConv2d
	rulePool
	ruleDropout
	ruleBinary
	ruleScale
	ruleUnary
	ruleGelu
	ruleGeluErf
	ruleMatMul
	ruleLinear
	ruleLayerNorm
	ruleBatchNorm
	ruleLinearCols
	ruleSumAll
	ruleReduceAxis
	ruleReshape
	rulePermute
	ruleSlice
	ruleConcat
	ruleEmbedding
	ruleSoftmax
	ruleCrossEntropy
	ruleKL
)

// backward runs n's backward rule, which pushes n.out.Grad into the
// gradients of n's inputs.
func (g *Graph[T]) backward(n *node[T]) {
	switch n.rule {
	case ruleAttention:
		attentionBackward(g, n)
	case ruleConv2d:
		conv2dBackward(g, n)
	case rulePool:
		poolBackward(g, n)
	case ruleDropout:
		dropoutBackward(g, n)
	case ruleBinary:
		binaryBackward(g, n)
	case ruleScale:
		scaleBackward(g, n)
	case ruleUnary:
		unaryBackward(g, n)
	case ruleGelu:
		geluBackward(g, n)
	case ruleGeluErf:
		geluErfBackward(g, n)
	case ruleMatMul:
		matmulBackward(g, n)
	case ruleLinear:
		linearBackward(g, n)
	case ruleLayerNorm:
		layerNormBackward(g, n)
	case ruleBatchNorm:
		batchNormBackward(g, n)
	case ruleLinearCols:
		linearColsBackward(g, n)
	case ruleSumAll:
		sumAllBackward(g, n)
	case ruleReduceAxis:
		reduceAxisBackward(g, n)
	case ruleReshape:
		reshapeBackward(g, n)
	case rulePermute:
		permuteBackward(g, n)
	case ruleSlice:
		sliceBackward(g, n)
	case ruleConcat:
		concatBackward(g, n)
	case ruleEmbedding:
		embeddingBackward(g, n)
	case ruleSoftmax:
		softmaxBackward(g, n)
	case ruleCrossEntropy:
		crossEntropyBackward(g, n)
	case ruleKL:
		klBackward(g, n)
	default:
		panic(fmt.Sprintf("autograd: node with unknown backward rule %d", n.rule))
	}
}

// wants reports whether input i of n needs its gradient.
func (n *node[T]) wants(i int) bool { return n.in[i] != nil && n.in[i].RequiresGrad() }

func shapeErr(op string, a, b []int) string {
	return fmt.Sprintf("autograd: %s: incompatible shapes %v and %v", op, a, b)
}

// shapeOf copies t's shape into an array, so ops can derive output shapes
// without allocating.
func shapeOf[T Float](t *Tensor[T]) ([tensor.MaxDims]int, int) {
	var s [tensor.MaxDims]int
	return s, copy(s[:], t.Shape())
}
