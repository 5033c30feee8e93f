//go:build amd64 && !purego

package gemm

import "testing"

// BenchmarkKernel6x16 measures the micro-kernel alone on L1-resident packed
// data: the ceiling for the packed path on one core.
func BenchmarkKernel6x16(b *testing.B) {
	if !hasAsm {
		b.Skip("no AVX2/FMA")
	}
	const kc = 256
	ap, bp, c := make([]float32, mr*kc), make([]float32, nr*kc), make([]float32, mr*nr)
	for b.Loop() {
		kernel6x16(kc, &ap[0], &bp[0], &c[0], nr, 1, 1, nil)
	}
	b.ReportMetric(2*mr*nr*kc*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkKernel6x16Parallel runs the kernel on every P at once: it shows
// whether the cores scale (the total GFLOP/s is reported).
func BenchmarkKernel6x16Parallel(b *testing.B) {
	if !hasAsm {
		b.Skip("no AVX2/FMA")
	}
	const kc = 256
	b.RunParallel(func(pb *testing.PB) {
		ap, bp, c := make([]float32, mr*kc), make([]float32, nr*kc), make([]float32, mr*nr)
		for pb.Next() {
			kernel6x16(kc, &ap[0], &bp[0], &c[0], nr, 1, 1, nil)
		}
	})
	b.ReportMetric(2*mr*nr*kc*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
