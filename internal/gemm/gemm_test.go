package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tramlab/tram/internal/parallel"
)

// The conformance suite: every test here runs against every backend that
// can be selected on this machine (avx2, go, and openblas when the library
// loads), and for the Go-side backends both with the default small-size
// shortcuts and with every shape forced through the packed path.

type variant struct {
	name    string
	backend string
	noSmall bool   // force tiny shapes through the packed path / OpenBLAS
	skip    string // why the backend cannot run here ("" if it can)
}

// variants lists every backend twice (default thresholds, and noSmall);
// backends that cannot run here are listed with a skip reason, so their
// subtests show up as skipped rather than silently missing.
func variants(t *testing.T) []variant {
	t.Helper()
	var vs []variant
	for _, be := range []string{"avx2", "go", "openblas", "avx512"} {
		skip := ""
		prev := Backend()
		if err := SetBackend(be); err != nil {
			skip = fmt.Sprintf("backend %s unavailable here: %v", be, err)
		}
		SetBackend(prev)
		vs = append(vs, variant{be, be, false, skip}, variant{be + "/nosmall", be, true, skip})
	}
	return vs
}

// use selects a variant for the duration of a test (or skips the test).
func use(t *testing.T, v variant) {
	t.Helper()
	if v.skip != "" {
		t.Skip(v.skip)
	}
	prev := Backend()
	if err := SetBackend(v.backend); err != nil {
		t.Fatalf("SetBackend(%q): %v", v.backend, err)
	}
	oldSmall, oldOB, oldPar := smallWork, openblasMinWork, parMinFlops
	if v.noSmall {
		smallWork, openblasMinWork = 0, 0
		for i := range parMinFlops {
			parMinFlops[i] = 2 << 20 // threads from 2 MFLOP up
		}
	}
	t.Cleanup(func() {
		smallWork, openblasMinWork, parMinFlops = oldSmall, oldOB, oldPar
		SetBackend(prev)
	})
}

func withThreads(t *testing.T, n int) {
	t.Helper()
	prev := parallel.SetThreads(n)
	t.Cleanup(func() { parallel.SetThreads(prev) })
}

const sentinel = float32(12345.5)

// gemmCase describes one call; storage is allocated by setup.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	padA, padB     int // extra row stride beyond the minimum
	padC           int
	alpha, beta    float32
}

func (g gemmCase) String() string {
	ta, tb := "N", "N"
	if g.transA {
		ta = "T"
	}
	if g.transB {
		tb = "T"
	}
	return fmt.Sprintf("%s%s_m%d_n%d_k%d_pad%d.%d.%d_a%g_b%g", ta, tb, g.m, g.n, g.k, g.padA, g.padB, g.padC, g.alpha, g.beta)
}

func (g gemmCase) dims() (aRows, aCols, bRows, bCols int) {
	aRows, aCols = g.m, g.k
	if g.transA {
		aRows, aCols = g.k, g.m
	}
	bRows, bCols = g.k, g.n
	if g.transB {
		bRows, bCols = g.n, g.k
	}
	return
}

func (g gemmCase) strides() (lda, ldb, ldc int) {
	_, aCols, _, bCols := g.dims()
	return max(1, aCols) + g.padA, max(1, bCols) + g.padB, max(1, g.n) + g.padC
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	return s
}

// operands builds A, B and C (padding filled with the sentinel or random
// junk the kernel must ignore); with beta == 0, C's live region holds NaN.
func (g gemmCase) operands(r *rand.Rand) (a, b, c []float32) {
	aRows, _, bRows, _ := g.dims()
	lda, ldb, ldc := g.strides()
	a = randSlice(r, aRows*lda)
	b = randSlice(r, bRows*ldb)
	c = randSlice(r, g.m*ldc)
	for i := 0; i < g.m; i++ {
		for j := 0; j < ldc; j++ {
			switch {
			case j >= g.n:
				c[i*ldc+j] = sentinel
			case g.beta == 0:
				c[i*ldc+j] = float32(math.NaN())
			}
		}
	}
	return
}

