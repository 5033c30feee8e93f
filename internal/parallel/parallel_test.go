package parallel

import "testing"

func TestForCoversRangeOnce(t *testing.T) {
	defer SetThreads(SetThreads(3))
	for _, tc := range []struct{ n, grain int }{{0, 1}, {1, 1}, {7, 1}, {100, 8}, {5, 10}, {1000, 1}} {
		hits := make([]int, tc.n)
		For(tc.n, tc.grain, func(lo, hi int) {
			if hi-lo < 1 {
				t.Errorf("n=%d grain=%d: empty chunk [%d,%d)", tc.n, tc.grain, lo, hi)
			}
			for i := lo; i < hi; i++ {
				hits[i]++
			}
		})
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("n=%d grain=%d: index %d visited %d times", tc.n, tc.grain, i, h)
			}
		}
	}
}

func TestSetThreadsClamps(t *testing.T) {
	prev := SetThreads(0)
	defer SetThreads(prev)
	if Threads() != 1 {
		t.Fatalf("SetThreads(0) gave %d threads, want 1", Threads())
	}
}

func TestNestedCallsDoNotDeadlock(t *testing.T) {
	defer SetThreads(SetThreads(2))
	var total [64]int
	For(8, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			For(8, 1, func(a, b int) {
				for j := a; j < b; j++ {
					total[i*8+j]++
				}
			})
		}
	})
	for i, v := range total {
		if v != 1 {
			t.Fatalf("cell %d visited %d times", i, v)
		}
	}
}

func TestForAllocatesOnlyTheClosure(t *testing.T) {
	defer SetThreads(SetThreads(2))
	out := make([]float64, 1000)
	fn := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i]++
		}
	}
	For(len(out), 1, fn)
	if a := testing.AllocsPerRun(100, func() { For(len(out), 1, fn) }); a > 0.1 {
		t.Fatalf("%v allocations per call", a)
	}
}

// addOne is a loop body for Run: what a closure would capture, as fields.
type addOne struct{ out []float64 }

func (b *addOne) Range(lo, hi int) {
	for i := lo; i < hi; i++ {
		b.out[i]++
	}
}

func TestRunCoversRangeOnceWithoutAllocating(t *testing.T) {
	defer SetThreads(SetThreads(3))
	for _, n := range []int{0, 1, 2, 7, 1000} {
		out := make([]float64, n)
		Run(n, 1, addOne{out})
		for i, v := range out {
			if v != 1 {
				t.Fatalf("n=%d: index %d visited %v times", n, i, v)
			}
		}
	}
	out := make([]float64, 1000)
	if a := testing.AllocsPerRun(100, func() { Run(len(out), 1, addOne{out}) }); a > 0.1 {
		t.Fatalf("%v allocations per call", a)
	}
}
