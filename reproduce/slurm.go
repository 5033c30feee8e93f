package reproduce

// The Slurm executor of tram reproduce (--executor slurm): the runs not yet
// finished go to Slurm as a job array, one task per run, each task running
// `tram reproduce FAMILY --methods ROW --seed S … --no-report` for its own
// run on a node; tram follows the array and, once every run is done,
// writes the summary and the report as a local run does.
//
// Slurm places, requeues and accounts for the tasks; tram keeps what makes
// that safe. A run writes only its own files (DIR/runs/ID.json atomically,
// DIR/state/ID.*), so no two tasks write the same file, and the summary is
// written by the submitting command only after every run is done. A
// requeued or preempted task resumes from its run's snapshot and ends with
// the numbers of an uninterrupted run. Each submission is recorded in
// DIR/slurm/job-JOBID.json, so that rerunning the command submits only the
// runs that are neither finished nor still queued in an earlier array, and
// follows those too.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/grid"
	"github.com/tramlab/tram/internal/buildinfo"
)

// SlurmOptions are the settings of the Slurm executor (Options.Executor
// "slurm").
type SlurmOptions struct {
	// Partition, Time and Mem are sbatch's --partition, --time and --mem
	// of each task ("": the cluster's defaults).
	Partition, Time, Mem string
	// CPUsPerTask is each task's CPU count, and the thread count of every
	// run unless Options.Threads is given (then at least that; 0:
	// Options.Threads).
	CPUsPerTask int
	// SbatchArgs are more sbatch options for the array, each --NAME=VALUE
	// (CheckSbatchArg).
	SbatchArgs []string
	// DryRun prints the job-array script and lists its runs on stderr,
	// submitting nothing.
	DryRun bool
	// Binary is the tram binary the tasks run (default Options.Binary, else
	// this binary); the nodes must see it at the same path.
	Binary string
	// Poll, QueryEvery, Grace and GiveUp are the follower's timings (0:
	// the defaults: the run files are looked at every second, squeue asked
	// every 10 seconds, a task whose run exited 0 has 30 seconds for its
	// record to show up, and squeue may keep failing for 3 minutes).
	Poll, QueryEvery, Grace, GiveUp time.Duration
}

// ownSbatchOptions are the sbatch options the executor sets itself, each
// with its short form ("" for none) and what to do instead.
var ownSbatchOptions = []struct{ long, short, instead string }{
	{"array", "a", "one task per unfinished run; --jobs N limits how many run at once"},
	{"job-name", "J", "tram-FAMILY, by which tram knows its tasks in the queue"},
	{"output", "o", "each task logs to DIR/slurm/task-JOBID_INDEX.log"},
	{"error", "e", "each task logs to DIR/slurm/task-JOBID_INDEX.log"},
	{"open-mode", "", "a requeued task appends to its log"},
	{"requeue", "", "tasks are always requeueable"},
	{"no-requeue", "", "tasks are always requeueable"},
	{"wrap", "", "tram writes the script"},
	{"chdir", "D", "tasks run in DIR"},
	{"cpus-per-task", "c", "use --cpus-per-task"},
	{"partition", "p", "use --partition"},
	{"time", "t", "use --time"},
	{"mem", "", "use --mem"},
	{"ntasks", "n", "each task is one process"},
}

// CheckSbatchArg checks one sbatch option for the array (--sbatch-arg):
// one option, --NAME=VALUE, and none that the executor sets itself.
func CheckSbatchArg(s string) error {
	if !strings.HasPrefix(s, "-") || strings.ContainsAny(s, "\n\r") {
		return fmt.Errorf("%q is not an sbatch option: write one option, --NAME=VALUE", s)
	}
	name := strings.TrimLeft(s, "-")
	if strings.HasPrefix(s, "--") {
		name, _, _ = strings.Cut(name, "=")
	} else if len(name) > 1 {
		name = name[:1] // -pgpu
	}
	for _, o := range ownSbatchOptions {
		if name == o.long || (o.short != "" && name == o.short) {
			return fmt.Errorf("%q: tram sets sbatch --%s itself (%s)", s, o.long, o.instead)
		}
	}
	return nil
}

