// Package parallel runs loops over index ranges on a fixed number of worker
// goroutines, so that the engine's kernels share one thread setting.
//
// Work is always split into the same contiguous chunks for a given thread
// count and range, so any kernel whose chunks write disjoint outputs gives
// bit-identical results for a given thread count.
//
// Chunks run on persistent workers (started on first use), so a call
// allocates nothing beyond the caller's closure. A chunk finding every
// worker busy (nested or concurrent calls) runs on the calling goroutine
// instead of waiting, so calls never deadlock.
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

// A call is one For invocation shared by its chunks.
type call struct {
	fn      func(lo, hi int)
	n, k    int
	pending sync.WaitGroup
}

// chunk runs chunk c of the call.
func (c *call) chunk(i int) { c.fn(i*c.n/c.k, (i+1)*c.n/c.k) }

type job struct {
	c *call
	i int
}

var (
	pool     sync.Pool // *call
	jobs     chan job
	spawned  atomic.Int64
	spawnMux sync.Mutex
)

// ensureWorkers starts workers up to want (they live for the process).
func ensureWorkers(want int) {
	if int(spawned.Load()) >= want {
		return
	}
	spawnMux.Lock()
	defer spawnMux.Unlock()
	if jobs == nil {
		jobs = make(chan job)
	}
	for int(spawned.Load()) < want {
		spawned.Add(1)
		go func() {
			for j := range jobs {
				j.c.chunk(j.i)
				j.c.pending.Done()
			}
		}()
	}
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
	k := (n + grain - 1) / grain
	if k > t {
		k = t
	}
	if k <= 1 {
		fn(0, n)
		return
	}
	ensureWorkers(t - 1)
	c, _ := pool.Get().(*call)
	if c == nil {
		c = &call{}
	}
	c.fn, c.n, c.k = fn, n, k
	for i := 1; i < k; i++ {
		c.pending.Add(1)
		select {
		case jobs <- job{c, i}:
		default: // every worker is busy: do it here
			c.chunk(i)
			c.pending.Done()
		}
	}
	c.chunk(0)
	c.pending.Wait()
	c.fn = nil
	pool.Put(c)
}