// reference computes alpha·op(A)·op(B) + beta·C0 in float64, and for each
// element the magnitude bound |alpha|·Σ|a||b| + |beta·c| that scales the
// tolerance.
func (g gemmCase) reference(a, b, c0 []float32) (want, scale []float64) {
	lda, ldb, ldc := g.strides()
	want = make([]float64, g.m*g.n)
	scale = make([]float64, g.m*g.n)
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			var s, abs float64
			for p := 0; p < g.k; p++ {
				var av, bv float64
				if g.transA {
					av = float64(a[p*lda+i])
				} else {
					av = float64(a[i*lda+p])
				}
				if g.transB {
					bv = float64(b[j*ldb+p])
				} else {
					bv = float64(b[p*ldb+j])
				}
				s += av * bv
				abs += math.Abs(av * bv)
			}
			w := float64(g.alpha) * s
			sc := math.Abs(float64(g.alpha)) * abs
			if g.beta != 0 {
				cv := float64(c0[i*ldc+j])
				w += float64(g.beta) * cv
				sc += math.Abs(float64(g.beta) * cv)
			}
			want[i*g.n+j], scale[i*g.n+j] = w, sc
		}
	}
	return
}

// check compares C to the reference with a tolerance that grows with k.
func (g gemmCase) check(t *testing.T, c []float32, want, scale []float64) {
	t.Helper()
	_, _, ldc := g.strides()
	tol := 2e-7 * float64(g.k+4)
	bad := 0
	for i := 0; i < g.m; i++ {
		for j := 0; j < ldc; j++ {
			got := c[i*ldc+j]
			if j >= g.n {
				if got != sentinel {
					t.Errorf("%v: C[%d,%d] (padding beyond n) changed to %v", g, i, j, got)
					bad++
				}
				continue
			}
			w, sc := want[i*g.n+j], scale[i*g.n+j]
			if math.IsNaN(float64(got)) || math.Abs(float64(got)-w) > tol*sc+1e-30 {
				t.Errorf("%v: C[%d,%d] = %v, want %v (tolerance %.3g)", g, i, j, got, w, tol*sc)
				bad++
			}
			if bad > 5 {
				t.Fatalf("%v: too many mismatches", g)
			}
		}
	}
}

// prepared holds one case's operands and float64 reference, computed once
// and shared by every backend.
type prepared struct {
	g           gemmCase
	a, b, c0    []float32
	want, scale []float64
}

func prepare(g gemmCase, r *rand.Rand) prepared {
	a, b, c := g.operands(r)
	want, scale := g.reference(a, b, c)
	return prepared{g, a, b, c, want, scale}
}

func (p prepared) run(t *testing.T) {
	t.Helper()
	g := p.g
	c := append([]float32(nil), p.c0...)
	lda, ldb, ldc := g.strides()
	Sgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, p.a, lda, p.b, ldb, g.beta, c, ldc)
	g.check(t, c, p.want, p.scale)
}

var (
	alphas = []float32{1, 0.5, -2, 0}
	betas  = []float32{0, 1, 0.3}
	transs = [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}}
)

// conformanceCases: odd and aligned sizes around the tile (6×16) and block
// (kc=256, mc=168, nc=4080) edges, all transpose combinations, minimal and
// padded strides, and every (alpha, beta) pair spread over the shapes.
func conformanceCases() []gemmCase {
	var cs []gemmCase
	small := []int{1, 2, 5, 7, 15, 16, 17, 31, 33}
	ks := []int{1, 2, 7, 16, 33, 65}
	i := 0
	for _, tr := range transs {
		for _, m := range small {
			for _, n := range small {
				k := ks[(m+n)%len(ks)]
				pad := i % 3 // 0, 1 or 2 extra elements per row
				cs = append(cs, gemmCase{tr[0], tr[1], m, n, k, pad, (pad + 1) % 3, (pad + 2) % 3,
					alphas[i%len(alphas)], betas[(i/len(alphas))%len(betas)]})
				i++
			}
		}
		for _, s := range [][3]int{
			{100, 257, 65}, {257, 100, 300}, {65, 33, 257}, {31, 300, 513},
			{200, 70, 600}, {7, 4100, 5}, {169, 17, 256}, {48, 64, 512}, {1, 257, 100}, {257, 1, 100},
		} {
			for _, ab := range [][2]float32{{1, 0}, {-2, 0.3}} {
				cs = append(cs, gemmCase{tr[0], tr[1], s[0], s[1], s[2], i % 2, 3, 1, ab[0], ab[1]})
				i++
			}
		}
		// Every (alpha, beta) pair on a shape with full and edge tiles.
		for _, al := range alphas {
			for _, be := range betas {
				cs = append(cs, gemmCase{tr[0], tr[1], 37, 50, 70, 2, 1, 3, al, be})
			}
		}
	}
	return cs
}

