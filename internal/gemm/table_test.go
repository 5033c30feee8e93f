package gemm

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tramlab/tram/internal/parallel"
)

// TestGFLOPSTable prints a GFLOP/s table (best and median of interleaved
// rounds) for every backend at 1 and 2 threads. Interleaving the backends
// round by round spreads the noise of a shared machine evenly over them.
// It runs only when asked:
//
//	TRAM_GEMM_TABLE=1 go test -run GFLOPSTable -v ./internal/gemm
func TestGFLOPSTable(t *testing.T) {
	if os.Getenv("TRAM_GEMM_TABLE") == "" {
		t.Skip("set TRAM_GEMM_TABLE=1 to print the GFLOP/s table")
	}
	prev := Backend()
	defer SetBackend(prev)
	defer parallel.SetThreads(parallel.Threads())
	var bes []string
	for _, be := range Backends() {
		if be != "go" {
			bes = append(bes, be)
		}
	}
	rounds := 11
	t.Logf("%-26s %s", "shape", strings.Repeat(" ", 0))
	for _, s := range benchShapes() {
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
		reps := max(1, int(3e8/flops))
		type key struct {
			be      string
			threads int
		}
		res := map[key][]float64{}
		var keys []key
		for _, be := range bes {
			for _, th := range []int{1, 2} {
				keys = append(keys, key{be, th})
			}
		}
		for range rounds {
			for _, kk := range keys {
				SetBackend(kk.be)
				parallel.SetThreads(kk.threads)
				Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				st := time.Now()
				for range reps {
					Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				res[kk] = append(res[kk], flops*float64(reps)/time.Since(st).Seconds()/1e9)
			}
		}
		line := fmt.Sprintf("| %-22s |", s)
		for _, kk := range keys {
			x := res[kk]
			sort.Float64s(x)
			line += fmt.Sprintf(" %s/%dT %6.1f (med %6.1f) |", kk.be, kk.threads, x[len(x)-1], x[len(x)/2])
		}
		t.Log(line)
	}
}