// timings returns the follower's timings: how often the run files are
// looked at; how often squeue is asked (the controller is shared: not too
// often); how long a task that left the queue after its run exited 0 may
// take for the run's record to show up (shared storage can lag behind);
// how long squeue may keep failing before tram stops following (the array
// runs on regardless).
func (o *SlurmOptions) timings() (poll, queryEvery, grace, giveUp time.Duration) {
	return cmp.Or(o.Poll, time.Second), cmp.Or(o.QueryEvery, 10*time.Second), cmp.Or(o.Grace, 30*time.Second), cmp.Or(o.GiveUp, 3*time.Minute)
}

// plural returns "1 run", "2 runs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// slurmJob is DIR/slurm/job-JOBID.json: one submitted array.
type slurmJob struct {
	JobID     string    `json:"job_id"`
	Name      string    `json:"name"`
	Script    string    `json:"script"`
	RunsFile  string    `json:"runs_file"`
	Runs      []string  `json:"runs"` // run IDs by array index
	Submitted time.Time `json:"submitted"`
	// Ended is set once none of its tasks is in the queue any more.
	Ended bool `json:"ended,omitempty"`
}

// slurmTask is one array task the follower watches.
type slurmTask struct {
	job   string // array job id
	index int
	run   grid.Run
	id    string
	// state and reason are squeue's (%T, %r); state is "" while the task
	// is not in the queue.
	state, reason string
	// end is "done" or "failed" once the task is over.
	end string
	// absent counts the squeue answers in a row without the task (and
	// without its record); gone is when it was first so.
	absent   int
	gone     time.Time
	progress string
}

func (t *slurmTask) name() string { return t.job + "_" + strconv.Itoa(t.index) }

// slurmPlan is what a submission needs: the resolved settings and paths.
type slurmPlan struct {
	binary   string
	cpus     int
	throttle int // --jobs if given (the array's %N), else 0
	dir      string
	maxArray int
}

// slurmPrepare resolves the settings of a submission: absolute paths,
// threads and CPUs, the binary.
func (r *reproducer) slurmPrepare() (*slurmPlan, error) {
	o := &r.slurm
	r.out, r.data, r.model = abs(r.out), abs(r.data), abs(r.model)
	if r.study != "" {
		r.study = abs(r.study) // the tasks may start in another directory
	}
	if u := r.g.UserData; u != nil {
		// The tasks read the study file by its absolute path, and so
		// resolve its data's paths to absolute ones: so does this process.
		c := *u
		c.Train, c.Valid = abs(c.Train), absOrEmpty(c.Valid)
		c.Tests = slices.Clone(c.Tests)
		for i := range c.Tests {
			c.Tests[i].Path = abs(c.Tests[i].Path)
		}
		r.g.UserData = &c
	}
	for _, p := range []string{r.out, r.data, r.model} {
		if strings.ContainsAny(p, "\n\r") {
			return nil, fmt.Errorf("%q: a path with a line break cannot go into a job script", p)
		}
	}
	if strings.ContainsAny(r.out, " \t%") {
		return nil, fmt.Errorf("--out %s: with --executor slurm the path may hold no spaces or %% (sbatch reads it in #SBATCH lines): choose another --out", r.out)
	}
	p := &slurmPlan{cpus: o.CPUsPerTask, dir: filepath.Join(r.out, "slurm"), maxArray: 1001}
	switch {
	case p.cpus == 0:
		p.cpus = r.threads
	case !r.threadsGiven:
		r.threads = p.cpus
	case p.cpus < r.threads:
		return nil, fmt.Errorf("--cpus-per-task %d is fewer than --threads %d: every run computes with --threads kernel threads; give it at least that many CPUs (or leave --threads out to use --cpus-per-task)",
			p.cpus, r.threads)
	}
	if r.jobsGiven {
		p.throttle = r.jobs
	}
	p.binary = o.Binary
	if p.binary == "" {
		exe, err := r.executable()
		if err != nil {
			return nil, fmt.Errorf("cannot tell where this tram binary is (%v): give --tram-binary", err)
		}
		p.binary = exe
	}
	p.binary = abs(p.binary)
	if st, err := os.Stat(p.binary); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("--tram-binary %s: not an executable file here (the nodes run it at this path)", p.binary)
	}
	if strings.ContainsAny(p.binary, "\n\r") {
		return nil, fmt.Errorf("--tram-binary %q: a path with a line break cannot go into a job script", p.binary)
	}
	return p, nil
}

