package slurmtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCluster starts a cluster, runs a two-task job array on it and checks
// that both tasks ran and that the teardown leaves nothing behind.
func TestCluster(t *testing.T) {
	var dir string
	t.Run("array", func(t *testing.T) {
		t0 := time.Now()
		c := Start(t)
		t.Logf("cluster up in %v", time.Since(t0).Round(time.Millisecond))
		t0 = time.Now()
		t.Cleanup(func() { t.Logf("array ran, cluster down in %v", time.Since(t0).Round(time.Millisecond)) })
		dir = c.Dir
		if os.Getenv("SLURM_CONF") != c.Conf {
			t.Fatal("SLURM_CONF does not point at the cluster")
		}
		out := filepath.Join(c.Dir, "out")
		os.Mkdir(out, 0o755)
		job := strings.TrimSpace(c.Run(t, "sbatch", "--parsable", "--array=0-1", "-o", filepath.Join(out, "%a.out"), "--wrap", "echo task $SLURM_ARRAY_TASK_ID"))
		end := time.Now().Add(60 * time.Second)
		for strings.TrimSpace(c.Run(t, "squeue", "-h", "-j", job)) != "" {
			if time.Now().After(end) {
				t.Fatalf("job %s did not end within 60 s", job)
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, i := range []string{"0", "1"} {
			if raw, err := os.ReadFile(filepath.Join(out, i+".out")); err != nil || string(raw) != "task "+i+"\n" {
				t.Errorf("task %s wrote %q (%v)", i, raw, err)
			}
		}
	})
	if dir == "" {
		return // skipped
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s is still there after the teardown", dir)
	}
}
