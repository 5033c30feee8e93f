package gemm

import "testing"

// BenchmarkPack reports packing throughput in elements per nanosecond for
// a 168×256 block of A and a 256×512 panel of B, from a 1024-wide source.
func BenchmarkPack(b *testing.B) {
	const ld = 1024
	src := make([]float32, ld*ld)
	ap := make([]float32, mcMax*kcMax)
	bp := make([]float32, kcMax*512)
	for _, tr := range []bool{false, true} {
		name := map[bool]string{false: "N", true: "T"}[tr]
		b.Run("A"+name, func(b *testing.B) {
			for b.Loop() {
				packA(ap, tr, src, ld, 0, mcMax, 0, kcMax, hasAsm)
			}
			b.ReportMetric(float64(mcMax*kcMax)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "elem/ns")
		})
		b.Run("B"+name, func(b *testing.B) {
			for b.Loop() {
				packB(bp, tr, src, ld, 0, kcMax, 0, 512, hasAsm)
			}
			b.ReportMetric(float64(512*kcMax)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "elem/ns")
		})
	}
}
