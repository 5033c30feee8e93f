package reproduce_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tramlab/tram/grid"
	"github.com/tramlab/tram/internal/fixture"
	"github.com/tramlab/tram/pretrain"
	"github.com/tramlab/tram/reproduce"
)

// Run one row of the paper's vision study at one seed, tiny (Quick), in
// this process, and read back its record and the report.
func ExampleRun() {
	dir, _ := os.MkdirTemp("", "reproduce")
	defer os.RemoveAll(dir)
	data, pre := filepath.Join(dir, "data"), filepath.Join(dir, "pretrained")
	fixture.Write(data) // tiny stand-ins for `tram data build`
	pretrain.Run(context.Background(), "vision", pretrain.Options{Data: data, Out: pre, Steps: 2, Batch: 8})

	study := grid.Families["vision"] // or grid.LoadStudy("my-study.yaml")
	out := filepath.Join(dir, "study")
	opts := reproduce.Options{Study: study, Methods: "sgd", Seed: 1, Quick: true, Model: pre, Data: data, Out: out,
		Jobs: 1, Stderr: io.Discard}
	if err := reproduce.Run(context.Background(), opts, io.Discard); err != nil {
		fmt.Println(err)
		return
	}
	recs, err := grid.ReadRecords(out, study)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, rec := range recs {
		fmt.Printf("%s seed %d: %d steps, %d domains evaluated\n", rec.Row, rec.Seed, rec.Steps, len(rec.Metrics))
		cmd, _, _ := strings.Cut(rec.Command, " --data") // the rest names this example's temporary directories
		fmt.Println("rerun alone:", cmd)
	}
	_, err = os.Stat(filepath.Join(out, "report.md"))
	fmt.Println("report written:", err == nil)
	// Output:
	// sgd seed 1: 6 steps, 7 domains evaluated
	// rerun alone: tram reproduce vision --methods sgd --seed 1
	// report written: true
}
