// Package gemm implements single-precision general matrix multiplication
// (sgemm) for row-major matrices:
//
//	C = alpha·op(A)·op(B) + beta·C,   op(X) = X or Xᵀ,
//
// where op(A) is m×k, op(B) is k×n and C is m×n. Matrices are stored
// row-major with row strides lda, ldb, ldc: the stride of A, B, C as stored,
// so a transposed A is stored k×m and needs lda ≥ m. As in BLAS, beta == 0
// means C is only written (NaNs in C disappear), and k == 0 or alpha == 0
// scales C by beta. SgemmBatched runs a batch of such products with element
// strides between matrices (0 broadcasts one A or B). SgemmBias computes
// C = alpha·op(A)·op(B) + bias with the bias vector added to every row (a
// linear layer's epilogue), bit-identical to filling C's rows with the bias
// and calling Sgemm with beta = 1; on the first k block the micro-kernels
// add the bias row where they would add C's rows (the same fused
// multiply-add), so C is never read and no separate pass over it is made.
//
// # Backends
//
//   - "avx2" (default on amd64 CPUs with AVX2 and FMA but no AVX-512): Go assembly, a 6×16
//     micro-kernel (per k: 2 VMOVUPS of packed B, 6 VBROADCASTSS of A,
//     12 VFMADD231PS into Y0–Y11) over packed blocks (Goto/BLIS loop nest:
//     kc = 256, mc = 168, nc = 4080), with assembly packing routines that
//     also resolve the transposes: Aᵀ and Bᵀ are never formed.
//   - "go": the same blocking with a portable Go micro-kernel; the default
//     where the assembly cannot run (other architectures, the purego build
//     tag, CPUs without AVX2/FMA).
//   - "avx512" (default on amd64 with AVX-512F): the avx2 path with a 6×32
//     AVX-512 micro-kernel over pairs of packed strips. Each C element sees
//     exactly the operations of the 6×16 kernel, so its results are
//     bit-identical to avx2; it is about 1.8× faster where AVX-512 runs at
//     full width.
//   - "openblas" (opt-in): OpenBLAS's Fortran sgemm_ called through purego
//     (no cgo). The row-major product is computed as the column-major
//     Cᵀ = op(B)ᵀ·op(A)ᵀ. Products with m·n·k < 32³ stay on the Go side.
//
// The backend is chosen at start-up from the TRAM_BLAS environment variable
// ("avx2", "go", "avx512", "openblas"; unset means the default) and can be
// changed with SetBackend. If the requested backend cannot be used, the
// default is kept and InitError says why; Backend always names the backend
// in use and BackendInfo describes it for run metadata.
//
// OpenBLAS is looked up as libopenblas.so.0, then libopenblas.so (or the
// file named by TRAM_OPENBLAS_LIB). Unless OPENBLAS_CORETYPE is set, it is
// set while the library initializes to the core type the CPU supports
// (SkylakeX with AVX-512, else Haswell with AVX2): builds older than the CPU
// — Debian 12's OpenBLAS 0.3.21 on Sapphire/Emerald Rapids — otherwise fall
// back to SSE3 kernels several times slower. Its thread count follows
// parallel.Threads(). Its worker threads busy-wait for a while after each
// call (OPENBLAS_THREAD_TIMEOUT, 2^28 cycles by default) and in that window
// compete with the engine's own goroutines for the cores;
// OPENBLAS_THREAD_TIMEOUT=4 makes them sleep at once, at the price of a
// wake-up per call (measured here: large products unchanged, 8 batched
// 256×256×32 products 90 → 50 GFLOP/s).
//
// # Threads and determinism
//
// The Go-side backends run on parallel.Threads() workers (internal/parallel).
// Work is split along whole micro-tiles of M or N, never along K; the tile
// grid is anchored at C's origin and the k blocks depend on k alone, so every
// element of C is computed by the same sequence of operations whatever the
// thread count: results are bit-identical for any parallel.Threads().
// Large products split C statically (each worker packs its own panels);
// mid-size ones pack B once and let the workers pull row blocks; products
// under ~150 µs of single-core work stay on one thread, because waking an
// idle CPU costs ~100 µs on the virtual machines this was tuned on.
// SgemmBatched splits the batch across workers when each matrix is too small
// to split.
// Products below 5³ use a plain loop; packing buffers are kept on free lists,
// so steady-state calls allocate nothing on one thread (parallel.For's
// goroutines aside).
package gemm