// slurmDryRun prints the job-array script(s) that runSlurm would submit and
// lists their runs; it submits nothing and writes no script or run list
// (it may mark earlier submissions with nothing left in the queue ended).
func (r *reproducer) slurmDryRun(runs []grid.Run, stdout io.Writer) error {
	p, err := r.slurmPrepare()
	if err != nil {
		return err
	}
	inflight := map[string]*slurmTask{}
	if jobs := r.slurmJobs(); len(jobs) > 0 {
		if _, err := exec.LookPath("squeue"); err != nil {
			fmt.Fprintf(r.stderr, "tram reproduce: dry run: no squeue here to ask which runs of %s are still queued: the list may hold them too\n", joinJobIDs(jobs))
		} else if inflight, err = r.slurmInFlight(context.Background(), jobs, runs); err != nil {
			fmt.Fprintf(r.stderr, "tram reproduce: dry run: %v: the list may hold runs still queued\n", err)
		}
	}
	pending, err := r.slurmPending(runs, inflight)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		fmt.Fprintf(r.stderr, "tram reproduce: dry run: nothing to submit: %d runs done, %d still queued or running\n", len(runs)-len(inflight), len(inflight))
		return nil
	}
	stamp := time.Now().UTC().Format("20060102-150405")
	for i, chunk := range chunks(pending, p.maxArray) {
		runsFile := filepath.Join(p.dir, "runs-"+stamp+".txt")
		if i > 0 {
			runsFile = filepath.Join(p.dir, fmt.Sprintf("runs-%s-%d.txt", stamp, i+1))
		}
		fmt.Fprint(stdout, r.slurmScript(p, chunk, runsFile))
		fmt.Fprintf(r.stderr, "tram reproduce: dry run: %d runs as array indexes 0-%d; %s (not written) would hold, line N+1 for index N:\n",
			len(chunk), len(chunk)-1, runsFile)
		for j, run := range chunk {
			fmt.Fprintf(r.stderr, "  %4d  %s\n", j, r.slurmRunLine(run))
		}
	}
	fmt.Fprintln(r.stderr, "tram reproduce: dry run: nothing submitted; rerun without --dry-run to submit and follow")
	return nil
}

// runSlurm submits the runs neither finished nor still queued as Slurm job
// arrays, follows them together with those still queued from an earlier
// submission, and returns how many runs failed.
func (r *reproducer) runSlurm(ctx context.Context, runs []grid.Run) (failed int, err error) {
	p, err := r.slurmPrepare()
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return 0, fmt.Errorf("--out: %w", err)
	}
	unlock, err := lockSubmit(p.dir)
	if err != nil {
		return 0, err
	}
	tasks, err := r.slurmSubmit(ctx, p, runs)
	unlock()
	if err != nil {
		return 0, err
	}
	// The machine record says how the runs ran.
	info := machineInfo(r.threads, 1)
	info["executor"] = "slurm"
	info["slurm_cpus_per_task"] = p.cpus
	checkpoint.WriteJSON(filepath.Join(r.out, "machine.json"), info)
	if len(tasks) == 0 {
		return 0, nil
	}
	return r.slurmFollow(ctx, tasks)
}

