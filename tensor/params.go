package tensor

import "fmt"

// Params is a named set of parameter tensors stored in one contiguous arena.
//
// Every parameter's Data is a view into Data and its Grad a view into the twin
// arena Grad, in the order the parameters were added. Optimizers and the
// sharpness-aware methods can therefore compute norms, copies and updates as
// single flat loops over Data and Grad.
type Params[T Float] struct {
	Data []T // all parameter values, concatenated in order
	Grad []T // all gradients, same layout as Data

	list  []*Tensor[T]
	offs  []int
	index map[string]int
}

// Add creates a zero parameter with the given name and shape, appends it to
// the arena and returns it. Names must be unique. Adding may move the arena;
// views of earlier parameters are updated. Add every parameter before the
// arena is used (and never while another arena is swapped in).
func (p *Params[T]) Add(name string, shape ...int) *Tensor[T] {
	if p.index == nil {
		p.index = map[string]int{}
	}
	if _, dup := p.index[name]; dup {
		panic(fmt.Sprintf("tensor: parameter %q added twice", name))
	}
	t := &Tensor[T]{requiresGrad: true, name: name}
	t.SetShape(shape...)
	off := len(p.Data)
	n := t.Len()
	p.Data = grow(p.Data, n)
	p.Grad = grow(p.Grad, n)
	p.index[name] = len(p.list)
	p.list = append(p.list, t)
	p.offs = append(p.offs, off)
	p.rebind()
	return t
}

func grow[T Float](s []T, n int) []T {
	if len(s)+n <= cap(s) {
		return s[:len(s)+n]
	}
	ns := make([]T, len(s)+n, 2*(len(s)+n))
	copy(ns, s)
	return ns
}

func (p *Params[T]) rebind() {
	for i, t := range p.list {
		off, n := p.offs[i], t.Len()
		t.Data = p.Data[off : off+n : off+n]
		t.Grad = p.Grad[off : off+n : off+n]
	}
}

// Swap makes every parameter's Data a view into data instead of the
// current arena and returns the previous arena. data must have Len()
// elements. Swapping lets a caller evaluate the model at another point of
// parameter space (a perturbed or a reference copy) without copying.
func (p *Params[T]) Swap(data []T) []T {
	if len(data) != len(p.Data) {
		panic(fmt.Sprintf("tensor: Params.Swap with %d values for %d parameters", len(data), len(p.Data)))
	}
	prev := p.Data
	p.Data = data
	for i, t := range p.list {
		off, n := p.offs[i], t.Len()
		t.Data = data[off : off+n : off+n]
	}
	return prev
}

// List returns the parameters in the order they were added. The caller must
// not modify the slice.
func (p *Params[T]) List() []*Tensor[T] { return p.list }

// Get returns the parameter with the given name, or nil.
func (p *Params[T]) Get(name string) *Tensor[T] {
	i, ok := p.index[name]
	if !ok {
		return nil
	}
	return p.list[i]
}

// Offset returns where parameter i starts in Data and Grad.
func (p *Params[T]) Offset(i int) int { return p.offs[i] }

// Len returns the total number of scalar parameters.
func (p *Params[T]) Len() int { return len(p.Data) }

// ZeroGrad sets every gradient to zero.
func (p *Params[T]) ZeroGrad() { clear(p.Grad) }
