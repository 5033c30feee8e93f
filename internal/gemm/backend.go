package gemm

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/tramlab/tram/internal/parallel"
)

// Backend identifiers.
const (
	beAVX2 int32 = iota
	beGo
	beOpenBLAS
	beAVX512
)

var backendNames = [...]string{beAVX2: "avx2", beGo: "go", beOpenBLAS: "openblas", beAVX512: "avx512"}

var (
	backend atomic.Int32
	initErr error
)

// openblasMinWork: GEMMs with m·n·k below this stay on the Go side even on
// the openblas backend (the call overhead dominates).
var openblasMinWork = 32 * 32 * 32

func init() {
	backend.Store(defaultBackend())
	if name := os.Getenv("TRAM_BLAS"); name != "" {
		if err := SetBackend(name); err != nil {
			initErr = fmt.Errorf("TRAM_BLAS=%s: %w", name, err)
		}
	}
}

// defaultBackend picks the fastest kernel the CPU runs: avx512 and avx2 give
// bit-identical results, so the choice changes speed only.
func defaultBackend() int32 {
	switch {
	case hasAsm512:
		return beAVX512
	case hasAsm:
		return beAVX2
	}
	return beGo
}

// Backend reports the active backend: "avx512" or "avx2" (Go assembly; the
// default is the widest the CPU has), "go" (portable), or "openblas".
func Backend() string { return backendNames[backend.Load()] }

// SetBackend switches the backend at run time. Valid names are "avx2",
// "go", "openblas" and "avx512"; "avx2" and "avx512" fail on CPUs (or
// builds) without the instructions, and "openblas" fails when the shared
// library cannot be loaded. On error the backend is unchanged. Calls in
// flight finish on the backend they started with.
func SetBackend(name string) error {
	switch name {
	case "avx2":
		if !hasAsm {
			return errors.New("gemm: backend \"avx2\" unavailable: needs amd64 with AVX2 and FMA (and no purego build tag)")
		}
		backend.Store(beAVX2)
	case "avx512":
		if !hasAsm512 {
			return errors.New("gemm: backend \"avx512\" unavailable: needs amd64 with AVX-512F, AVX2 and FMA (and no purego build tag)")
		}
		backend.Store(beAVX512)
	case "go":
		backend.Store(beGo)
	case "openblas":
		if err := loadOpenBLAS(); err != nil {
			return err
		}
		backend.Store(beOpenBLAS)
	default:
		return fmt.Errorf("gemm: unknown backend %q (valid: avx2, go, openblas, avx512)", name)
	}
	return nil
}

// InitError reports why the backend requested through the TRAM_BLAS
// environment variable could not be selected at start-up (Backend then names
// the backend actually in use), or nil.
func InitError() error { return initErr }

// BackendInfo describes the active backend for run metadata, e.g.
// "avx2: Go assembly AVX2/FMA 6×16 micro-kernel" or, for openblas, the
// library file, its build configuration and the core type it runs.
func BackendInfo() string {
	switch backend.Load() {
	case beAVX2:
		return "avx2: Go assembly AVX2/FMA 6×16 micro-kernel"
	case beGo:
		return "go: portable Go 6×16 micro-kernel"
	case beAVX512:
		return "avx512: Go assembly AVX-512 6×32 micro-kernel (AVX2 6×16 on edges)"
	default:
		return "openblas: " + openblasInfo()
	}
}

// Backends lists the backends that can be selected on this machine (the
// first call tries to load OpenBLAS).
func Backends() []string {
	var out []string
	if hasAsm {
		out = append(out, "avx2")
	}
	out = append(out, "go")
	if loadOpenBLAS() == nil {
		out = append(out, "openblas")
	}
	if hasAsm512 {
		out = append(out, "avx512")
	}
	return out
}

// sgemm dispatches a checked call to the active backend.
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmOn(backend.Load(), true, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, nil, c, ldc)
}