// slurmSubmit decides what to submit, submits it and returns every task to
// follow: those still queued from earlier submissions and the new ones.
func (r *reproducer) slurmSubmit(ctx context.Context, p *slurmPlan, runs []grid.Run) ([]*slurmTask, error) {
	inflight := map[string]*slurmTask{}
	if jobs := r.slurmJobs(); len(jobs) > 0 {
		var err error
		if inflight, err = r.slurmInFlight(ctx, jobs, runs); err != nil {
			return nil, fmt.Errorf("%v: cannot tell which runs are still queued, so nothing was submitted; rerun when squeue answers", err)
		}
	}
	pending, err := r.slurmPending(runs, inflight)
	if err != nil {
		return nil, err
	}
	var tasks []*slurmTask
	for _, run := range runs { // in grid order
		if t := inflight[run.ID()]; t != nil {
			tasks = append(tasks, t)
		}
	}
	done := len(runs) - len(pending) - len(inflight)
	if done > 0 {
		fmt.Fprintf(r.stderr, "tram reproduce: %d of %d runs already done in %s\n", done, len(runs), r.out)
	}
	if len(inflight) > 0 {
		var jobs []string
		for _, t := range tasks {
			if !slices.Contains(jobs, t.job) {
				jobs = append(jobs, t.job)
			}
		}
		fmt.Fprintf(r.stderr, "tram reproduce: %s still queued or running in Slurm job %s: following, not submitting again\n",
			plural(len(inflight), "run"), strings.Join(jobs, ", "))
	}
	if len(pending) == 0 {
		return tasks, nil
	}
	if _, err := exec.LookPath("sbatch"); err != nil {
		return nil, fmt.Errorf("--executor slurm: no sbatch on PATH to submit the %d runs left: run this on a login node of the cluster (or give --dry-run to see the job script)", len(pending))
	}
	if out, err := exec.CommandContext(ctx, "scontrol", "show", "config").Output(); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), "="); ok && strings.TrimSpace(k) == "MaxArraySize" {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
					p.maxArray = n
				}
			}
		}
	}
	for _, chunk := range chunks(pending, p.maxArray) {
		job, err := r.slurmSubmitArray(ctx, p, chunk)
		if err != nil {
			if len(tasks) > 0 {
				err = fmt.Errorf("%v (runs submitted before this one keep running: rerun the same command to follow them)", err)
			}
			return nil, err
		}
		for i, run := range chunk {
			tasks = append(tasks, &slurmTask{job: job.JobID, index: i, run: run, id: run.ID(), state: "PENDING"})
		}
		fmt.Fprintf(r.stderr, "tram reproduce: submitted %s as Slurm job %s (array 0-%d; script %s, logs %s)\n",
			plural(len(chunk), "run"), job.JobID, len(chunk)-1, job.Script, filepath.Join(p.dir, "task-"+job.JobID+"_*.log"))
	}
	return tasks, nil
}

// slurmPending returns the runs neither finished nor in flight.
func (r *reproducer) slurmPending(runs []grid.Run, inflight map[string]*slurmTask) ([]grid.Run, error) {
	var pending []grid.Run
	for _, run := range runs {
		done, err := r.finished(run)
		if err != nil {
			return nil, err
		}
		if !done && inflight[run.ID()] == nil {
			pending = append(pending, run)
		}
	}
	return pending, nil
}

// chunks splits runs into arrays of at most n tasks.
func chunks(runs []grid.Run, n int) [][]grid.Run {
	var out [][]grid.Run
	for len(runs) > n {
		out = append(out, runs[:n])
		runs = runs[n:]
	}
	return append(out, runs)
}

// slurmRunLine is a run's line in a runs file: its ID, then the flags that
// select it.
func (r *reproducer) slurmRunLine(run grid.Run) string {
	return strings.Join(append([]string{run.ID()}, r.runArgs(run)...), " ")
}

