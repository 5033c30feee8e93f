package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tramlab/tram/finetune"
	"github.com/tramlab/tram/internal/slurmtest"
)

func init() {
	// A job-array task of TestSlurmGrid that stops after that many steps,
	// saving its snapshot, as a preempted one does (see the wrapper there).
	if v, err := strconv.Atoi(os.Getenv("TRAM_TEST_INTERRUPT_AT")); err == nil {
		interruptAt = v
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSlurmGrid runs a --quick vision grid through --executor slurm on a
// throwaway single-node Slurm cluster and checks that every run's metrics
// are identical to a local run's, while one task fails (it is reported
// with its job id and log, the others go on, and rerunning the command
// submits only that run), another is stopped mid-training as a preempted
// task is and requeued with scontrol requeue while it runs (it resumes
// from its snapshot and changes nothing), and a second command started
// while the array is queued follows it without submitting anything.
func TestSlurmGrid(t *testing.T) {
	base := t.TempDir() // first, so that it is removed after the cluster is down
	cluster := slurmtest.Start(t)
	data, pre := familyFixture(t)
	start := time.Now()
	defer func(poll, query, grace time.Duration) { slurmPoll, slurmQueryEvery, slurmGrace = poll, query, grace }(slurmPoll, slurmQueryEvery, slurmGrace)
	slurmPoll, slurmQueryEvery, slurmGrace = 100*time.Millisecond, 300*time.Millisecond, 5*time.Second

	args := []string{"reproduce", "vision", "--quick", "--methods", "sgd,tram-theta0", "--data", data, "--model", pre["vision"], "--threads", "1"}
	local := filepath.Join(base, "local")
	var stderr bytes.Buffer
	if rc := runMain(append(append([]string{}, args...), "--out", local, "--jobs", "1"), &bytes.Buffer{}, &stderr); rc != 0 {
		t.Fatalf("local run: %s", stderr.String())
	}
	t.Logf("local grid: %v", time.Since(start).Round(time.Millisecond))

	// The tasks run this test binary as tram, through a wrapper that fails
	// the first attempt of sgd.s2 and stops the first attempt of
	// tram-theta0.s1 after 3 steps (its snapshot saved, as on SIGTERM),
	// then holds the task until Slurm requeues it.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	marks := filepath.Join(base, "marks")
	os.Mkdir(marks, 0o755)
	wrapper := filepath.Join(base, "tram.sh")
	os.WriteFile(wrapper, []byte(fmt.Sprintf(`#!/bin/sh
export TRAM_TEST_AS_MAIN=1
bin=%q marks=%q
case " $* " in
*" --methods sgd --seed 2 "*)
  if mkdir "$marks/failed" 2>/dev/null; then echo "simulated failure of the first attempt" >&2; exit 3; fi ;;
*" --methods tram-theta0 --seed 1 "*)
  if mkdir "$marks/held" 2>/dev/null; then
    TRAM_TEST_INTERRUPT_AT=3 "$bin" "$@"
    echo "stopped after step 3; holding the task until it is requeued"
    trap 'exit 143' TERM
    touch "$marks/holding"
    while :; do sleep 0.1; done
  fi ;;
esac
exec "$bin" "$@"
`, exe, marks)), 0o755)

	out := filepath.Join(base, "slurm")
	slurmArgs := append(append([]string{}, args...), "--out", out, "--executor", "slurm", "--tram-binary", wrapper, "--keep-models")
	// The array is submitted held, so that a second command, started
	// while all of it is queued, finds every run in flight: it follows
	// them and submits nothing (what rerunning after Ctrl-C does).
	var follow, follow2 lockedBuffer
	rc, rc2 := make(chan int, 1), make(chan int, 1)
	go func() { rc <- runMain(append(slices.Clip(slurmArgs), "--sbatch-arg=--hold"), &bytes.Buffer{}, &follow) }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for end := time.Now().Add(90 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%s: not within 90 s; tram said:\n%s\nand the second command:\n%s", what, follow.String(), follow2.String())
			}
		}
	}
	waitFor("submitted", func() bool { return strings.Contains(follow.String(), "submitted 4 runs as Slurm job") })
	go func() { rc2 <- runMain(slurmArgs, &bytes.Buffer{}, &follow2) }()
	waitFor("the second command follows", func() bool { return strings.Contains(follow2.String(), "4 runs still queued or running") })
	job, _, _ := strings.Cut(slurmTaskOf(t, out, "sgd.s1"), "_")
	cluster.Run(t, "scontrol", "release", job)

	// Requeue tram-theta0.s1 while it runs.
	waitFor("tram-theta0.s1 stopped and held", func() bool { _, err := os.Stat(filepath.Join(marks, "holding")); return err == nil })
	task := slurmTaskOf(t, out, "tram-theta0.s1")
	if st := strings.TrimSpace(cluster.Run(t, "squeue", "-h", "-j", task, "-o", "%T")); st != "RUNNING" {
		t.Fatalf("task %s is %q, not RUNNING", task, st)
	}
	cluster.Run(t, "scontrol", "requeue", task)
	t.Logf("requeued task %s at %v", task, time.Since(start).Round(time.Millisecond))

	for i, c := range []chan int{rc, rc2} {
		said := []*lockedBuffer{&follow, &follow2}[i]
		select {
		case code := <-c:
			if code == 0 {
				t.Fatalf("command %d: the grid with a failed run should fail; tram said:\n%s", i+1, said.String())
			}
		case <-time.After(3 * time.Minute):
			t.Fatalf("command %d: the grid did not end within 3 minutes; tram said:\n%s", i+1, said.String())
		}
	}
	t.Logf("first command (%v):\n%s", time.Since(start).Round(time.Millisecond), follow.String())
	t.Logf("second command:\n%s", follow2.String())
	failed := slurmTaskOf(t, out, "sgd.s2")
	for i, said := range []string{follow.String(), follow2.String()} {
		for _, want := range []string{"run sgd.s2 failed (Slurm job " + failed, "task-" + failed + ".log ends", "simulated failure of the first attempt",
			"1 of 4 runs failed", "rerun the same command"} {
			if !strings.Contains(said, want) {
				t.Errorf("command %d should have said %q", i+1, want)
			}
		}
	}
	if strings.Contains(follow2.String(), "submitted") {
		t.Error("the second command submitted runs that were queued")
	}
	if _, err := os.Stat(filepath.Join(out, "summary.json")); err == nil {
		t.Error("summary.json was written though a run failed")
	}

	// Rerunning submits only the failed run, then writes the summary.
	var again bytes.Buffer
	if code := runMain(slurmArgs, &bytes.Buffer{}, &again); code != 0 {
		t.Fatalf("rerun: %s", again.String())
	}
	t.Logf("rerun (%v):\n%s", time.Since(start).Round(time.Millisecond), again.String())
	if s := again.String(); !strings.Contains(s, "3 of 4 runs already done") || !strings.Contains(s, "submitted 1 run as Slurm job") {
		t.Errorf("the rerun should submit the one missing run only")
	}
	if _, err := os.Stat(filepath.Join(out, "summary.json")); err != nil {
		t.Error(err)
	}

	for _, id := range []string{"sgd.s1", "tram-theta0.s1", "sgd.s2", "tram-theta0.s2"} {
		a, b := readRecord(t, local, id), readRecord(t, out, id)
		if !reflect.DeepEqual(a.Metrics, b.Metrics) || !reflect.DeepEqual(a.Checkpoints, b.Checkpoints) {
			ja, _ := json.Marshal(a.Metrics)
			jb, _ := json.Marshal(b.Metrics)
			t.Errorf("%s: metrics through Slurm differ from the local run's:\nlocal %s\nslurm %s", id, ja, jb)
		}
	}
	if info, err := finetune.ReadRunInfo(filepath.Join(out, "models", "tram-theta0.s1")); err != nil || info.ResumedAt != 3 {
		t.Errorf("the requeued run resumed at step %d (%v), want 3 (its snapshot)", info.ResumedAt, err)
	}
	logRaw, _ := os.ReadFile(filepath.Join(out, "slurm", "task-"+task+".log"))
	if log := string(logRaw); !strings.Contains(log, "attempt 1,") || !strings.Contains(log, "attempt 2,") || !strings.Contains(log, "exited 0") {
		t.Errorf("the requeued task's log should show both attempts, the second ending well:\n%s", log)
	}
	if left, _ := filepath.Glob(filepath.Join(out, "state", "*")); len(left) > 0 {
		t.Errorf("working files left in state/: %v", left)
	}
}

