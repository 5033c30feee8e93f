package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tramlab/tram/report"
)

func init() {
	register(&command{name: "report", summary: "write the report of a grid directory (tables, paired tests, plots, claims)", run: runReport})
}

func runReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", "DIR [--claims] [--quiet]  |  --cross OUT DIR…",
		"Reads a directory `tram reproduce` wrote (grid.json, machine.json, runs/ID.json and the step\n"+
			"logs runs/ID.log.jsonl) and writes, replacing earlier versions atomically:\n"+
			"  DIR/summary.json   the statistics over seeds, recomputed from the records (mean, 95% CI, n per\n"+
			"                     row and domain; paired tests against the base row; frontier gain;\n"+
			"                     regressions; ε-sharpness and CKA when measured)\n"+
			"  DIR/report.md      the report for reading on a forge: run facts, one table per training domain\n"+
			"                     in the paper's shape, paired t-tests over seeds, the frontier, ε-sharpness\n"+
			"                     and CKA, the in-domain/out-of-domain correlations (perplexity), training\n"+
			"                     curves, the tuning of tuned rows, a verdict (better / worse / equivalent /\n"+
			"                     inconclusive, Holm-adjusted over the report) on every comparison, and one\n"+
			"                     (held / not held / inconclusive / mixed / not measured) on each of the\n"+
			"                     paper's claims, computed from the numbers\n"+
			"  DIR/report.html    the same report as one self-contained page (SVG inlined, no scripts, nothing\n"+
			"                     fetched from the web)\n"+
			"  DIR/plots/*.svg    the plots report.md links to (plots an earlier report drew and this one does\n"+
			"                     not are removed)\n"+
			"A partial grid (some runs not done) is reported as such, from the runs done. The same directory\n"+
			"always gives the same files. Prints the paths written and the headline table (in-domain and\n"+
			"out-of-domain average per row and training domain).\n\n"+
			"With --cross OUT DIR…, reads several study directories (the cells of a study across regimes)\n"+
			"and writes OUT/cross.md, OUT/cross.json and OUT/plots/advantage.svg: each claim's verdict and\n"+
			"TRAM's against the best robust fine-tuning baseline in every cell, and the best TRAM row's paired\n"+
			"OOD advantage over the base optimizer, ASAM and the best robust baseline, cell by cell.", stderr)
	claims := fs.Bool("claims", false, "also print the verdict on each of the paper's claims")
	quiet := fs.Bool("quiet", false, "print only the paths written, not the headline table")
	cross := fs.String("cross", "", "write the cross-cell report of the DIRs into `OUT` instead (see above)")
	// DIR may come before or after the flags.
	var dirs, flags []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--":
			dirs = append(dirs, args[i+1:]...)
			i = len(args)
		case (a == "--cross" || a == "-cross") && i+1 < len(args):
			flags = append(flags, a, args[i+1])
			i++
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
		default:
			dirs = append(dirs, a)
		}
	}
	if err := parseFlags(fs, flags); err != nil {
		return err
	}
	if *cross != "" {
		if len(dirs) == 0 {
			return errors.New("--cross OUT: name the study directories to compare (see tram report --help)")
		}
		res, err := report.WriteCross(*cross, dirs)
		if err != nil {
			return err
		}
		for _, f := range res.Files {
			fmt.Fprintln(stdout, f)
		}
		return nil
	}
	switch len(dirs) {
	case 0:
		return errors.New("missing grid directory DIR (see tram report --help)")
	case 1:
	default:
		return fmt.Errorf("one grid directory expected, got %d: %s", len(dirs), strings.Join(dirs, " "))
	}
	res, err := report.Write(dirs[0])
	if err != nil {
		return err
	}
	res.Print(stdout, stdout, *quiet, *claims)
	return nil
}
