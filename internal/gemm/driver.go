package gemm

import (
	"sync"
	"sync/atomic"

	"github.com/tramlab/tram/internal/parallel"
)

// Blocking parameters (Goto/BLIS loop nest). The tile grid of C is fixed by
// (mr, nr) from the origin and k is cut into blocks that depend only on k, so
// each element of C is always summed in the same order: the thread split
// (along whole tiles of M or N, never along K) cannot change any result bit.
const (
	mr    = 6    // micro-tile rows
	nr    = 16   // micro-tile columns (two YMM registers)
	kcMax = 256  // k block: a 16×256 B strip (16 KiB) stays in L1
	mcMax = 168  // rows of A per packed block (multiple of mr; 168 KiB in L2)
	ncMax = 4080 // columns of B per packed panel (multiple of nr)

	// minChunkFlops: the least work worth handing to another goroutine.
	minChunkFlops = 1 << 20
)

// parMinFlops is the least work (2·m·n·k) split across threads, per kernel:
// about 150–200 µs on one core. Waking an idle CPU to run the second
// goroutine takes ~100 µs on the Firecracker VMs this was measured on
// (median 90–170 µs from go statement to first instruction), so smaller
// products finish sooner on one thread.
var parMinFlops = [...]int{kernGo: 1 << 20, kernAVX2: 16 << 20, kernAVX512: 32 << 20}

// smallWork: when m·n·k is below this, plain loops beat packing.
// (A variable so that tests can push tiny shapes through the packed path.)
var smallWork = 5 * 5 * 5 // measured crossover: n=4 naive wins, n=6 packed wins

// workspace holds one worker's packing buffers; reused across calls.
type workspace struct {
	ap  []float32
	bp  []float32
	tmp [mr * nr]float32
}

// The free list is a plain mutex-guarded stack rather than a sync.Pool so
// that the (large) buffers survive garbage collections.
var wsFree struct {
	sync.Mutex
	list []*workspace
}

func getWorkspace() *workspace {
	wsFree.Lock()
	if n := len(wsFree.list); n > 0 {
		w := wsFree.list[n-1]
		wsFree.list = wsFree.list[:n-1]
		wsFree.Unlock()
		return w
	}
	wsFree.Unlock()
	return new(workspace)
}

func putWorkspace(w *workspace) {
	wsFree.Lock()
	if len(wsFree.list) < 64 {
		wsFree.list = append(wsFree.list, w)
	}
	wsFree.Unlock()
}

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// job carries one GEMM's arguments through parallel.For without allocating:
// fn is bound to run once, when the job is created.
type job struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	bias           []float32 // nil, or written into each C tile before its first k block (beta is then 1)
	lda, ldb, ldc  int
	asm            bool // assembly kernel and packing (else portable Go)
	wide           bool // with asm: AVX-512 6×32 kernel on pairs of strips
	splitN         bool // run's tile range indexes nr-wide column tiles (else mr-high row tiles)
	fn             func(lo, hi int)

	// Shared-B schedule (mid-size products, see shared).
	kcb, nkb, nPad int
	bpAll          []float32 // all of op(B) packed: nkb panels of kcb×nPad
	mh, units      int       // rows per unit, number of units
	next           atomic.Int64
	sharedFn       func(lo, hi int)
}

var jobPool = sync.Pool{New: func() any {
	j := new(job)
	j.fn = j.run
	j.sharedFn = j.workShared
	return j
}}

// kernelKind selects the micro-kernel of the packed path.
type kernelKind int

const (
	kernGo     kernelKind = iota // portable Go 6×16
	kernAVX2                     // assembly AVX2/FMA 6×16
	kernAVX512                   // assembly AVX-512 6×32 (6×16 AVX2 on odd strips and edges)
)

