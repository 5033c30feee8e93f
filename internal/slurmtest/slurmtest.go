// Package slurmtest starts a throwaway single-node Slurm cluster for tests:
// Debian's munged, slurmctld and slurmd (packages slurmctld, slurmd,
// slurm-client and munge), run as root, with every file they write in one
// temporary directory and both daemons listening on 127.0.0.1 only, on
// ports that were free when the test started.
//
// Start skips the test, saying why, where that is not possible (not Linux,
// not root, Slurm or munge not installed). It points every Slurm client the
// test runs (sbatch, squeue, scontrol, …) at the cluster through
// SLURM_CONF, and tears everything down when the test ends: queued jobs are
// cancelled, the daemons shut down, any job process left behind is killed
// by its PID, and the directory is removed (kept, for a look at the
// daemons' logs, when SLURMTEST_KEEP=1).
//
// The configuration follows what was measured to work on Debian 12 with
// Slurm 22.05: SelectTypeParameters=CR_Core (with CR_Core_Memory a job that
// asks for no memory gets the whole node, and array tasks run one at a
// time), a short credential lifetime and scheduling interval (with Slurm's
// defaults a requeued job waits 2–3 minutes before it runs again), no
// accounting (so no sacct) and job completions written to a text file.
package slurmtest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Cluster is a running throwaway cluster.
type Cluster struct {
	// Dir holds everything the cluster writes: its configuration, state,
	// spool, logs and the munge key and socket.
	Dir string
	// Conf is the slurm.conf; SLURM_CONF points at it for the test.
	Conf string
	// Node is the name of the cluster's one node (the short host name).
	Node string
	// CPUs is the number of CPUs the node offers.
	CPUs int
	// JobComp is the file in which Slurm writes one line per finished job
	// or array task (JobState=, ExitCode=, ArrayJobId=, ArrayTaskId=).
	JobComp string

	munged, ctld, slurmd *daemon
}

// daemon is a process the fixture started.
type daemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

