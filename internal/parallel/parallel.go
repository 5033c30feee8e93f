// Package parallel runs loops over index ranges on a fixed number of worker
// goroutines, so that the engine's kernels share one thread setting.
//
// Work is always split into the same contiguous chunks for a given thread
// count and range, so any kernel whose chunks write disjoint outputs gives
// bit-identical results for a given thread count.
package parallel

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

var threads atomic.Int64

func init() {
	n := runtime.GOMAXPROCS(0)
	if s := os.Getenv("TRAM_THREADS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	threads.Store(int64(n))
}

// Threads reports the number of workers kernels may use.
func Threads() int { return int(threads.Load()) }

// SetThreads sets the number of workers kernels may use; n < 1 means 1.
// It returns the previous setting.
func SetThreads(n int) int {
	if n < 1 {
		n = 1
	}
	return int(threads.Swap(int64(n)))
}

// For calls fn(lo, hi) on disjoint chunks covering [0, n). Chunks hold at least
// grain indices; at most Threads() chunks run at once and the split depends
// only on n, grain and Threads(). fn runs on the calling goroutine when one
// chunk suffices.
func For(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	t := Threads()
	chunks := (n + grain - 1) / grain
	if chunks > t {
		chunks = t
	}
	if chunks <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(chunks - 1)
	for c := 1; c < chunks; c++ {
		lo, hi := c*n/chunks, (c+1)*n/chunks
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	fn(0, n/chunks)
	wg.Wait()
}
