// Package tensor holds tram's dense tensors: a shape, a data slice and an
// optional gradient slice of the same length, in row-major order.
//
// Tensors are generic over the element type: float32 is the hot path for
// training, float64 serves gradient checks and numerically delicate
// reductions. Parameters of a model live in one contiguous Params arena with
// per-tensor views, so optimizers can treat them as one flat vector.
//
// A Tensor does no arithmetic itself; package autograd builds computations on
// tensors and differentiates them.
package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Float is the set of element types a Tensor can hold.
type Float interface{ ~float32 | ~float64 }

// MaxDims is the largest number of dimensions a Tensor may have.
const MaxDims = 6

// Tensor is a dense row-major array with an optional gradient of the same shape.
//
// Data and Grad are exported so kernels and optimizers can loop over them
// directly; their lengths always equal Len(). Grad is nil when no gradient has
// been attached.
type Tensor[T Float] struct {
	Data []T
	Grad []T

	shape        [MaxDims]int
	ndim         int
	requiresGrad bool
	name         string
}

// New returns a zero tensor of the given shape. It panics on a negative
// dimension or more than MaxDims dimensions.
func New[T Float](shape ...int) *Tensor[T] {
	t := &Tensor[T]{}
	t.SetShape(shape...)
	t.Data = make([]T, t.Len())
	return t
}

// FromSlice returns a tensor of the given shape that uses data as its storage.
// It panics when len(data) does not match the shape.
func FromSlice[T Float](data []T, shape ...int) *Tensor[T] {
	t := &Tensor[T]{}
	t.SetShape(shape...)
	if len(data) != t.Len() {
		panic(fmt.Sprintf("tensor: FromSlice: %d elements do not fill shape %v (%d)", len(data), t.Shape(), t.Len()))
	}
	t.Data = data
	return t
}

// Scalar returns a 0-dimensional tensor holding v.
func Scalar[T Float](v T) *Tensor[T] { return FromSlice([]T{v}) }

// Randn returns a tensor of normally distributed values with the given
// standard deviation, drawn from rng.
func Randn[T Float](rng *rand.Rand, std float64, shape ...int) *Tensor[T] {
	t := New[T](shape...)
	FillNormal(rng, t.Data, std)
	return t
}

// FillNormal fills x with draws from N(0, std²).
func FillNormal[T Float](rng *rand.Rand, x []T, std float64) {
	for i := range x {
		x[i] = T(rng.NormFloat64() * std)
	}
}

// FillUniform fills x with draws from U(lo, hi).
func FillUniform[T Float](rng *rand.Rand, x []T, lo, hi float64) {
	for i := range x {
		x[i] = T(lo + (hi-lo)*rng.Float64())
	}
}

// NewRNG returns the deterministic generator tram uses for a seed.
func NewRNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
}

// SetShape changes the tensor's shape without touching its data; callers
// must keep Data's length consistent. It panics on a negative dimension or
// more than MaxDims dimensions.
func (t *Tensor[T]) SetShape(shape ...int) {
	if len(shape) > MaxDims {
		panic(fmt.Sprintf("tensor: shape %v has more than %d dimensions", slices.Clone(shape), MaxDims))
	}
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor: negative dimension in shape %v", slices.Clone(shape)))
		}
	}
	// The messages format copies of shape, so that shape does not escape:
	// callers pass shapes built in local arrays without allocating.
	t.ndim = copy(t.shape[:], shape)
}

// Shape returns the tensor's dimensions. The caller must not modify the slice.
func (t *Tensor[T]) Shape() []int { return t.shape[:t.ndim] }

// Dims returns the number of dimensions.
func (t *Tensor[T]) Dims() int { return t.ndim }

// Dim returns dimension i; negative i counts from the end.
func (t *Tensor[T]) Dim(i int) int {
	if i < 0 {
		i += t.ndim
	}
	if i < 0 || i >= t.ndim {
		panic(fmt.Sprintf("tensor: dimension %d out of range for shape %v", i, t.Shape()))
	}
	return t.shape[i]
}

// Len returns the number of elements.
func (t *Tensor[T]) Len() int {
	n := 1
	for _, d := range t.shape[:t.ndim] {
		n *= d
	}
	return n
}

// RequiresGrad reports whether gradients flow into this tensor.
func (t *Tensor[T]) RequiresGrad() bool { return t.requiresGrad }

// SetRequiresGrad marks the tensor as a leaf whose gradient is wanted (or not).
// A gradient buffer is attached when one is needed.
func (t *Tensor[T]) SetRequiresGrad(v bool) *Tensor[T] {
	t.requiresGrad = v
	if v && t.Grad == nil {
		t.Grad = make([]T, len(t.Data))
	}
	return t
}

// MarkRequiresGrad sets the requires-gradient flag without attaching a
// gradient buffer. Package autograd uses it for intermediate results, whose
// gradients it attaches from its own pool; leaves should use SetRequiresGrad.
func (t *Tensor[T]) MarkRequiresGrad(v bool) { t.requiresGrad = v }

// Name returns the tensor's name ("" for unnamed intermediates).
func (t *Tensor[T]) Name() string { return t.name }

// SetName names the tensor, for error messages and checkpoints.
func (t *Tensor[T]) SetName(name string) *Tensor[T] { t.name = name; return t }

// ZeroGrad sets the gradient to zero, if there is one.
func (t *Tensor[T]) ZeroGrad() { clear(t.Grad) }

// At returns the element at the given multi-index.
func (t *Tensor[T]) At(idx ...int) T { return t.Data[t.offset(idx)] }

// Set stores v at the given multi-index.
func (t *Tensor[T]) Set(v T, idx ...int) { t.Data[t.offset(idx)] = v }

func (t *Tensor[T]) offset(idx []int) int {
	if len(idx) != t.ndim {
		panic(fmt.Sprintf("tensor: index %v has %d dimensions, shape %v has %d", idx, len(idx), t.Shape(), t.ndim))
	}
	off := 0
	for i, x := range idx {
		if x < 0 || x >= t.shape[i] {
			panic(fmt.Sprintf("tensor: index %v out of range for shape %v", idx, t.Shape()))
		}
		off = off*t.shape[i] + x
	}
	return off
}

// Item returns the single element of a one-element tensor.
func (t *Tensor[T]) Item() T {
	if len(t.Data) != 1 {
		panic(fmt.Sprintf("tensor: Item on shape %v with %d elements", t.Shape(), len(t.Data)))
	}
	return t.Data[0]
}

// Clone returns a deep copy of the data (and gradient, if any).
func (t *Tensor[T]) Clone() *Tensor[T] {
	c := &Tensor[T]{shape: t.shape, ndim: t.ndim, requiresGrad: t.requiresGrad, name: t.name}
	c.Data = append([]T(nil), t.Data...)
	if t.Grad != nil {
		c.Grad = append([]T(nil), t.Grad...)
	}
	return c
}

// String formats the tensor's shape and, for small tensors, its values.
func (t *Tensor[T]) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v", t.Shape())
	if t.name != "" {
		fmt.Fprintf(&b, " %q", t.name)
	}
	if len(t.Data) <= 16 {
		fmt.Fprintf(&b, " %v", t.Data)
	}
	return b.String()
}

// SameShape reports whether a and b have identical shapes.
func SameShape[T Float](a, b *Tensor[T]) bool {
	return a.ndim == b.ndim && a.shape == b.shape
}

// ShapeString formats a shape like [2 3 4].
func ShapeString(shape []int) string { return fmt.Sprint(shape) }

// AllFinite reports whether every element of x is finite.
func AllFinite[T Float](x []T) bool {
	for _, v := range x {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}
