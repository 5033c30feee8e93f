package grid_test

import (
	"fmt"

	"github.com/tramlab/tram/grid"
)

// The vision grid's main rows, and the runs of two of them over two seeds:
// every row of a seed sees the same data order, so comparisons pair by seed.
func ExampleGrid_Runs() {
	g := grid.Families["vision"]
	rows, _ := g.Select("sgd,tram-theta0")
	for _, run := range g.Runs(rows, nil, []int{1, 2}) {
		fmt.Println(run.ID(), grid.Args(g.FinetuneFlags(run)))
	}
	// Output:
	// sgd.s1 [--method=sgd --seed=1]
	// tram-theta0.s1 [--method=tram-theta0 --seed=1]
	// sgd.s2 [--method=sgd --seed=2]
	// tram-theta0.s2 [--method=tram-theta0 --seed=2]
}

// A paired comparison over three seeds: the difference, its 95% interval
// and the paired t-test.
func ExamplePairedTest() {
	tram := grid.Estimated([]float64{61.2, 58.9, 60.4}, []int{1, 2, 3})
	sgd := grid.Estimated([]float64{57.3, 56.1, 57.9}, []int{1, 2, 3})
	p := grid.PairedTest(tram, sgd, true)
	fmt.Printf("Δ = %+.2f ± %.2f, p = %.3f, wins %d of %d\n", p.Diff.Mean, p.Diff.CI95, p.P, p.Wins, p.Diff.N)
	// Output:
	// Δ = +3.07 ± 1.83, p = 0.019, wins 3 of 3
}
