package reproduce

import (
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
	res.Print(stderr, stdout, false, false)
	return nil
}