func TestConformance(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var cases []prepared
	for _, g := range conformanceCases() {
		cases = append(cases, prepare(g, r))
	}
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			use(t, v)
			for _, p := range cases {
				p.run(t)
				if t.Failed() {
					return
				}
			}
		})
	}
}

// TestZeroSizes: m, n or k == 0 are valid; k == 0 scales C by beta and
// beta == 0 clears it even when it holds NaN; empty slices are fine.
func TestZeroSizes(t *testing.T) {
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			use(t, v)
			Sgemm(false, false, 0, 5, 3, 1, nil, 3, make([]float32, 15), 5, 0, nil, 5)
			Sgemm(false, false, 4, 0, 3, 1, make([]float32, 12), 3, nil, 1, 0, nil, 1)
			Sgemm(true, true, 0, 0, 0, 1, nil, 1, nil, 1, 1, nil, 1)
			SgemmBatched(false, false, 2, 2, 2, 1, nil, 2, 4, nil, 2, 4, 0, nil, 2, 4, 0)
			for _, beta := range []float32{0, 1, 0.5} {
				c := []float32{1, 2, float32(math.NaN()), 4, 5, 6}
				Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, beta, c, 3)
				want := []float32{beta * 1, beta * 2, float32(math.NaN()), beta * 4, beta * 5, 6}
				if beta == 0 {
					want = []float32{0, 0, float32(math.NaN()), 0, 0, 6}
				}
				for i := range c {
					if i == 2 {
						continue // padding: untouched NaN
					}
					if c[i] != want[i] {
						t.Fatalf("k=0 beta=%v: c = %v, want %v", beta, c, want)
					}
				}
			}
			// alpha == 0, beta == 0 with NaN in A and C: C becomes 0, as in BLAS.
			nan := float32(math.NaN())
			c := []float32{nan, nan, nan, nan}
			Sgemm(false, false, 2, 2, 1, 0, []float32{1, 2}, 1, []float32{3, 4}, 2, 0, c, 2)
			for _, x := range c {
				if x != 0 {
					t.Fatalf("alpha=0 beta=0: c = %v, want zeros", c)
				}
			}
		})
	}
}

type batchCase struct {
	gemmCase
	batch                  int
	strideA, strideB, strC int // 0 means broadcast (A or B); -1 means packed tightly + 5
}

func TestBatched(t *testing.T) {
	var cases []batchCase
	for ti, tr := range transs {
		for si, s := range [][3]int{{5, 7, 3}, {17, 33, 20}, {64, 48, 96}, {100, 70, 300}} {
			g := gemmCase{tr[0], tr[1], s[0], s[1], s[2], 1, 0, 2, alphas[(ti+si)%3], betas[(ti+si)%3]}
			cases = append(cases,
				batchCase{g, 3, -1, -1, -1},
				batchCase{g, 4, 0, -1, -1},
				batchCase{g, 2, -1, 0, -1},
				batchCase{g, 1, 0, 0, -1},
			)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	var prep []preparedBatch
	for _, bc := range cases {
		prep = append(prep, prepareBatch(r, bc))
	}
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			use(t, v)
			for _, threads := range []int{1, 2} {
				withThreads(t, threads)
				for _, p := range prep {
					p.run(t)
				}
			}
		})
	}
}

// preparedBatch holds a batched case laid out in flat slices (junk between
// matrices), and the per-matrix references.
type preparedBatch struct {
	bc          batchCase
	sa, sb, sc  int
	a, b, c0    []float32
	want, scale [][]float64
}

