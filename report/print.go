package report

import (
	"fmt"
	"io"
)

// Print lists the files a report wrote (on files), says when the
// grid is partial, and prints the headline table (unless quiet) and the
// claims' verdicts with their numbers (when claims is set) on stdout.
func (res *Result) Print(files, stdout io.Writer, quiet, claims bool) {
	for _, f := range res.Files {
		fmt.Fprintln(files, f)
	}
	if res.Partial {
		fmt.Fprintf(files, "\npartial: %d of %d runs done\n", res.Expected-res.Missing, res.Expected)
	}
	if !quiet {
		fmt.Fprintf(stdout, "\n%s", res.Headline)
	}
	if claims {
		fmt.Fprintln(stdout)
		for _, c := range res.Claims {
			fmt.Fprintf(stdout, "claim %d: %s: %s\n", c.Number, c.Verdict, c.Statement)
			for _, e := range c.Evidence {
				fmt.Fprintf(stdout, "  %s\n", e)
			}
		}
	}
}