// slurmTaskOf returns the Slurm array task (JOBID_INDEX) a run was last
// submitted as, from DIR/slurm/job-*.json.
func slurmTaskOf(t *testing.T, out, id string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(out, "slurm", "job-*.json"))
	task := ""
	last := 0
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		var j struct { // DIR/slurm/job-JOBID.json
			JobID string   `json:"job_id"`
			Runs  []string `json:"runs"`
		}
		json.Unmarshal(raw, &j)
		n, _ := strconv.Atoi(j.JobID)
		for i, r := range j.Runs {
			if r == id && n > last {
				task, last = j.JobID+"_"+strconv.Itoa(i), n
			}
		}
	}
	if task == "" {
		t.Fatalf("no submission of %s recorded in %s/slurm", id, out)
	}
	return task
}

// TestSlurmDryRun checks the job-array script --dry-run prints (without
// Slurm), and the slurm flags' errors.
func TestSlurmDryRun(t *testing.T) {
	data, pre := familyFixture(t)
	out := filepath.Join(t.TempDir(), "g")
	base := []string{"reproduce", "vision", "--quick", "--methods", "sgd,tram-theta0", "--data", data, "--model", pre["vision"], "--out", out}
	var stdout, stderr bytes.Buffer
	if rc := runMain(append(append([]string{}, base...), "--executor", "slurm", "--dry-run", "--partition", "short", "--time", "0:30:00",
		"--mem", "2G", "--cpus-per-task", "2", "--sbatch-arg=--account=lab", "--sbatch-arg", "--qos=debug", "--jobs", "3", "--set", "lr=0.05"), &stdout, &stderr); rc != 0 {
		t.Fatalf("dry run: %s", stderr.String())
	}
	script := stdout.String()
	for _, want := range []string{"#!/bin/bash\n", "#SBATCH --array=0-3%3\n", "#SBATCH --requeue\n", "#SBATCH --open-mode=append\n",
		"#SBATCH --cpus-per-task=2\n", "#SBATCH --partition=short\n", "#SBATCH --time=0:30:00\n", "#SBATCH --mem=2G\n",
		"#SBATCH --account=lab\n", "#SBATCH --qos=debug\n", "#SBATCH --output=" + filepath.Join(out, "slurm", "task-%A_%a.log") + "\n",
		` reproduce vision "$@" --data ` + data + " --model " + pre["vision"] + " --out " + out + " --threads 2 --jobs 1 --save-every 25 --no-report --quick --set lr=0.05 || rc=$?\n",
		`sed -n "$((SLURM_ARRAY_TASK_ID + 1))p"`} {
		if !strings.Contains(script, want) {
			t.Errorf("the script lacks %q:\n%s", want, script)
		}
	}
	if !regexp.MustCompile(`(?m)^runs=.*/slurm/runs-\d{8}-\d{6}\.txt$`).MatchString(script) {
		t.Errorf("the script reads no runs file:\n%s", script)
	}
	for i, id := range []string{"sgd.s1 --methods sgd --seed 1", "tram-theta0.s1 --methods tram-theta0 --seed 1", "sgd.s2 --methods sgd --seed 2",
		"tram-theta0.s2 --methods tram-theta0 --seed 2"} {
		if !strings.Contains(stderr.String(), fmt.Sprintf("%4d  %s\n", i, id)) {
			t.Errorf("the run list lacks index %d: %s:\n%s", i, id, stderr.String())
		}
	}
	if _, err := os.Stat(filepath.Join(out, "slurm")); err == nil {
		t.Error("a dry run wrote DIR/slurm")
	}
	if _, err := os.Stat(filepath.Join(out, "summary.json")); err == nil {
		t.Error("a dry run wrote the summary")
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--partition", "short"}, "--partition: only with --executor slurm"},
		{[]string{"--dry-run", "--mem", "1G"}, "--dry-run, --mem: only with --executor slurm"},
		{[]string{"--executor", "slurm", "--dry-run", "--sbatch-arg=--array=0-9"}, "tram sets sbatch --array itself"},
		{[]string{"--executor", "slurm", "--dry-run", "--sbatch-arg=-pgpu"}, "use --partition"},
		{[]string{"--executor", "slurm", "--dry-run", "--sbatch-arg", "account=lab"}, "not an sbatch option"},
		{[]string{"--executor", "slurm", "--dry-run", "--threads", "2", "--cpus-per-task", "1"}, "--cpus-per-task 1 is fewer than --threads 2"},
		{[]string{"--executor", "slurm", "--dry-run", "--tram-binary", filepath.Join(out, "nowhere")}, "not an executable file"},
	} {
		stderr.Reset()
		if rc := runMain(append(append([]string{}, base...), c.args...), &bytes.Buffer{}, &stderr); rc == 0 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: rc %d, stderr %q, want %q", c.args, rc, stderr.String(), c.want)
		}
	}
}
