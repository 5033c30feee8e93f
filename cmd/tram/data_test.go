package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tramlab/tram/data"
)

func runCapture(args ...string) (code int, stdout, stderr string) {
	var out, errb strings.Builder
	code = runMain(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDataHelp(t *testing.T) {
	code, _, stderr := runCapture("data", "--help")
	if code != 0 || !strings.Contains(stderr, "tram data fetch") || !strings.Contains(stderr, "tram data build") {
		t.Errorf("data --help: code %d\n%s", code, stderr)
	}
	for sub, flags := range map[string][]string{
		"fetch": {"-only", "-cache"},
		"build": {"-cache", "-out", "-sysroot", "-allow-drift"},
	} {
		code, _, stderr := runCapture("data", sub, "--help")
		if code != 0 {
			t.Errorf("data %s --help: code %d", sub, code)
		}
		for _, f := range flags {
			if !strings.Contains(stderr, f) {
				t.Errorf("data %s --help does not explain %s:\n%s", sub, f, stderr)
			}
		}
		for _, task := range []string{"vision", "lm", "xling"} {
			if !strings.Contains(stderr, task) {
				t.Errorf("data %s --help does not name task %s", sub, task)
			}
		}
	}
}

func TestDataUsageErrors(t *testing.T) {
	tmp := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"data"}, "Usage: tram data"},
		{[]string{"data", "frob"}, "unknown subcommand"},
		{[]string{"data", "build"}, "name a task"},
		{[]string{"data", "build", "audio"}, "unknown task"},
		{[]string{"data", "fetch", "--only", "audio"}, "unknown task"},
		{[]string{"data", "build", "lm", "--cache", filepath.Join(tmp, "no-cache"), "--out", tmp}, "tram data fetch"},
	} {
		code, _, stderr := runCapture(tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: code %d, stderr %q, want %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestDataFetchFake runs "tram data fetch" against fake apt-get and
// dpkg-deb scripts put first on PATH.
func TestDataFetchFake(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "apt-get"), []byte("#!/bin/sh\nshift\nfor p in \"$@\"; do echo x > \"${p}_1_all.deb\"; done\n"), 0o755)
	os.WriteFile(filepath.Join(bin, "dpkg-deb"), []byte("#!/bin/sh\ncase \"$1\" in -f) printf 'Version: 1\\nArchitecture: all\\n';; -x) mkdir -p \"$3\";; esac\n"), 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cache := t.TempDir()
	pkgs, _ := data.Packages("xling")
	n := len(pkgs)
	code, stdout, stderr := runCapture("data", "fetch", "--only", "xling", "--cache", cache)
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("fetched %d, cached 0", n)) || !strings.Contains(stderr, fmt.Sprintf("[%d/%d]", n, n)) {
		t.Fatalf("code %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	code, stdout, _ = runCapture("data", "fetch", "--only", "xling", "--cache", cache)
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("fetched 0, cached %d", n)) {
		t.Errorf("second fetch: code %d, %s", code, stdout)
	}
}
