package main

import (
	"fmt"
	"io"

	"github.com/tramlab/tram/report"
)

// writeReport writes summary.json, report.md, report.html and plots/ of a
// grid directory, lists the files on stderr and prints the headline table
// on stdout.
func writeReport(dir string, stdout, stderr io.Writer) error {
	res, err := report.Write(dir)
	if err != nil {
		return err
	}
	for _, f := range res.Files {
		fmt.Fprintln(stderr, f)
	}
	if res.Partial {
		fmt.Fprintf(stderr, "tram reproduce: partial grid: %d of %d runs\n", res.Expected-res.Missing, res.Expected)
	}
	fmt.Fprint(stdout, res.Headline)
	return nil
}