func prepareBatch(r *rand.Rand, bc batchCase) preparedBatch {
	g := bc.gemmCase
	aRows, _, bRows, _ := g.dims()
	lda, ldb, ldc := g.strides()
	sa, sb, sc := bc.strideA, bc.strideB, bc.strC
	if sa < 0 {
		sa = aRows*lda + 5
	}
	if sb < 0 {
		sb = bRows*ldb + 5
	}
	if sc < 0 {
		sc = g.m*ldc + 5
	}
	as := make([][]float32, bc.batch)
	bs := make([][]float32, bc.batch)
	cs := make([][]float32, bc.batch)
	p := preparedBatch{bc: bc, sa: sa, sb: sb, sc: sc}
	for i := range bc.batch {
		as[i], bs[i], cs[i] = g.operands(r)
		if sa == 0 {
			as[i] = as[0]
		}
		if sb == 0 {
			bs[i] = bs[0]
		}
		want, scale := g.reference(as[i], bs[i], cs[i])
		p.want = append(p.want, want)
		p.scale = append(p.scale, scale)
	}
	flat := func(xs [][]float32, stride int) []float32 {
		if stride == 0 {
			return xs[0]
		}
		out := make([]float32, stride*(len(xs)-1)+len(xs[len(xs)-1]))
		for i := range out {
			out[i] = -777 // junk between matrices
		}
		for i, x := range xs {
			copy(out[i*stride:], x)
		}
		return out
	}
	p.a, p.b, p.c0 = flat(as, sa), flat(bs, sb), flat(cs, sc)
	return p
}

func (p preparedBatch) run(t *testing.T) {
	t.Helper()
	g, bc := p.bc.gemmCase, p.bc
	lda, ldb, ldc := g.strides()
	sa, sb, sc := p.sa, p.sb, p.sc
	c := append([]float32(nil), p.c0...)
	SgemmBatched(g.transA, g.transB, g.m, g.n, g.k, g.alpha, p.a, lda, sa, p.b, ldb, sb, g.beta, c, ldc, sc, bc.batch)
	for i := range bc.batch {
		got := c[i*sc : i*sc+g.m*ldc]
		g.check(t, got, p.want[i], p.scale[i])
		if i+1 < bc.batch {
			for j := i*sc + g.m*ldc; j < (i+1)*sc; j++ {
				if c[j] != -777 {
					t.Fatalf("batch %v: C between matrices %d and %d changed", g, i, i+1)
				}
			}
		}
		if t.Failed() {
			t.Fatalf("batch=%d strides (%d,%d,%d): matrix %d wrong", bc.batch, sa, sb, sc, i)
		}
	}
}

// TestThreadsBitIdentical: the Go-side backends give the same bits for any
// thread count (work is split along M or N tiles, never along K).
func TestThreadsBitIdentical(t *testing.T) {
	// Shared-B schedule (mid sizes), static split (large, or m < 24), single.
	shapes := [][3]int{{257, 300, 513}, {100, 1000, 70}, {1000, 64, 100}, {64, 64, 64}, {13, 2000, 40}, {3000, 5, 40}, {600, 400, 300}, {40, 3000, 600}}
	for _, v := range variants(t) {
		if v.backend == "openblas" || !v.noSmall {
			continue // OpenBLAS makes no bit-identity promise
		}
		t.Run(v.name, func(t *testing.T) {
			use(t, v) // noSmall: every shape here is split across threads
			r := rand.New(rand.NewPCG(5, 6))
			for si, s := range shapes {
				tr := transs[si%4]
				g := gemmCase{tr[0], tr[1], s[0], s[1], s[2], 1, 2, 0, 0.7, 0.3}
				a, b, c0 := g.operands(r)
				lda, ldb, ldc := g.strides()
				var ref []float32
				for _, threads := range []int{1, 2, 3, 4} {
					parallel.SetThreads(threads)
					c := append([]float32(nil), c0...)
					Sgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
					if ref == nil {
						ref = c
						continue
					}
					for i := range c {
						if math.Float32bits(c[i]) != math.Float32bits(ref[i]) {
							t.Fatalf("%v: threads=%d differs from threads=1 at %d: %v vs %v", g, threads, i, c[i], ref[i])
						}
					}
				}
				// Batched: per-matrix results match the unbatched call bit
				// for bit, whether the batch or each matrix is split.
				const batch = 8
				for _, threads := range []int{1, 3} {
					parallel.SetThreads(threads)
					c := make([]float32, batch*len(c0))
					for i := range batch {
						copy(c[i*len(c0):], c0)
					}
					SgemmBatched(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, 0, b, ldb, 0, g.beta, c, ldc, len(c0), batch)
					for i := range c {
						if math.Float32bits(c[i]) != math.Float32bits(ref[i%len(c0)]) {
							t.Fatalf("%v batched threads=%d: differs at %d", g, threads, i)
						}
					}
				}
			}
			parallel.SetThreads(1)
		})
	}
	withThreads(t, parallel.Threads())
}