// slurmSubmitArray writes one array's runs file and script, submits it and
// records the submission.
func (r *reproducer) slurmSubmitArray(ctx context.Context, p *slurmPlan, runs []grid.Run) (*slurmJob, error) {
	var lines strings.Builder
	var ids []string
	for _, run := range runs {
		line := r.slurmRunLine(run)
		if strings.ContainsAny(line, "\t\n\r'\"\\$`") || len(strings.Fields(line)) != strings.Count(line, " ")+1 {
			return nil, fmt.Errorf("run %s: its row or domain name cannot go into a job script", run.ID())
		}
		lines.WriteString(line + "\n")
		ids = append(ids, run.ID())
	}
	stamp := time.Now().UTC().Format("20060102-150405")
	var runsFile string
	for i := 1; ; i++ {
		name := "runs-" + stamp
		if i > 1 {
			name += "-" + strconv.Itoa(i)
		}
		runsFile = filepath.Join(p.dir, name+".txt")
		f, err := os.OpenFile(runsFile, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		_, err = f.WriteString(lines.String())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		break
	}
	// runs-STAMP[-N].txt goes with array-STAMP[-N].sh.
	stem := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(runsFile), "runs-"), ".txt")
	script := filepath.Join(p.dir, "array-"+stem+".sh")
	if err := os.WriteFile(script, []byte(r.slurmScript(p, runs, runsFile)), 0o755); err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "sbatch", "--parsable", script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("sbatch %s: %v: %s (check --partition, --time, --mem and --sbatch-arg against sinfo and the cluster's limits)",
			script, err, strings.TrimSpace(stderr.String()))
	}
	id, _, _ := strings.Cut(strings.TrimSpace(stdout.String()), ";") // JOBID[;CLUSTER]
	if _, err := strconv.Atoi(id); err != nil {
		return nil, fmt.Errorf("sbatch %s printed %q, not a job id", script, stdout.String())
	}
	job := &slurmJob{JobID: id, Name: r.slurmJobName(), Script: script, RunsFile: runsFile, Runs: ids, Submitted: time.Now().UTC()}
	if err := checkpoint.WriteJSON(filepath.Join(p.dir, "job-"+id+".json"), job); err != nil {
		return nil, fmt.Errorf("submitted Slurm job %s, but recording it failed: %v; do not rerun the command before it ends (scancel %s to stop it)", id, err, id)
	}
	return job, nil
}

func (r *reproducer) slurmJobName() string { return "tram-" + r.g.Family }

// slurmScript returns the job-array script for runs, whose list is
// runsFile (line N+1 for array index N).
func (r *reproducer) slurmScript(p *slurmPlan, runs []grid.Run, runsFile string) string {
	var b strings.Builder
	array := fmt.Sprintf("0-%d", len(runs)-1)
	if p.throttle > 0 {
		array += "%" + strconv.Itoa(p.throttle)
	}
	fmt.Fprintf(&b, "#!/bin/bash\n")
	fmt.Fprintf(&b, "# tram reproduce %s --executor slurm: %d runs of the grid in %s, one job-array\n", strings.Join(r.target(), " "), len(runs), r.out)
	fmt.Fprintf(&b, "# task each; array index N runs line N+1 of %s\n", runsFile)
	fmt.Fprintf(&b, "# (the run's ID, then the flags that select it). Written by tram %s on %s.\n", buildinfo.Version, time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "# Submit through tram reproduce --executor slurm, which follows the array and\n# writes the summary and report when every run is done.\n")
	sbatch := []string{"--job-name=" + r.slurmJobName(), "--array=" + array, "--ntasks=1", "--cpus-per-task=" + strconv.Itoa(p.cpus),
		"--requeue", "--open-mode=append", "--output=" + filepath.Join(p.dir, "task-%A_%a.log"), "--chdir=" + r.out}
	if r.slurm.Partition != "" {
		sbatch = append(sbatch, "--partition="+r.slurm.Partition)
	}
	if r.slurm.Time != "" {
		sbatch = append(sbatch, "--time="+r.slurm.Time)
	}
	if r.slurm.Mem != "" {
		sbatch = append(sbatch, "--mem="+r.slurm.Mem)
	}
	for _, s := range append(sbatch, r.slurm.SbatchArgs...) {
		fmt.Fprintf(&b, "#SBATCH %s\n", s)
	}
	// The run's own flags ("$@", from the runs file), then the grid's.
	quoted := shellJoin(append([]string{"reproduce"}, r.target()...)) + ` "$@" ` + shellJoin(r.workerArgs())
	fmt.Fprintf(&b, `set -euf -o pipefail
tram=%s
runs=%s
line=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" "$runs")
if [ -z "$line" ]; then
  echo "tram-slurm: $runs has no line for array index $SLURM_ARRAY_TASK_ID: is %s on storage this node shares?" >&2
  exit 2
fi
set -- $line
id=$1
shift
echo "tram-slurm: run $id, job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}, attempt $((${SLURM_RESTART_COUNT:-0} + 1)), on $(hostname) at $(date '+%%F %%T')"
if [ ! -x "$tram" ]; then
  echo "tram-slurm: no tram binary at $tram on $(hostname): put it on storage the nodes share (--tram-binary)" >&2
  exit 2
fi
export TRAM_PROGRESS_FILE=%s/"$id".progress
rc=0
"$tram" %s || rc=$?
rm -f "$TRAM_PROGRESS_FILE"
echo "tram-slurm: run $id exited $rc at $(date '+%%F %%T')"
exit $rc
`, shellJoin([]string{p.binary}), shellJoin([]string{runsFile}), r.out, shellJoin([]string{filepath.Join(r.out, "state")}), quoted)
	return b.String()
}

