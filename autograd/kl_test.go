package autograd

import (
	"testing"

	"github.com/tramlab/tram/tensor"
)

// BenchmarkKL times the graph's KL (forward and backward through the
// current side) on 512 rows of 4096 classes.
func BenchmarkKL(b *testing.B) {
	const rows, classes = 512, 4096
	rng := tensor.NewRNG(1)
	p := tensor.Randn[float32](rng, 3, rows, classes)
	q := tensor.Randn[float32](rng, 3, rows, classes)
	q.SetRequiresGrad(true)
	g := NewGraph[float32]()
	b.SetBytes(int64(8 * rows * classes))
	for b.Loop() {
		g.Reset()
		q.ZeroGrad()
		g.Backward(g.KL(p, q))
	}
}