// packedGemm computes C = alpha·op(A)·op(B) + beta·C with k > 0, alpha != 0,
// on up to parallel.Threads() goroutines when parallel is set. With bias !=
// nil (and beta == 1), C = alpha·op(A)·op(B) + bias in every row: on the
// first k block the kernels read the bias in place of each row of C (and do
// not read C), then add the product with beta = 1, exactly as if C had been
// filled first.
func packedGemm(kern kernelKind, par bool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, bias, c []float32, ldc int) {
	if m*n*k < smallWork {
		if bias != nil {
			fillBias(m, n, bias, c, ldc)
		}
		naive(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	j := jobPool.Get().(*job)
	j.transA, j.transB = transA, transB
	j.m, j.n, j.k = m, n, k
	j.alpha, j.beta = alpha, beta
	j.a, j.b, j.c = a, b, c
	j.bias = bias
	j.lda, j.ldb, j.ldc = lda, ldb, ldc
	j.asm = kern != kernGo
	j.wide = kern == kernAVX512

	mt, nt := (m+mr-1)/mr, (n+nr-1)/nr
	t := 1
	if par {
		t = parallel.Threads()
	}
	flops := 2 * m * n * k
	if t <= 1 || flops < max(2*minChunkFlops, parMinFlops[kern]) || (mt < 2 && nt < 2) {
		j.splitN = true
		j.run(0, nt)
	} else if useShared(m, n, k, flops) {
		j.shared(t)
	} else {
		// Splitting N makes every worker pack all of A (m·k extra per
		// worker); splitting M makes every worker pack all of B (n·k).
		// Prefer the cheaper duplication when it leaves enough tiles.
		j.splitN = nt >= t && (m <= n || mt < t)
		if !j.splitN && mt < t {
			j.splitN = nt > mt
		}
		tiles, tileFlops := nt, 2*m*nr*k
		if !j.splitN {
			tiles, tileFlops = mt, 2*n*mr*k
		}
		grain := (minChunkFlops + tileFlops - 1) / tileFlops
		parallel.For(tiles, grain, j.fn)
	}
	j.a, j.b, j.c, j.bias = nil, nil, nil, nil
	jobPool.Put(j)
}

// run computes the part of C covered by tiles [lo, hi) of the split dimension.
func (j *job) run(lo, hi int) {
	m0, m1, n0, n1 := 0, j.m, 0, j.n
	if j.splitN {
		n0, n1 = lo*nr, min(hi*nr, j.n)
	} else {
		m0, m1 = lo*mr, min(hi*mr, j.m)
	}
	ws := getWorkspace()
	j.block(ws, m0, m1, n0, n1)
	putWorkspace(ws)
}

// block runs the loop nest over C[m0:m1, n0:n1]; m0 and n0 lie on the tile grid.
func (j *job) block(ws *workspace, m0, m1, n0, n1 int) {
	k := j.k
	nkb := (k + kcMax - 1) / kcMax
	kcb := (k + nkb - 1) / nkb // balanced k blocks: a function of k only
	ncCap := min(ncMax, (n1-n0+nr-1)/nr*nr)
	mcCap := min(mcMax, (m1-m0+mr-1)/mr*mr)
	ws.bp = grow(ws.bp, kcb*ncCap)
	ws.ap = grow(ws.ap, kcb*mcCap)
	for jc := n0; jc < n1; jc += ncMax {
		nc := min(ncMax, n1-jc)
		for pc := 0; pc < k; pc += kcb {
			kc := min(kcb, k-pc)
			packB(ws.bp, j.transB, j.b, j.ldb, pc, kc, jc, nc, j.asm)
			beta, bias := j.beta, j.bias
			if pc > 0 {
				beta, bias = 1, nil
			}
			for ic := m0; ic < m1; ic += mcMax {
				mc := min(mcMax, m1-ic)
				packA(ws.ap, j.transA, j.a, j.lda, ic, mc, pc, kc, j.asm)
				j.macro(ws, ic, mc, jc, nc, kc, beta, bias)
			}
		}
	}
}

// macro multiplies a packed mc×kc block of A by a packed kc×nc panel of B
// into C[ic:ic+mc, jc:jc+nc]. With the AVX-512 kernel, full 6-row tiles
// over two consecutive strips run as one 6×32 tile. With bias != nil (the
// first k block of a biased product; beta is 1), C is not read: each tile
// gets beta·bias + alpha·acc, bit-identical to the beta path over a C whose
// rows hold the bias (the kernels take the bias in place of the rows of C).
func (j *job) macro(ws *workspace, ic, mc, jc, nc, kc int, beta float32, bias []float32) {
	j.macroB(ws, ws.bp, ic, mc, jc, nc, kc, beta, bias)
}

// macroB is macro with the packed B panel given explicitly.
func (j *job) macroB(ws *workspace, bps []float32, ic, mc, jc, nc, kc int, beta float32, bias []float32) {
	c, ldc, alpha := j.c, j.ldc, j.alpha
	for jr := 0; jr < nc; {
		w := nr
		if j.wide && jr+2*nr <= nc {
			w = 2 * nr
		}
		bp := bps[jr*kc : (jr+w)*kc]
		var bt []float32 // the bias of this column strip, or nil
		if bias != nil {
			bt = bias[jc+jr : jc+min(jr+w, nc)]
		}
		for ir := 0; ir < mc; ir += mr {
			ap := ws.ap[ir*kc : ir*kc+mr*kc]
			mcr := min(mr, mc-ir)
			ci := (ic+ir)*ldc + jc + jr
			if w == 2*nr && mcr == mr {
				_ = c[ci+(mr-1)*ldc+2*nr-1] // the whole tile is inside c
				var pb *float32
				if bt != nil {
					_ = bt[2*nr-1] // the tile's 32 columns of bias
					pb = &bt[0]
				}
				kernel6x32(kc, &ap[0], &bp[0], &bp[nr*kc], &c[ci], ldc, alpha, beta, pb)
				continue
			}
			for s := 0; s < w; s += nr {
				var bs []float32
				if bt != nil {
					bs = bt[s:]
				}
				j.tile(ws, ap, bp[s*kc:(s+nr)*kc], ic+ir, mcr, jc+jr+s, min(nr, nc-jr-s), kc, beta, bs)
			}
		}
		jr += w
	}
}

// tile computes the mcr×ncr tile of C at (i, jcol) with a 6×16 kernel;
// partial tiles go through ws.tmp. bias (nil, or at least ncr floats: the
// bias of columns jcol…) stands in for the rows of C as in macro.
func (j *job) tile(ws *workspace, ap, bp []float32, i, mcr, jcol, ncr, kc int, beta float32, bias []float32) {
	c, ldc, alpha := j.c, j.ldc, j.alpha
	ci := i*ldc + jcol
	if mcr == mr && ncr == nr {
		if j.asm {
			_ = c[ci+(mr-1)*ldc+nr-1] // the whole tile is inside c
			var pb *float32
			if bias != nil {
				pb = &bias[:nr][0]
			}
			kernel6x16(kc, &ap[0], &bp[0], &c[ci], ldc, alpha, beta, pb)
		} else {
			kernelGo(kc, ap, bp, c[ci:], ldc, alpha, beta, bias)
		}
		return
	}
	// Edge tile: compute the full padded tile into tmp, then merge.
	tmp := ws.tmp[:]
	if j.asm {
		kernel6x16(kc, &ap[0], &bp[0], &tmp[0], nr, alpha, 0, nil)
	} else {
		kernelGo(kc, ap, bp, tmp, nr, alpha, 0, nil)
	}
	for r := 0; r < mcr; r++ {
		row := c[ci+r*ldc : ci+r*ldc+ncr]
		t := tmp[r*nr : r*nr+ncr]
		if beta == 0 {
			copy(row, t)
			continue
		}
		if bias != nil {
			// Exactly the beta merge below over a row that holds the bias.
			bs := bias[:ncr]
			for x, v := range t {
				row[x] = beta*bs[x] + v
			}
			continue
		}
		for x, v := range t {
			row[x] = beta*row[x] + v
		}
	}
}

// sharedMaxB bounds the packed B of the shared schedule (floats; 1 MiB).
const sharedMaxB = 1 << 18

// sharedMaxFlops: above this, the static split is used (the helpers' start
// latency no longer matters and each worker's own B panel stays in its L2).
var sharedMaxFlops = 1 << 26 // measured: static wins from ~350³ up

func useShared(m, n, k, flops int) bool {
	return flops < sharedMaxFlops && k*((n+nr-1)/nr*nr) <= sharedMaxB && m >= 4*mr
}

// bpFree keeps the shared packed-B buffers across calls.
var bpFree struct {
	sync.Mutex
	list [][]float32
}

// shared runs mid-size products: the caller packs all of op(B) once, then
// t workers pull blocks of mh rows from an atomic counter; for each, a
// worker packs its rows of A (k block by k block) and multiplies them by
// the whole packed B. Nothing is packed twice, and a worker that starts
// late — waking an idle CPU can take 100 µs on a virtual machine, as long as
// the whole product — just takes fewer blocks. Row blocks lie on the tile
// grid and k blocks depend on k only, so results are bit-identical to the
// other schedules.
func (j *job) shared(t int) {
	m, n, k := j.m, j.n, j.k
	j.nkb = (k + kcMax - 1) / kcMax
	j.kcb = (k + j.nkb - 1) / j.nkb
	j.nPad = (n + nr - 1) / nr * nr
	bpFree.Lock()
	var buf []float32
	if l := len(bpFree.list); l > 0 {
		buf = bpFree.list[l-1]
		bpFree.list = bpFree.list[:l-1]
	}
	bpFree.Unlock()
	j.bpAll = grow(buf, j.nkb*j.kcb*j.nPad)
	for q := 0; q < j.nkb; q++ {
		pc := q * j.kcb
		kc := min(j.kcb, k-pc)
		packB(j.bpAll[q*j.kcb*j.nPad:], j.transB, j.b, j.ldb, pc, kc, 0, n, j.asm)
	}
	j.mh = min(mcMax, max(4*mr, (m+4*t*mr-1)/(4*t*mr)*mr))
	j.units = (m + j.mh - 1) / j.mh
	j.next.Store(0)
	parallel.For(t, 1, j.sharedFn)
	bpFree.Lock()
	if len(bpFree.list) < 16 {
		bpFree.list = append(bpFree.list, j.bpAll)
	}
	bpFree.Unlock()
	j.bpAll = nil
}

// workShared pulls row blocks until none are left.
func (j *job) workShared(_, _ int) {
	ws := getWorkspace()
	ws.ap = grow(ws.ap, j.kcb*j.mh)
	for {
		u := int(j.next.Add(1)) - 1
		if u >= j.units {
			break
		}
		ic := u * j.mh
		mc := min(j.mh, j.m-ic)
		for q := 0; q < j.nkb; q++ {
			pc := q * j.kcb
			kc := min(j.kcb, j.k-pc)
			beta, bias := j.beta, j.bias
			if q > 0 {
				beta, bias = 1, nil
			}
			packA(ws.ap, j.transA, j.a, j.lda, ic, mc, pc, kc, j.asm)
			j.macroB(ws, j.bpAll[q*j.kcb*j.nPad:], ic, mc, 0, j.n, kc, beta, bias)
		}
	}
	putWorkspace(ws)
}