// lockSubmit takes DIR/slurm/submit.lock, so that two commands never
// submit the same runs at once.
func lockSubmit(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, "submit.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if errors.Is(err, os.ErrExist) {
		held, _ := os.ReadFile(path)
		return nil, fmt.Errorf("another tram reproduce is submitting into %s (%s): wait for it; if none is, remove %s and rerun",
			filepath.Dir(dir), strings.TrimSpace(string(held)), path)
	} else if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	fmt.Fprintf(f, "pid %d on %s since %s\n", os.Getpid(), host, time.Now().Format(time.DateTime))
	f.Close()
	return func() { os.Remove(path) }, nil
}

// slurmJobs reads the submissions recorded in DIR/slurm that may still
// have tasks in the queue.
func (r *reproducer) slurmJobs() []*slurmJob {
	files, _ := filepath.Glob(filepath.Join(r.out, "slurm", "job-*.json"))
	var jobs []*slurmJob
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var j slurmJob
		if json.Unmarshal(raw, &j) == nil && !j.Ended && j.JobID != "" {
			jobs = append(jobs, &j)
		}
	}
	return jobs
}

func joinJobIDs(jobs []*slurmJob) string {
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.JobID)
	}
	return strings.Join(ids, ", ")
}

// slurmInFlight asks squeue which runs of earlier submissions are still
// queued or running and returns them (by run ID) for the runs given;
// submissions with nothing left in the queue are marked ended.
func (r *reproducer) slurmInFlight(ctx context.Context, jobs []*slurmJob, runs []grid.Run) (map[string]*slurmTask, error) {
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.JobID
	}
	q, err := squeue(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := map[string]grid.Run{}
	for _, run := range runs {
		byID[run.ID()] = run
	}
	inflight := map[string]*slurmTask{}
	for _, j := range jobs {
		left := false
		for k, e := range q {
			if k.job != j.JobID || e.name != j.Name || k.index < 0 || k.index >= len(j.Runs) {
				continue
			}
			left = true
			if run, ok := byID[j.Runs[k.index]]; ok {
				inflight[run.ID()] = &slurmTask{job: j.JobID, index: k.index, run: run, id: run.ID(), state: e.state, reason: e.reason}
			}
		}
		if !left {
			j.Ended = true
			checkpoint.WriteJSON(filepath.Join(r.out, "slurm", "job-"+j.JobID+".json"), j)
		}
	}
	return inflight, nil
}

// queueKey names an array task; queueEntry is what squeue says of it.
type (
	queueKey struct {
		job   string
		index int
	}
	queueEntry struct{ state, reason, name string }
)

// squeue returns the tasks of the given array jobs that are in the queue
// (pending, running, completing, requeued…).
func squeue(ctx context.Context, jobs []string) (map[queueKey]queueEntry, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "squeue", "--noheader", "--array", "--jobs="+strings.Join(jobs, ","), "--format=%F|%K|%T|%r|%j")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	q := map[queueKey]queueEntry{}
	if err := cmd.Run(); err != nil {
		// One job id that the controller has forgotten is an error; it
		// only means that nothing of it is left.
		if strings.Contains(stderr.String(), "Invalid job id") {
			return q, nil
		}
		return nil, fmt.Errorf("squeue: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "|", 5)
		if len(f) < 5 {
			continue
		}
		i, err := strconv.Atoi(f[1])
		if err != nil {
			continue // not an array task
		}
		q[queueKey{f[0], i}] = queueEntry{state: f[2], reason: f[3], name: f[4]}
	}
	return q, nil
}

// pendingStates are the queue states of a task waiting to (re)start.
var pendingStates = []string{"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SPECIAL_EXIT"}

