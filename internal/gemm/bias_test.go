package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// biasCase is one SgemmBias call: the gemmCase's beta is unused.
type biasCase struct {
	gemmCase
	path string // the schedule the shape is meant to exercise (for failure messages)
}

// biasCases covers the naive small-work path, single-thread packed blocks,
// the shared-B and static-split schedules, edge tiles (m, n not multiples of
// 6, 16 or 32), several k blocks (k > kcMax), nc > ncMax, k == 0 and
// alpha == 0, with every transpose combination, ldc > n and alpha ∈ {1, 0.5}.
func biasCases() []biasCase {
	shapes := []struct {
		m, n, k int
		path    string
	}{
		{1, 1, 1, "naive"},
		{3, 4, 5, "naive"},
		{4, 5, 6, "naive/packed edge"},
		{6, 16, 8, "one 6×16 tile"},
		{6, 32, 5, "one 6×32 tile"},
		{12, 64, 7, "full wide tiles"},
		{7, 17, 33, "edge tiles"},
		{37, 50, 70, "edge tiles, mixed strips"},
		{31, 47, 300, "edge tiles, 2 k blocks"},
		{100, 257, 300, "2 k blocks"},
		{169, 70, 600, "mc > mcMax, 3 k blocks"},
		{200, 300, 300, "shared schedule, 2 k blocks"},
		{100, 1000, 70, "shared schedule"},
		{257, 300, 513, "static split, 3 k blocks"},
		{13, 2000, 40, "static split along N"},
		{3000, 5, 40, "static split along M"},
		{7, 4100, 5, "nc > ncMax"},
		{9, 20, 0, "k == 0"},
	}
	var cs []biasCase
	for i, s := range shapes {
		for ti, tr := range transs {
			for _, alpha := range []float32{1, 0.5} {
				pad := (i + ti) % 3
				cs = append(cs, biasCase{gemmCase{tr[0], tr[1], s.m, s.n, s.k, pad, (pad + 1) % 3, 1 + pad, alpha, 1}, s.path})
			}
		}
	}
	cs = append(cs, biasCase{gemmCase{false, true, 37, 50, 70, 0, 0, 3, 0, 1}, "alpha == 0"})
	cs = append(cs, biasCase{gemmCase{true, false, 100, 257, 300, 1, 0, 0, 0, 1}, "alpha == 0, large"})
	return cs
}

// TestSgemmBiasBitIdentical: SgemmBias gives exactly the bits of filling
// every row of C with the bias and calling Sgemm with beta = 1, on every
// backend, schedule and thread count, and leaves C's padding (ldc > n)
// alone.
func TestSgemmBiasBitIdentical(t *testing.T) {
	type prep struct {
		bc         biasCase
		a, b, bias []float32
		c0         []float32
	}
	r := rand.New(rand.NewPCG(11, 12))
	var cases []prep
	for _, bc := range biasCases() {
		g := bc.gemmCase
		g.beta = 0 // operands: NaN in C's live region (C must only be written)
		a, b, c := g.operands(r)
		bias := randSlice(r, g.n+3) // longer than n: only bias[:n] counts
		cases = append(cases, prep{bc, a, b, bias, c})
	}
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			use(t, v)
			for _, threads := range []int{1, 2} {
				withThreads(t, threads)
				for _, p := range cases {
					g := p.bc.gemmCase
					lda, ldb, ldc := g.strides()
					want := append([]float32(nil), p.c0...)
					for i := 0; i < g.m; i++ {
						copy(want[i*ldc:i*ldc+g.n], p.bias[:g.n])
					}
					Sgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, p.a, lda, p.b, ldb, 1, want, ldc)
					got := append([]float32(nil), p.c0...)
					SgemmBias(g.transA, g.transB, g.m, g.n, g.k, g.alpha, p.a, lda, p.b, ldb, p.bias, got, ldc)
					for e := range got {
						i, j := e/ldc, e%ldc
						if j >= g.n {
							if got[e] != sentinel {
								t.Fatalf("threads=%d %v (%s): C[%d,%d] (padding beyond n) changed to %v", threads, g, p.bc.path, i, j, got[e])
							}
							continue
						}
						if math.Float32bits(got[e]) != math.Float32bits(want[e]) {
							t.Fatalf("threads=%d %v (%s): C[%d,%d] = %v, bias prefill + Sgemm(beta=1) gives %v", threads, g, p.bc.path, i, j, got[e], want[e])
						}
					}
				}
			}
		})
	}
}

// TestSgemmBiasValues checks SgemmBias against a float64 reference of
// alpha·op(A)·op(B) + bias on a few shapes (the bit-identity test alone
// would not notice a bias applied the same wrong way on both sides).
func TestSgemmBiasValues(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			use(t, v)
			for i, s := range [][3]int{{3, 4, 5}, {37, 50, 70}, {100, 257, 300}} {
				tr := transs[i%4]
				g := gemmCase{tr[0], tr[1], s[0], s[1], s[2], 1, 2, 2, 0.5, 1}
				a, b, c0 := g.operands(r)
				bias := randSlice(r, g.n)
				lda, ldb, ldc := g.strides()
				// The reference with beta = 1 on a C that holds the bias.
				cb := append([]float32(nil), c0...)
				for i := 0; i < g.m; i++ {
					copy(cb[i*ldc:i*ldc+g.n], bias)
				}
				want, scale := g.reference(a, b, cb)
				c := append([]float32(nil), c0...)
				for i := 0; i < g.m; i++ {
					for j := 0; j < g.n; j++ {
						c[i*ldc+j] = float32(math.NaN())
					}
				}
				SgemmBias(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, bias, c, ldc)
				g.check(t, c, want, scale)
			}
		})
	}
}

func TestSgemmBiasPanics(t *testing.T) {
	a, b, c := make([]float32, 100), make([]float32, 100), make([]float32, 100)
	for _, tc := range []struct {
		name string
		call func()
		want string
	}{
		{"short bias", func() { SgemmBias(false, false, 3, 4, 5, 1, a, 5, b, 4, make([]float32, 3), c, 4) }, "len(bias)=3 < n=4"},
		{"nil bias", func() { SgemmBias(false, false, 3, 4, 5, 1, a, 5, b, 4, nil, c, 4) }, "len(bias)=0 < n=4"},
		{"ldc", func() { SgemmBias(false, false, 3, 4, 5, 1, a, 5, b, 4, make([]float32, 4), c, 3) }, "ldc=3"},
		{"short c", func() { SgemmBias(false, false, 11, 10, 5, 1, a, 5, b, 10, make([]float32, 10), c, 10) }, "len(c)=100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatalf("no panic")
				}
				if msg := fmt.Sprint(r); !strings.Contains(msg, tc.want) {
					t.Errorf("panic %q does not mention %q", msg, tc.want)
				}
			}()
			tc.call()
		})
	}
	// n == 0 needs no bias; m == 0 writes nothing.
	SgemmBias(false, false, 3, 0, 5, 1, a, 5, nil, 1, nil, nil, 1)
	SgemmBias(false, false, 0, 4, 5, 1, nil, 5, b, 4, make([]float32, 4), nil, 4)
}
