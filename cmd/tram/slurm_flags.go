package main

// The flags of tram reproduce's Slurm executor (--executor slurm); the
// executor itself is in package reproduce (slurm.go).

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tramlab/tram/reproduce"
)

// slurmOnly are the flags that mean something with --executor slurm only.
var slurmOnly = []string{"partition", "time", "cpus-per-task", "mem", "sbatch-arg", "dry-run", "tram-binary"}

// slurmFlags registers the flags of --executor slurm.
func slurmFlags(fs *flag.FlagSet, o *reproduce.SlurmOptions) {
	fs.StringVar(&o.Partition, "partition", "", "--executor slurm: the Slurm `PARTITION` the tasks run in (default: the cluster's default partition)")
	fs.StringVar(&o.Time, "time", "", "--executor slurm: time limit of each task, as sbatch --time takes it (`T`: MINUTES, HH:MM:SS,\n"+
		"D-HH:MM; default: the partition's); a run cut off by it is reported failed, and rerunning resumes it")
	fs.IntVar(&o.CPUsPerTask, "cpus-per-task", 0, "--executor slurm: CPUs of each task, and the --threads every run computes with unless\n"+
		"--threads is given as well (then at least --threads; default --threads, i.e. 1)")
	fs.StringVar(&o.Mem, "mem", "", "--executor slurm: memory of each task, as sbatch --mem takes it (`M`: 4G, 500M; default: the\ncluster's)")
	fs.Func("sbatch-arg", "--executor slurm: one more sbatch option for the array, written `--NAME=VALUE` (--account=lab,\n"+
		"--qos=long, --constraint=avx2, --exclude=node7); repeatable", func(s string) error {
		if err := reproduce.CheckSbatchArg(s); err != nil {
			return err
		}
		o.SbatchArgs = append(o.SbatchArgs, s)
		return nil
	})
	fs.StringVar(&o.Binary, "tram-binary", "", "--executor slurm: the tram `PATH` the tasks run (default: this binary, which the nodes must see at\nthe same path)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "--executor slurm: print the job-array script, list the runs it would run, and submit nothing")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprint(fs.Output(), slurmHelp)
	}
}

const slurmHelp = `
With --executor slurm, the unfinished runs are submitted with sbatch as one job array, a task per
run (requeueable: a preempted or requeued task resumes from its snapshot), and tram follows it
(pending, running, done, failed, from squeue and the run files) and writes the summary and the
report when every run is done. --out, --data, --model and the tram binary must be on storage all
nodes share, at the same paths. Each task logs to DIR/slurm/task-JOBID_INDEX.log; a failed run is
reported with its job id and the end of its log, and the others go on. Rerunning the same command
submits only the runs neither finished nor still queued, and follows those still queued; Ctrl-C
stops following and leaves the array running. With --executor slurm, --jobs N (if given) limits
the tasks that run at once. See docs/CLUSTER.md.
`

// checkSlurmFlags validates the slurm flags of fs against the executor:
// they are refused with --executor local, where they would silently do
// nothing.
func checkSlurmFlags(fs *flag.FlagSet, executor string) error {
	if executor == "slurm" {
		return nil
	}
	var given []string
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(slurmOnly, f.Name) {
			given = append(given, "--"+f.Name)
		}
	})
	if len(given) > 0 {
		return fmt.Errorf("%s: only with --executor slurm (add --executor slurm, or leave %s out to run on this machine)",
			strings.Join(given, ", "), map[bool]string{true: "it", false: "them"}[len(given) == 1])
	}
	return nil
}

// Test hooks: the Slurm follower's timings (reproduce.SlurmOptions; 0:
// the defaults), which tests shorten.
var slurmPoll, slurmQueryEvery, slurmGrace time.Duration