// slurmFollow follows tasks until every one has ended, showing progress,
// and returns how many runs failed.
func (r *reproducer) slurmFollow(ctx context.Context, tasks []*slurmTask) (failed int, err error) {
	var jobs []string
	for _, t := range tasks {
		if !slices.Contains(jobs, t.job) {
			jobs = append(jobs, t.job)
		}
	}
	label := "Slurm job " + strings.Join(jobs, ", ")
	term := false
	if f, ok := r.stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			term = true
		}
	}
	clearLine := func() {
		if term {
			fmt.Fprint(r.stderr, "\r\033[K")
		}
	}
	slurmPoll, slurmQueryEvery, slurmGrace, slurmGiveUp := r.slurm.timings()
	var lastQuery, failingSince, ended time.Time
	done := 0
	lastCounts := ""
	for {
		if time.Since(lastQuery) >= slurmQueryEvery {
			q, err := squeue(ctx, jobs)
			switch {
			case ctx.Err() != nil:
			case err != nil:
				if failingSince.IsZero() {
					failingSince = time.Now()
					clearLine()
					fmt.Fprintf(r.stderr, "tram reproduce: %v; asking again\n", err)
				} else if time.Since(failingSince) > slurmGiveUp {
					clearLine()
					return failed, fmt.Errorf("%v, for %v now: %s keeps running without tram watching; rerun the same command to follow it again",
						err, slurmGiveUp, label)
				}
			default:
				failingSince, lastQuery = time.Time{}, time.Now()
				for _, t := range tasks {
					e, ok := q[queueKey{t.job, t.index}]
					t.state, t.reason = e.state, e.reason
					if ok {
						t.absent = 0
					} else {
						t.absent++
					}
				}
			}
		}
		for _, t := range tasks {
			if t.end != "" {
				continue
			}
			if rec, ok := r.slurmRecord(t.id); ok {
				t.end = "done"
				done++
				clearLine()
				fmt.Fprintf(r.stderr, "[%d/%d] %s done (task %s): %s\n", done, len(tasks), t.id, t.name(), headline(r.g, rec))
				continue
			}
			// Two answers in a row without the task, not one: the queue
			// is the controller's view, which can lag behind.
			if t.absent < 2 {
				if !slices.Contains(pendingStates, t.state) {
					t.progress = r.slurmProgress(t.id)
				}
				continue
			}
			// Out of the queue without a record: failed, unless the run
			// exited 0 and its record is still on its way.
			if t.gone.IsZero() {
				t.gone = time.Now()
			}
			if lastExit(r.slurmLog(t)) == "0" && time.Since(t.gone) < slurmGrace {
				continue
			}
			t.end = "failed"
			failed++
			clearLine()
			fmt.Fprintf(r.stderr, "tram reproduce: run %s failed (Slurm job %s%s): %s\n", t.id, t.name(), slurmJobState(ctx, t.name()), r.slurmLogTail(t))
		}
		counts, line := r.slurmCounts(tasks, done, failed)
		if term {
			fmt.Fprint(r.stderr, "\r\033[K"+truncate(label+": "+line, 160))
		} else if counts != lastCounts {
			fmt.Fprintf(r.stderr, "%s: %s\n", label, counts)
		}
		lastCounts = counts
		if done+failed == len(tasks) {
			// Every run is over; the array ends when its tasks have left
			// the queue (a task goes on briefly after its run's record is
			// written), which the report waits for, within reason.
			if ended.IsZero() {
				ended = time.Now()
			}
			if !slices.ContainsFunc(tasks, func(t *slurmTask) bool { return t.absent == 0 }) || time.Since(ended) > slurmGrace {
				break
			}
		}
		select {
		case <-ctx.Done():
			clearLine()
			return failed, fmt.Errorf("stopped following %s, which keeps running (squeue --jobs=%s to see it, scancel %s to stop it); rerun the same command to follow it again and write the report when it ends",
				label, strings.Join(jobs, ","), strings.Join(jobs, " "))
		case <-time.After(slurmPoll):
		}
	}
	clearLine()
	if term {
		fmt.Fprintf(r.stderr, "%s: %s\n", label, lastCounts)
	}
	for _, j := range r.slurmJobs() {
		if slices.Contains(jobs, j.JobID) {
			j.Ended = true
			checkpoint.WriteJSON(filepath.Join(r.out, "slurm", "job-"+j.JobID+".json"), j)
		}
	}
	return failed, nil
}

