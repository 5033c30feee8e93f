package gemm

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/tramlab/tram/internal/parallel"
)

// TestGFLOPSTable prints a GFLOP/s table (best and median of interleaved
// rounds) for the avx2, avx512 and openblas backends at 1 and 2 threads.
// Interleaving the Go-side variants round by round spreads the noise of a
// shared machine evenly over them. OpenBLAS is measured after all of them:
// its worker threads spin for a while after each call and would steal a
// core from whatever runs next in the process. It runs only when asked:
//
//	TRAM_GEMM_TABLE=1 go test -run GFLOPSTable -v ./internal/gemm
func TestGFLOPSTable(t *testing.T) {
	if os.Getenv("TRAM_GEMM_TABLE") == "" {
		t.Skip("set TRAM_GEMM_TABLE=1 to print the GFLOP/s table")
	}
	prev := Backend()
	defer SetBackend(prev)
	defer parallel.SetThreads(parallel.Threads())
	type key struct {
		be      string
		threads int
	}
	var groups [][]key
	for _, be := range [][]string{{"avx2", "avx512"}, {"openblas"}} {
		var g []key
		for _, b := range be {
			if SetBackend(b) != nil {
				continue
			}
			g = append(g, key{b, 1}, key{b, 2})
		}
		groups = append(groups, g)
	}
	const rounds = 9
	shapes := benchShapes()
	res := make([]map[key][]float64, len(shapes))
	for i := range res {
		res[i] = map[key][]float64{}
	}
	for _, keys := range groups {
		for si, s := range shapes {
			r := rand.New(rand.NewPCG(1, 1))
			lda, ldb := s.k, s.n
			if s.transA {
				lda = s.m
			}
			if s.transB {
				ldb = s.k
			}
			a, bb, c := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n), randSlice(r, s.m*s.n)
			flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
			reps := max(1, int(1e9/flops))
			for range rounds {
				for _, kk := range keys {
					SetBackend(kk.be)
					parallel.SetThreads(kk.threads)
					Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
					st := time.Now()
					for range reps {
						Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
					}
					res[si][kk] = append(res[si][kk], flops*float64(reps)/time.Since(st).Seconds()/1e9)
				}
			}
		}
	}
	head := fmt.Sprintf("| %-22s |", "shape (best / median)")
	sep := "|---|"
	for _, g := range groups {
		for _, kk := range g {
			head += fmt.Sprintf(" %s %dT |", kk.be, kk.threads)
			sep += "---|"
		}
	}
	t.Log(head)
	t.Log(sep)
	for si, s := range shapes {
		line := fmt.Sprintf("| %-22s |", s)
		for _, g := range groups {
			for _, kk := range g {
				x := res[si][kk]
				sort.Float64s(x)
				line += fmt.Sprintf(" %5.1f / %5.1f |", x[len(x)-1], x[len(x)/2])
			}
		}
		t.Log(line)
	}
}