func (d *daemon) alive() bool {
	if d == nil {
		return false
	}
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// stop stops the process: it sends sigs one after the other, waiting up to
// grace after each for the process to exit (signal 0 only waits), then
// kills it.
func (d *daemon) stop(grace time.Duration, sigs ...syscall.Signal) {
	if d == nil {
		return
	}
	for _, sig := range append(sigs, syscall.SIGKILL) {
		if sig != 0 {
			d.cmd.Process.Signal(sig)
		}
		select {
		case <-d.done:
			return
		case <-time.After(grace):
		}
	}
	<-d.done
}

// Commands are the programs the fixture needs.
var Commands = []string{"munged", "slurmctld", "slurmd", "sinfo", "squeue", "sbatch", "scontrol", "scancel"}

// Start starts a cluster for the test t, or skips t saying why it cannot.
func Start(t testing.TB) *Cluster {
	t.Helper()
	if reason := unavailable(); reason != "" {
		t.Skip("no throwaway Slurm cluster: " + reason)
	}
	dir, err := os.MkdirTemp("", "slurmtest-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, Conf: filepath.Join(dir, "etc", "slurm.conf"), JobComp: filepath.Join(dir, "log", "jobcomp.txt")}
	t.Cleanup(func() { c.stop(t) })
	if err := c.start(); err != nil {
		t.Fatalf("starting a throwaway Slurm cluster in %s: %v", dir, err)
	}
	t.Setenv("SLURM_CONF", c.Conf)
	return c
}

// unavailable says why no cluster can be started here, or "".
func unavailable() string {
	if runtime.GOOS != "linux" {
		return "the fixture runs on Linux only"
	}
	if os.Geteuid() != 0 {
		return "the daemons run as SlurmUser=root, and this test does not run as root"
	}
	for _, c := range Commands {
		if _, err := lookPath(c); err != nil {
			return fmt.Sprintf("%s is not installed (apt-get install --no-install-recommends slurmctld slurmd slurm-client munge)", c)
		}
	}
	return ""
}

// lookPath finds a command on PATH or in the sbin directories, which a
// root PATH does not always hold.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

func (c *Cluster) start() error {
	// munged refuses a socket below a directory that others cannot
	// traverse ("Socket is inaccessible: execute permissions for all
	// required"), and MkdirTemp makes it 0700.
	if err := os.Chmod(c.Dir, 0o755); err != nil {
		return err
	}
	for _, d := range []string{"etc", "munge", "state", "spool", "log"} {
		if err := os.Mkdir(filepath.Join(c.Dir, d), 0o755); err != nil {
			return err
		}
	}
	socket := filepath.Join(c.Dir, "munge", "munge.socket")
	if len(socket) > 100 {
		return fmt.Errorf("the munge socket path %s is too long for a Unix socket: set TMPDIR to a shorter directory", socket)
	}
	host, err := os.Hostname()
	if err != nil {
		return err
	}
	c.Node, _, _ = strings.Cut(host, ".")

	// munge, with a key of its own.
	key := make([]byte, 1024)
	rand.Read(key)
	keyFile := filepath.Join(c.Dir, "munge", "munge.key")
	if err := os.WriteFile(keyFile, key, 0o400); err != nil {
		return err
	}
	c.munged, err = c.spawn("munged", "-F", "--socket="+socket, "--key-file="+keyFile,
		"--pid-file="+filepath.Join(c.Dir, "munge", "munged.pid"), "--log-file="+filepath.Join(c.Dir, "munge", "munged.log"),
		"--seed-file="+filepath.Join(c.Dir, "munge", "munged.seed"))
	if err != nil {
		return err
	}
	if err := c.waitFor(10*time.Second, func() bool { _, err := os.Stat(socket); return err == nil }, c.munged); err != nil {
		return fmt.Errorf("munged did not create its socket: %v\n%s", err, c.logTails())
	}

	// slurm.conf: the node as slurmd sees it, on loopback, on free ports.
	out, err := c.command("slurmd", "-C").Output()
	if err != nil {
		return fmt.Errorf("slurmd -C: %v", err)
	}
	nodeLine, _, _ := strings.Cut(string(out), "\n")
	if !strings.HasPrefix(nodeLine, "NodeName=") {
		return fmt.Errorf("slurmd -C printed %q, not a NodeName= line", out)
	}
	fields := strings.Fields(nodeLine)
	fields[0] = "NodeName=" + c.Node
	for _, f := range fields {
		if v, ok := strings.CutPrefix(f, "CPUs="); ok {
			c.CPUs, _ = strconv.Atoi(v)
		}
	}
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	// Longer names first: the replacer takes the first match in argument order.
	conf := strings.NewReplacer("$NODELINE", strings.Join(fields, " "), "$NODE", c.Node, "$DIR", c.Dir, "$SOCKET", socket,
		"$CTLDPORT", strconv.Itoa(ports[0]), "$SLURMDPORT", strconv.Itoa(ports[1])).Replace(slurmConf)
	if err := os.WriteFile(c.Conf, []byte(conf), 0o644); err != nil {
		return err
	}
	if c.ctld, err = c.spawn("slurmctld", "-D"); err != nil {
		return err
	}
	if c.slurmd, err = c.spawn("slurmd", "-D"); err != nil {
		return err
	}
	idle := func() bool {
		out, err := c.command("sinfo", "-h", "-n", c.Node, "-o", "%T").Output()
		return err == nil && strings.TrimSpace(string(out)) == "idle"
	}
	if err := c.waitFor(30*time.Second, idle, c.ctld, c.slurmd); err != nil {
		return fmt.Errorf("the node did not become idle: %v\n%s", err, c.logTails())
	}
	return nil
}

// slurmConf is the cluster's configuration ($NAMES are filled in).
const slurmConf = `# A throwaway single-node cluster (package slurmtest).
ClusterName=slurmtest
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLDPORT
SlurmdPort=$SLURMDPORT
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET,cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
ReturnToService=2
KillWait=5
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_interval=2
$NODELINE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
`

// freePorts returns n distinct TCP ports free on 127.0.0.1 right now.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// command returns a Slurm command that talks to the cluster.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	path, err := lookPath(name)
	if err != nil {
		path = name
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "SLURM_CONF="+c.Conf)
	return cmd
}

// Run runs a Slurm client command (squeue, scontrol, …) against the
// cluster and returns its output, failing the test on error.
func (c *Cluster) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := c.command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// spawn starts a daemon in the foreground, its output in log/NAME.stdout.
// The daemon gets SIGTERM should the test process die first.
func (c *Cluster) spawn(name string, args ...string) (*daemon, error) {
	out, err := os.Create(filepath.Join(c.Dir, "log", name+".stdout"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := c.command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %v", name, err)
	}
	d := &daemon{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(d.done) }()
	return d, nil
}

// waitFor polls ok until it holds, a daemon exits or the time is up.
func (c *Cluster) waitFor(limit time.Duration, ok func() bool, ds ...*daemon) error {
	end := time.Now().Add(limit)
	for !ok() {
		for _, d := range ds {
			if !d.alive() {
				return fmt.Errorf("%s exited (%v)", d.name, d.cmd.ProcessState)
			}
		}
		if time.Now().After(end) {
			return fmt.Errorf("still not so after %v", limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// logTails returns the ends of the daemons' logs.
func (c *Cluster) logTails() string {
	var b strings.Builder
	for _, f := range []string{"munge/munged.log", "log/munged.stdout", "log/slurmctld.log", "log/slurmctld.stdout", "log/slurmd.log", "log/slurmd.stdout"} {
		raw, err := os.ReadFile(filepath.Join(c.Dir, f))
		if err != nil || len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "--- %s:\n%s\n", f, strings.Join(lines, "\n"))
	}
	return b.String()
}

// stop cancels every job, shuts the daemons down and removes Dir.
func (c *Cluster) stop(t testing.TB) {
	if t.Failed() {
		t.Logf("the Slurm cluster's logs end:\n%s", c.logTails())
	}
	if c.ctld.alive() {
		// Cancel what is left, so that no job step outlives slurmd
		// (scontrol shutdown leaves running steps alone).
		if out, err := c.command("squeue", "-h", "-o", "%A").Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
			c.command("scancel", strings.Fields(string(out))...).Run()
			c.waitFor(30*time.Second, func() bool {
				out, err := c.command("squeue", "-h").Output()
				return err != nil || len(bytes.TrimSpace(out)) == 0
			})
		}
		// Each live step has a socket in the spool directory.
		c.waitFor(10*time.Second, func() bool { return len(c.stepSockets()) == 0 })
		c.command("scontrol", "shutdown").Run()
	}
	c.slurmd.stop(15*time.Second, 0, syscall.SIGTERM)
	c.ctld.stop(15*time.Second, 0, syscall.SIGTERM)
	// Job steps are detached from slurmd; one still alive holds files
	// under Dir open. Wait for them, then kill them by PID.
	var left []int
	c.waitFor(10*time.Second, func() bool { left = c.users(); return len(left) == 0 })
	for _, pid := range left {
		t.Logf("slurmtest: killing process %d, still using %s", pid, c.Dir)
		syscall.Kill(pid, syscall.SIGKILL)
	}
	c.munged.stop(5*time.Second, syscall.SIGTERM)
	if os.Getenv("SLURMTEST_KEEP") == "1" {
		t.Logf("slurmtest: SLURMTEST_KEEP=1: kept %s", c.Dir)
		return
	}
	if err := os.RemoveAll(c.Dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removing the cluster's directory: %v", err)
	}
}

// stepSockets lists the job steps' sockets in the spool directory.
func (c *Cluster) stepSockets() []string {
	var socks []string
	filepath.WalkDir(filepath.Join(c.Dir, "spool"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type()&os.ModeSocket != 0 {
			socks = append(socks, p)
		}
		return nil
	})
	return socks
}

// users lists the processes other than this one and munged that hold a
// file under Dir open.
func (c *Cluster) users() []int {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil || pid == os.Getpid() || (c.munged != nil && pid == c.munged.cmd.Process.Pid) {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join(p, "fd"))
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join(p, "fd", fd.Name())); err == nil && strings.HasPrefix(target, c.Dir+"/") {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
