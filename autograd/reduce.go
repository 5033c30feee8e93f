package autograd

import (
	"fmt"
	"math"
)

// Sum returns the sum of all elements as a one-element tensor (accumulated
// in float64).
func (g *Graph[T]) Sum(x *Tensor[T]) *Tensor[T] { return g.sumAll(x, 1) }

// Mean returns the mean of all elements as a one-element tensor.
func (g *Graph[T]) Mean(x *Tensor[T]) *Tensor[T] { return g.sumAll(x, 1/float64(max(1, x.Len()))) }

func (g *Graph[T]) sumAll(x *Tensor[T], scale float64) *Tensor[T] {
	var s float64
	for _, v := range x.Data {
		s += float64(v)
	}
	out := g.newTensor()
	out.Data[0] = T(s * scale)
	if n := g.record(out, ruleSumAll, x); n != nil {
		n.fl[0] = scale
	}
	return out
}

func sumAllBackward[T Float](g *Graph[T], n *node[T]) {
	d := n.out.Grad[0] * T(n.fl[0])
	dX := g.grad(n.in[0])
	for i := range dX {
		dX[i] += d
	}
}

type axisKind int

const (
	axisSum axisKind = iota
	axisMean
	axisMax
)

// SumAxis sums x over dimension axis, removing it.
func (g *Graph[T]) SumAxis(x *Tensor[T], axis int) *Tensor[T] { return g.reduceAxis(axisSum, x, axis) }

// MeanAxis averages x over dimension axis, removing it.
func (g *Graph[T]) MeanAxis(x *Tensor[T], axis int) *Tensor[T] {
	return g.reduceAxis(axisMean, x, axis)
}

// MaxAxis takes the maximum of x over dimension axis, removing it. The
// gradient flows to the first maximal element.
func (g *Graph[T]) MaxAxis(x *Tensor[T], axis int) *Tensor[T] { return g.reduceAxis(axisMax, x, axis) }

func (g *Graph[T]) reduceAxis(kind axisKind, x *Tensor[T], axis int) *Tensor[T] {
	if axis < 0 {
		axis += x.Dims()
	}
	if axis < 0 || axis >= x.Dims() {
		panic(fmt.Sprintf("autograd: reduction over axis %d of shape %v", axis, x.Shape()))
	}
	sh, nd := shapeOf(x)
	copy(sh[axis:], sh[axis+1:nd])
	out := g.newTensor(sh[:nd-1]...)
	outer, inner := splitAt(x.Shape(), axis)
	L := x.Dim(axis)
	var arg []T
	if kind == axisMax {
		arg = g.bufNoZero(out.Len())
	}
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*L*inner + i
			switch kind {
			case axisMax:
				best, bi := math.Inf(-1), 0
				for l := 0; l < L; l++ {
					if v := float64(x.Data[base+l*inner]); v > best || (l == 0) {
						best, bi = v, l
					}
				}
				out.Data[o*inner+i] = T(best)
				arg[o*inner+i] = T(bi)
			default:
				var s float64
				for l := 0; l < L; l++ {
					s += float64(x.Data[base+l*inner])
				}
				if kind == axisMean {
					s /= float64(max(L, 1))
				}
				out.Data[o*inner+i] = T(s)
			}
		}
	}
	if n := g.record(out, ruleReduceAxis, x); n != nil {
		n.ints[0], n.ints[1] = int(kind), axis
		n.aux[0] = arg
	}
	return out
}

func reduceAxisBackward[T Float](g *Graph[T], n *node[T]) {
	x := n.in[0]
	kind, axis := axisKind(n.ints[0]), n.ints[1]
	outer, inner := splitAt(x.Shape(), axis)
	L := x.Dim(axis)
	dX, dY := g.grad(x), n.out.Grad
	scale := T(1)
	if kind == axisMean {
		scale = 1 / T(max(L, 1))
	}
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			d := dY[o*inner+i] * scale
			base := o*L*inner + i
			if kind == axisMax {
				dX[base+int(n.aux[0][o*inner+i])*inner] += d
				continue
			}
			for l := 0; l < L; l++ {
				dX[base+l*inner] += d
			}
		}
	}
}
