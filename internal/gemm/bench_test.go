package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tramlab/tram/internal/parallel"
)

// Benchmarks report GFLOP/s (2·m·n·k per call) for every available backend.
//
//	go test -run '^$' -bench . ./internal/gemm
//
// Names: Sgemm/<backend>/<NN|NT|TN|TT>_m<m>_n<n>_k<k>; the threads come from
// parallel.Threads() (TRAM_THREADS), and the Sgemm1T benchmarks pin one thread.

type benchShape struct {
	transA, transB bool
	m, n, k        int
}

func (s benchShape) String() string {
	t := map[bool]string{false: "N", true: "T"}
	return fmt.Sprintf("%s%s_m%d_n%d_k%d", t[s.transA], t[s.transB], s.m, s.n, s.k)
}

func benchShapes() []benchShape {
	var out []benchShape
	for _, n := range []int{64, 128, 256, 512, 1024} {
		out = append(out, benchShape{false, false, n, n, n})
	}
	for _, tr := range transs[1:] {
		out = append(out, benchShape{tr[0], tr[1], 512, 512, 512})
	}
	// Model layers Y[m×n] = X[m×k]·W[k×n] with their backward passes:
	// dX = dY·Wᵀ (NT: m×k from m×n and n... ) and dW = Xᵀ·dY (TN).
	for _, l := range [][3]int{ // m (rows of X), k (in), n (out)
		{256, 784, 512},   // MLP layer, batch 256
		{2048, 256, 768},  // transformer QKV projection, 2048 tokens, d=256
		{2048, 256, 1024}, // MLP up-projection
		{2048, 1024, 256}, // MLP down-projection
		{2048, 256, 4096}, // tied LM head / large vocab slice
	} {
		m, k, n := l[0], l[1], l[2]
		out = append(out,
			benchShape{false, false, m, n, k}, // forward
			benchShape{false, true, m, k, n},  // dX = dY·Wᵀ
			benchShape{true, false, k, n, m},  // dW = Xᵀ·dY
		)
	}
	return out
}

func benchOne(b *testing.B, s benchShape) {
	r := rand.New(rand.NewPCG(1, 1))
	lda, ldb := s.k, s.n
	if s.transA {
		lda = s.m
	}
	if s.transB {
		ldb = s.k
	}
	a, bb, c := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n), randSlice(r, s.m*s.n)
	Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
	}
	b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func benchBackends(b *testing.B, shapes []benchShape) {
	// OpenBLAS runs last: its worker threads keep spinning for a while
	// after each call and would steal a core from the benchmarks after it.
	for _, be := range []string{"avx2", "avx512", "go", "openblas"} {
		prev := Backend()
		if err := SetBackend(be); err != nil {
			b.Logf("skipping %s: %v", be, err)
			continue
		}
		b.Run(be, func(b *testing.B) {
			for _, s := range shapes {
				if be == "go" && s.m*s.n*s.k > 512*512*512 {
					continue // the portable path is slow; keep runs short
				}
				b.Run(s.String(), func(b *testing.B) { benchOne(b, s) })
			}
		})
		SetBackend(prev)
	}
}

func BenchmarkSgemm(b *testing.B) { benchBackends(b, benchShapes()) }

func BenchmarkSgemm1T(b *testing.B) {
	prev := parallel.SetThreads(1)
	defer parallel.SetThreads(prev)
	var shapes []benchShape
	for _, n := range []int{64, 256, 512} {
		shapes = append(shapes, benchShape{false, false, n, n, n})
	}
	benchBackends(b, shapes)
}

func BenchmarkSgemmBatched(b *testing.B) {
	// Attention scores: 8 heads × (T×d)·(T×d)ᵀ with T=256, d=32.
	const batch, tt, d = 8, 256, 32
	r := rand.New(rand.NewPCG(1, 1))
	q, k, s := randSlice(r, batch*tt*d), randSlice(r, batch*tt*d), randSlice(r, batch*tt*tt)
	for _, be := range []string{"avx2", "avx512", "go", "openblas"} {
		prev := Backend()
		if SetBackend(be) != nil {
			continue
		}
		b.Run(be+"/scores_8x256x256x32", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				SgemmBatched(false, true, tt, tt, d, 1, q, d, tt*d, k, d, tt*d, 0, s, tt, tt*tt, batch)
			}
			b.ReportMetric(2*float64(batch*tt*tt*d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		SetBackend(prev)
	}
}

// BenchmarkSgemmBias compares the fused bias (SgemmBias) with what it
// replaces — the bias copied into every row of C, then Sgemm with beta 1 —
// on the forward shapes of the model layers, default backend:
//
//	go test -run '^$' -bench SgemmBias ./internal/gemm
func BenchmarkSgemmBias(b *testing.B) {
	for _, l := range [][3]int{{2048, 256, 768}, {2048, 256, 1024}, {2048, 1024, 256}, {512, 256, 768}, {128, 256, 256}} {
		m, k, n := l[0], l[1], l[2]
		r := rand.New(rand.NewPCG(1, 1))
		a, w, c, bias := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n), randSlice(r, n)
		name := fmt.Sprintf("m%d_n%d_k%d", m, n, k)
		flops := 2 * float64(m) * float64(n) * float64(k)
		b.Run("fused/"+name, func(b *testing.B) {
			for b.Loop() {
				SgemmBias(false, false, m, n, k, 1, a, k, w, n, bias, c, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run("prefill/"+name, func(b *testing.B) {
			for b.Loop() {
				fillBias(m, n, bias, c, n)
				Sgemm(false, false, m, n, k, 1, a, k, w, n, 1, c, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
