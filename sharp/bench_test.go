package sharp

import (
	"fmt"
	"testing"

	"github.com/tramlab/tram/tensor"
)

// BenchmarkKLMeasure times the trust-region radius on the logits of a
// language-model batch (512 predicted positions, vocabulary 4096) whose
// target differs slightly from the current model (logit differences of
// 1e-3, as at small learning rates) or much (3).
func BenchmarkKLMeasure(b *testing.B) {
	const rows, classes = 512, 4096
	for _, diff := range []float64{1e-3, 3} {
		rng := tensor.NewRNG(1)
		cur := make([]float32, rows*classes)
		tgt := make([]float32, rows*classes)
		for i := range cur {
			cur[i] = float32(rng.NormFloat64() * 3)
			tgt[i] = cur[i] + float32(rng.NormFloat64()*diff)
		}
		for _, d := range []Divergence{KLForward, KLSymmetric} {
			b.Run(fmt.Sprintf("%s/diff=%g", d.Name(), diff), func(b *testing.B) {
				b.SetBytes(int64(8 * rows * classes))
				for b.Loop() {
					d.Measure(tgt, cur, classes)
				}
			})
		}
	}
}