// slurmCounts returns the counts of pending, running, done and failed
// tasks, and the same with the running runs' progress and the reasons
// tasks pend.
func (r *reproducer) slurmCounts(tasks []*slurmTask, done, failed int) (counts, line string) {
	var pending, running int
	var reasons, progress []string
	for _, t := range tasks {
		switch {
		case t.end != "":
		case slices.Contains(pendingStates, t.state):
			pending++
			if t.reason != "" && t.reason != "None" && !slices.Contains(reasons, t.reason) {
				reasons = append(reasons, t.reason)
			}
		default: // running, completing, or just out of the queue
			running++
			p := t.id
			if t.progress != "" {
				p += " " + t.progress
			}
			progress = append(progress, p)
		}
	}
	counts = fmt.Sprintf("%d pending, %d running, %d done, %d failed (of %d)", pending, running, done, failed, len(tasks))
	line = counts
	if len(reasons) > 0 {
		line += "; pending: " + strings.Join(reasons, ", ")
	}
	if len(progress) > 0 {
		line += " | " + strings.Join(progress, " | ")
	}
	return counts, line
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}

// absOrEmpty is abs, keeping "" (no such file).
func absOrEmpty(p string) string {
	if p == "" {
		return ""
	}
	return abs(p)
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return filepath.Clean(a)
}

// slurmRecord reads a run's record, if it is there.
func (r *reproducer) slurmRecord(id string) (*grid.Record, bool) {
	raw, err := os.ReadFile(filepath.Join(r.out, "runs", id+".json"))
	if err != nil {
		return nil, false
	}
	var rec grid.Record
	if json.Unmarshal(raw, &rec) != nil {
		return nil, false
	}
	return &rec, true
}

// slurmProgress reads the progress a running task's run reports.
func (r *reproducer) slurmProgress(id string) string {
	raw, err := os.ReadFile(filepath.Join(r.out, "state", id+".progress"))
	if err != nil {
		return ""
	}
	var p struct {
		Done, Total int
		Note        string
	}
	if json.Unmarshal(raw, &p) != nil || p.Total == 0 {
		return ""
	}
	if strings.HasPrefix(p.Note, "evaluating") {
		return p.Note
	}
	return fmt.Sprintf("%d/%d", p.Done, p.Total)
}

func (r *reproducer) slurmLog(t *slurmTask) string {
	return filepath.Join(r.out, "slurm", "task-"+t.name()+".log")
}

// slurmLogTail says where a failed task's log is and how it ends.
func (r *reproducer) slurmLogTail(t *slurmTask) string {
	path := r.slurmLog(t)
	if _, err := os.Stat(path); err != nil {
		return fmt.Sprintf("it left no log (%s): cancelled before it started, or the log is not on storage this machine shares", path)
	}
	return fmt.Sprintf("its log %s ends:\n%s", path, tail(path, 10))
}

// lastExit returns the exit status the job script logged last for its
// run ("" if none).
func lastExit(log string) string {
	raw, err := os.ReadFile(log)
	if err != nil {
		return ""
	}
	status := ""
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "tram-slurm: run "); ok {
			if _, after, ok := strings.Cut(rest, " exited "); ok {
				status, _, _ = strings.Cut(after, " ")
			}
		}
	}
	return status
}

// slurmJobState returns ", STATE, exit code C" for a task Slurm still
// remembers (scontrol shows ended jobs for MinJobAge, 5 minutes by
// default), else "".
func slurmJobState(ctx context.Context, task string) string {
	out, err := exec.CommandContext(ctx, "scontrol", "--oneliner", "show", "job", task).Output()
	if err != nil {
		return ""
	}
	var state, code string
	for _, f := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(f, "JobState="); ok {
			state = v
		}
		if v, ok := strings.CutPrefix(f, "ExitCode="); ok {
			code = v
		}
	}
	if state == "" {
		return ""
	}
	return ", " + state + ", exit code " + code
}
