// Package parallel runs loops over index ranges on a fixed number of worker
// goroutines, so that the engine's kernels share one thread setting.
//
// Work is always split into the same contiguous chunks for a given thread
// count and range, so any kernel whose chunks write disjoint outputs gives
// bit-identical results for a given thread count.
//
// Chunks run on persistent workers (started on first use). For allocates
// nothing beyond the caller's closure; Run, which takes the loop body as a
// value with a Range method instead of a closure, allocates nothing at all
// once warm. A chunk finding every worker busy (nested or concurrent calls)
// runs on the calling goroutine instead of waiting, so calls never
// deadlock.
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

// A Body is a parallel loop's body: Range(lo, hi) processes indices [lo, hi).
type Body interface{ Range(lo, hi int) }

// funcBody adapts For's closure to a Body (without allocating: a func value
// fits in an interface as it is).
type funcBody func(lo, hi int)

func (f funcBody) Range(lo, hi int) { f(lo, hi) }

// A call is one For or Run invocation shared by its chunks.
type call struct {
	body    Body
	n, k    int
	pending sync.WaitGroup
}

// chunk runs chunk c of the call.
func (c *call) chunk(i int) { c.body.Range(i*c.n/c.k, (i+1)*c.n/c.k) }

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
	run(n, grain, funcBody(fn))
}

// Run is For for a loop body given as a value, whose Range method is the
// loop: it calls body.Range(lo, hi) on the chunks For would use. The value
// is copied into an object pooled per body type, so after the first calls
// Run allocates nothing, whereas a closure passed to For is one allocation
// per call (it escapes to the workers). Kernels that run at every training
// step use Run; a body type holds what their closure would capture.
func Run[B any, P interface {
	*B
	Body
}](n, grain int, body B) {
	if n <= 0 {
		return
	}
	pl := bodyPool[B]()
	p := pl.Get().(*B)
	*p = body
	run(n, grain, P(p))
	var zero B
	*p = zero // drop the references body held
	pl.Put(p)
}

// bodyPools maps a body type, as a nil *B, to the *sync.Pool of its objects.
var bodyPools sync.Map

func bodyPool[B any]() *sync.Pool {
	key := any((*B)(nil))
	if pl, ok := bodyPools.Load(key); ok {
		return pl.(*sync.Pool)
	}
	pl, _ := bodyPools.LoadOrStore(key, &sync.Pool{New: func() any { return new(B) }})
	return pl.(*sync.Pool)
}

func run(n, grain int, body Body) {
	if grain < 1 {
		grain = 1
	}
	t := Threads()
	k := (n + grain - 1) / grain
	if k > t {
		k = t
	}
	if k <= 1 {
		body.Range(0, n)
		return
	}
	ensureWorkers(t - 1)
	c, _ := pool.Get().(*call)
	if c == nil {
		c = &call{}
	}
	c.body, c.n, c.k = body, n, k
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
	c.body = nil
	pool.Put(c)
}