// sgemmOn runs one product on backend be. With bias != nil (beta is then
// ignored) it computes C = alpha·op(A)·op(B) + bias-in-every-row, bit for bit
// as fillBias followed by the same call with beta = 1: the packed path's
// micro-kernels read the bias in place of C on the first k block, the
// others fill C first.
func sgemmOn(be int32, par bool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, bias, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if bias != nil {
		beta = 1
	}
	if k == 0 || alpha == 0 {
		if bias != nil {
			fillBias(m, n, bias, c, ldc)
		}
		scaleC(m, n, beta, c, ldc)
		return
	}
	switch be {
	case beOpenBLAS:
		if m*n*k >= openblasMinWork {
			if bias != nil {
				fillBias(m, n, bias, c, ldc)
				bias = nil // C holds it now, also for the fallback below
			}
			if openblasSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
				return
			}
		}
		kern := kernGo
		if hasAsm {
			kern = kernAVX2
		}
		packedGemm(kern, par, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc)
	case beGo:
		packedGemm(kernGo, par, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc)
	case beAVX512:
		packedGemm(kernAVX512, par, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc)
	default:
		packedGemm(kernAVX2, par, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc)
	}
}

func sgemmBatched(transA, transB bool, m, n, k int, alpha float32, a []float32, lda, strideA int, b []float32, ldb, strideB int, beta float32, c []float32, ldc, strideC int, batch int) {
	if m == 0 || n == 0 || batch == 0 {
		return
	}
	be := backend.Load()
	t := parallel.Threads()
	work := 2 * m * n * k
	// Matrices too small to be split across threads run whole, one batch
	// range per worker, when the batch as a whole is worth the threads;
	// larger ones run one after another, each split across workers. Either
	// way each matrix sees the same tile grid and k blocks, so the results
	// do not depend on the thread count.
	minPar := parMinFlops[kernOf(be)]
	if t > 1 && batch > 1 && work < minPar && batch*work >= minPar && be != beOpenBLAS {
		bj := batchPool.Get().(*batchJob)
		bj.be, bj.transA, bj.transB, bj.m, bj.n, bj.k = be, transA, transB, m, n, k
		bj.alpha, bj.beta = alpha, beta
		bj.a, bj.lda, bj.strideA = a, lda, strideA
		bj.b, bj.ldb, bj.strideB = b, ldb, strideB
		bj.c, bj.ldc, bj.strideC = c, ldc, strideC
		parallel.For(batch, max(1, minChunkFlops/max(work, 1)), bj.fn)
		bj.a, bj.b, bj.c = nil, nil, nil
		batchPool.Put(bj)
		return
	}
	for i := 0; i < batch; i++ {
		sgemmOn(be, true, transA, transB, m, n, k, alpha, a[i*strideA:], lda, b[i*strideB:], ldb, beta, nil, c[i*strideC:], ldc)
	}
}

// kernOf is the micro-kernel a Go-side backend runs.
func kernOf(be int32) kernelKind {
	switch {
	case be == beAVX512:
		return kernAVX512
	case be == beGo || !hasAsm:
		return kernGo
	}
	return kernAVX2
}

// batchJob carries a batched call through parallel.For without allocating.
type batchJob struct {
	be                        int32
	transA, transB            bool
	m, n, k                   int
	alpha, beta               float32
	a, b, c                   []float32
	lda, ldb, ldc             int
	strideA, strideB, strideC int
	fn                        func(lo, hi int)
}

var batchPool = sync.Pool{New: func() any {
	j := new(batchJob)
	j.fn = j.run
	return j
}}

// run computes matrices [lo, hi) of the batch, each on one thread.
func (j *batchJob) run(lo, hi int) {
	for i := lo; i < hi; i++ {
		sgemmOn(j.be, false, j.transA, j.transB, j.m, j.n, j.k, j.alpha,
			j.a[i*j.strideA:], j.lda, j.b[i*j.strideB:], j.ldb, j.beta, nil, j.c[i*j.strideC:], j.ldc)
	}
}
