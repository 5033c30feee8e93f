package main

import (
	"context"
	"errors"
	"flag"

	"github.com/tramlab/tram/grid"
)

// slurmOptions are the flags of --executor slurm.
type slurmOptions struct {
	partition, time, mem string
	cpusPerTask          int
	sbatchArgs           []string
	dryRun               bool
}

// slurmFlags registers the flags of --executor slurm.
func slurmFlags(fs *flag.FlagSet, o *slurmOptions) {
	fs.BoolVar(&o.dryRun, "dry-run", false, "--executor slurm: print the job-array script and submit nothing")
}

// runSlurm runs the unfinished runs as a Slurm job array (not yet built).
func (r *reproducer) runSlurm(ctx context.Context, runs []grid.Run) (int, error) {
	return 0, errors.New("--executor slurm is not built yet")
}
