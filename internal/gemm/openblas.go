//go:build (linux || darwin || freebsd) && !android && (amd64 || arm64)

package gemm

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/tramlab/tram/internal/parallel"
	"golang.org/x/sys/cpu"
)

// OpenBLAS is loaded at run time with purego (no cgo). We call the Fortran
// symbol sgemm_ directly: every argument is passed by reference, so floats
// travel as pointers and no floating-point registers are involved.

// openblasNames are tried in order; TRAM_OPENBLAS_LIB (a file name or path)
// replaces them.
var openblasNames = func() []string {
	if p := os.Getenv("TRAM_OPENBLAS_LIB"); p != "" {
		return []string{p}
	}
	if runtime.GOOS == "darwin" {
		return []string{"libopenblas.dylib", "libopenblas.0.dylib", "/opt/homebrew/opt/openblas/lib/libopenblas.dylib", "/usr/local/opt/openblas/lib/libopenblas.dylib"}
	}
	return []string{"libopenblas.so.0", "libopenblas.so"}
}()

var ob struct {
	once       sync.Once
	err        error
	info       string // library, config and core type, for run metadata
	sgemm      uintptr
	setThreads uintptr      // openblas_set_num_threads, or 0
	threads    atomic.Int64 // last value given to setThreads
}

// coreTypeHint picks an OPENBLAS_CORETYPE from the CPU's features. Builds
// of OpenBLAS older than the CPU (Debian 12's 0.3.21 on Sapphire/Emerald
// Rapids, for one) fall back to the SSE3 "Prescott" kernels, 4–5× slower
// than the AVX-512 ("SkylakeX") or AVX2 ("Haswell") ones the CPU can run.
func coreTypeHint() string {
	switch {
	case runtime.GOARCH != "amd64":
		return ""
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512CD:
		return "SkylakeX"
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return "Haswell"
	}
	return ""
}

// loadOpenBLAS loads the library once; later calls return the same result.
//
// Unless OPENBLAS_CORETYPE is already set, it is set to coreTypeHint() while
// the library initializes (its kernel choice is made then) and removed again
// afterwards.
func loadOpenBLAS() error {
	ob.once.Do(func() {
		hint := ""
		if _, set := os.LookupEnv("OPENBLAS_CORETYPE"); !set {
			if hint = coreTypeHint(); hint != "" {
				os.Setenv("OPENBLAS_CORETYPE", hint)
				defer os.Unsetenv("OPENBLAS_CORETYPE")
			}
		}
		var tried []string
		for _, name := range openblasNames {
			h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL)
			if err != nil {
				tried = append(tried, err.Error())
				continue
			}
			sym, err := purego.Dlsym(h, "sgemm_")
			if err != nil {
				tried = append(tried, fmt.Sprintf("%s: no sgemm_: %v", name, err))
				continue
			}
			ob.sgemm = sym
			if st, err := purego.Dlsym(h, "openblas_set_num_threads"); err == nil {
				ob.setThreads = st
			}
			ob.info = name
			if f, err := purego.Dlsym(h, "openblas_get_config"); err == nil {
				r, _, _ := purego.SyscallN(f)
				ob.info += " (" + cString(r) + ")"
			}
			if f, err := purego.Dlsym(h, "openblas_get_corename"); err == nil {
				r, _, _ := purego.SyscallN(f)
				ob.info += " core " + cString(r)
			}
			if hint != "" {
				ob.info += " [OPENBLAS_CORETYPE=" + hint + " set by tram]"
			}
			return
		}
		ob.err = fmt.Errorf("gemm: backend \"openblas\" unavailable: cannot load OpenBLAS (%s); install libopenblas0 (Debian/Ubuntu: apt-get install libopenblas0)", strings.Join(tried, "; "))
	})
	return ob.err
}

// cString copies a NUL-terminated C string (at most 256 bytes).
func cString(p uintptr) string {
	if p == 0 {
		return ""
	}
	// Reinterpret the address without a uintptr→Pointer conversion (the
	// string is C memory, outside the Go heap), reading byte by byte.
	base := *(*unsafe.Pointer)(unsafe.Pointer(&p))
	for i := 0; i < 256; i++ {
		if *(*byte)(unsafe.Add(base, i)) == 0 {
			return string(unsafe.Slice((*byte)(base), i))
		}
	}
	return string(unsafe.Slice((*byte)(base), 256))
}

func openblasInfo() string {
	if loadOpenBLAS() != nil {
		return ""
	}
	return ob.info
}

// fortranArgs lives on the heap (pooled) so the pointers handed to sgemm_
// stay valid and the call does not allocate.
type fortranArgs struct {
	transA, transB         byte
	m, n, k, lda, ldb, ldc int32
	alpha, beta            float32
}

var fortranPool = sync.Pool{New: func() any { return new(fortranArgs) }}

func fitsInt32(xs ...int) bool {
	for _, x := range xs {
		if x > math.MaxInt32 {
			return false
		}
	}
	return true
}

// openblasSgemm runs a row-major GEMM through column-major sgemm_ by
// computing Cᵀ = op(B)ᵀ·op(A)ᵀ: the operands swap places and keep their
// transpose flags. It reports false when the call cannot be made (library
// not loaded or sizes beyond 32-bit Fortran integers).
func openblasSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	if ob.sgemm == 0 || !fitsInt32(m, n, k, lda, ldb, ldc) {
		return false
	}
	if ob.setThreads != 0 {
		if t := int64(parallel.Threads()); ob.threads.Swap(t) != t {
			purego.SyscallN(ob.setThreads, uintptr(t))
		}
	}
	p := fortranPool.Get().(*fortranArgs)
	p.transA, p.transB = 'N', 'N'
	if transA {
		p.transA = 'T'
	}
	if transB {
		p.transB = 'T'
	}
	p.m, p.n, p.k = int32(m), int32(n), int32(k)
	p.lda, p.ldb, p.ldc = int32(lda), int32(ldb), int32(ldc)
	p.alpha, p.beta = alpha, beta
	// sgemm_(transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc,
	// len(transa), len(transb)) with (A, B) := (B, A), (m, n) := (n, m).
	purego.SyscallN(ob.sgemm,
		uintptr(unsafe.Pointer(&p.transB)), uintptr(unsafe.Pointer(&p.transA)),
		uintptr(unsafe.Pointer(&p.n)), uintptr(unsafe.Pointer(&p.m)), uintptr(unsafe.Pointer(&p.k)),
		uintptr(unsafe.Pointer(&p.alpha)),
		uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(unsafe.Pointer(&p.ldb)),
		uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(&p.lda)),
		uintptr(unsafe.Pointer(&p.beta)),
		uintptr(unsafe.Pointer(unsafe.SliceData(c))), uintptr(unsafe.Pointer(&p.ldc)),
		1, 1)
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(c)
	fortranPool.Put(p)
	return true
}