func TestPanics(t *testing.T) {
	a, b, c := make([]float32, 100), make([]float32, 100), make([]float32, 100)
	cases := []struct {
		name string
		call func()
		want []string
	}{
		{"negative m", func() { Sgemm(false, false, -1, 2, 2, 1, a, 2, b, 2, 0, c, 2) }, []string{"m=-1"}},
		{"lda", func() { Sgemm(false, false, 3, 4, 5, 1, a, 4, b, 4, 0, c, 4) }, []string{"lda=4", "m=3", "k=5"}},
		{"lda transposed", func() { Sgemm(true, false, 3, 4, 5, 1, a, 2, b, 4, 0, c, 4) }, []string{"lda=2", "< 3"}},
		{"ldb", func() { Sgemm(false, true, 3, 4, 5, 1, a, 5, b, 4, 0, c, 4) }, []string{"ldb=4", "< 5"}},
		{"ldc", func() { Sgemm(false, false, 3, 4, 5, 1, a, 5, b, 4, 0, c, 3) }, []string{"ldc=3", "3×4"}},
		{"short a", func() { Sgemm(false, false, 30, 4, 5, 1, a, 5, b, 4, 0, make([]float32, 120), 4) }, []string{"len(a)=100", "150"}},
		{"short b", func() { Sgemm(false, false, 3, 40, 5, 1, a, 5, b, 40, 0, make([]float32, 120), 40) }, []string{"len(b)=100", "200"}},
		{"short c", func() { Sgemm(false, false, 11, 10, 5, 1, a, 5, b, 10, 0, c, 10) }, []string{"len(c)=100", "110"}},
		{"batch overlap", func() { SgemmBatched(false, false, 3, 3, 3, 1, a, 3, 9, b, 3, 9, 0, c, 3, 5, 2) }, []string{"strideC=5"}},
		{"batch short", func() { SgemmBatched(false, false, 3, 3, 3, 1, a, 3, 9, b, 3, 9, 0, c, 3, 9, 20) }, []string{"len"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatalf("no panic")
				}
				msg := fmt.Sprint(r)
				for _, w := range tc.want {
					if !strings.Contains(msg, w) {
						t.Errorf("panic %q does not mention %q", msg, w)
					}
				}
			}()
			tc.call()
		})
	}
}

func TestSetBackend(t *testing.T) {
	prev := Backend()
	defer SetBackend(prev)
	err := SetBackend("cuda")
	if err == nil || !strings.Contains(err.Error(), "avx2, go, openblas, avx512") {
		t.Fatalf("SetBackend(cuda) = %v, want an error naming the valid backends", err)
	}
	if Backend() != prev {
		t.Fatalf("failed SetBackend changed the backend to %s", Backend())
	}
	for _, name := range Backends() {
		if err := SetBackend(name); err != nil || Backend() != name {
			t.Fatalf("SetBackend(%s) = %v, Backend() = %s", name, err, Backend())
		}
	}
	if hasAsm != (SetBackend("avx2") == nil) {
		t.Fatalf("avx2 availability disagrees with hasAsm=%v", hasAsm)
	}
}

