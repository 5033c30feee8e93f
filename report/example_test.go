package report_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/tramlab/tram/report"
)

// Write reads a grid directory (here a made-up one: nine rows, three
// seeds) and writes summary.json, the report and its plots.
func Example() {
	dir, err := os.MkdirTemp("", "grid")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := fakeVision().write(dir, []int{1, 2, 3}, []int{1, 2, 3}); err != nil {
		log.Fatal(err)
	}
	res, err := report.Write(dir)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range res.Files {
		rel, _ := filepath.Rel(dir, f)
		fmt.Println(filepath.ToSlash(rel))
	}
	fmt.Printf("%d runs of %d; claim 1: %s\n", res.Runs, res.Expected, res.Claims[0].Verdict)
	// Output:
	// summary.json
	// report.md
	// report.html
	// plots/bars.svg
	// plots/frontier.svg
	// plots/curve-loss.svg
	// plots/curve-val-loss.svg
	// plots/curve-d.svg
	// plots/curve-eps-norm.svg
	// 27 runs of 27; claim 1: held
}