func TestOpenBLASLoad(t *testing.T) {
	if err := loadOpenBLAS(); err != nil {
		if !strings.Contains(err.Error(), "openblas") {
			t.Errorf("load error %q does not name openblas", err)
		}
		t.Skipf("OpenBLAS cannot be loaded here: %v", err)
	}
	prev := Backend()
	defer SetBackend(prev)
	if err := SetBackend("openblas"); err != nil || Backend() != "openblas" {
		t.Fatalf("SetBackend(openblas) = %v", err)
	}
}

// TestAllocs: steady-state calls (the fused bias included) reuse packing
// buffers and job records.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	for _, v := range variants(t) {
		if v.noSmall {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			use(t, v)
			const n, bm, batch = 96, 24, 8
			a, b, c, bias := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n), make([]float32, n)
			ba, bb, bc := make([]float32, batch*bm*bm), make([]float32, batch*bm*bm), make([]float32, batch*bm*bm)
			for _, threads := range []int{1, 2} {
				withThreads(t, threads)
				limit := 0.0
				if threads > 1 {
					limit = 2 // parallel.For's goroutine
				}
				if v.backend == "openblas" {
					limit = 1 // purego.SyscallN's argument slice
				}
				for _, tr := range transs {
					f := func() { Sgemm(tr[0], tr[1], n, n, n, 1, a, n, b, n, 0, c, n) }
					f()
					if got := testing.AllocsPerRun(20, f); got > limit {
						t.Errorf("threads=%d trans=%v: %v allocs per Sgemm, want ≤ %v", threads, tr, got, limit)
					}
					fbias := func() { SgemmBias(tr[0], tr[1], n, n, n, 1, a, n, b, n, bias, c, n) }
					fbias()
					if got := testing.AllocsPerRun(20, fbias); got > limit {
						t.Errorf("threads=%d trans=%v: %v allocs per SgemmBias, want ≤ %v", threads, tr, got, limit)
					}
					fb := func() {
						SgemmBatched(tr[0], tr[1], bm, bm, bm, 1, ba, bm, bm*bm, bb, bm, bm*bm, 0, bc, bm, bm*bm, batch)
					}
					fb()
					if got := testing.AllocsPerRun(20, fb); got > max(limit, 2) {
						t.Errorf("threads=%d trans=%v: %v allocs per SgemmBatched, want ≤ %v", threads, tr, got, max(limit, 2))
					}
				}
			}
		})
	}
}

func TestBackendInfo(t *testing.T) {
	prev := Backend()
	defer SetBackend(prev)
	for _, name := range Backends() {
		SetBackend(name)
		info := BackendInfo()
		if !strings.HasPrefix(info, name+":") {
			t.Errorf("BackendInfo() = %q for backend %s", info, name)
		}
		t.Logf("%s", info)
	}
}

// TestAVX512MatchesAVX2: the 6×32 AVX-512 kernel performs, per element,
// exactly the operations of the 6×16 AVX2 kernel, so the two backends agree
// bit for bit.
func TestAVX512MatchesAVX2(t *testing.T) {
	if !hasAsm512 {
		t.Skip("no AVX-512 here")
	}
	prev := Backend()
	defer SetBackend(prev)
	r := rand.New(rand.NewPCG(7, 8))
	for i, s := range [][3]int{{64, 64, 64}, {37, 100, 300}, {257, 33, 65}, {100, 257, 513}, {6, 32, 5}, {12, 64, 7}} {
		tr := transs[i%4]
		g := gemmCase{tr[0], tr[1], s[0], s[1], s[2], 1, 0, 2, 1.5, 0.5}
		a, b, c0 := g.operands(r)
		lda, ldb, ldc := g.strides()
		var got [2][]float32
		for x, be := range []string{"avx2", "avx512"} {
			SetBackend(be)
			got[x] = append([]float32(nil), c0...)
			Sgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, got[x], ldc)
		}
		for e := range got[0] {
			if math.Float32bits(got[0][e]) != math.Float32bits(got[1][e]) {
				t.Fatalf("%v: avx512 differs from avx2 at %d: %v vs %v", g, e, got[1][e], got[0][e])
			}
		}
	}
}
