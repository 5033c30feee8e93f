package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/data/vision"
	"github.com/tramlab/tram/family"
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
		"demo":  {"-out"},
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
			if sub == "demo" {
				break
			}
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
		{[]string{"data", "demo", "vision"}, "unexpected argument"},
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

// TestDataDemo writes the demo data with the command and checks that the
// vision family takes its domains: Open fine-tunes on the demo's training
// domain with a validation set, Evaluate scores the committed pretrained
// model zero-shot on them, and an unknown domain is refused with the
// demo's domains listed.
func TestDataDemo(t *testing.T) {
	const pre = "../../pretrained/vision"
	out := t.TempDir()
	code, stdout, stderr := runCapture("data", "demo", "--out", out)
	if code != 0 || !strings.Contains(stdout, filepath.Join(out, "vision")) || !strings.Contains(stdout, vision.DemoTrainDomain) {
		t.Fatalf("data demo: code %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	code, _, help := runCapture("data", "demo", "--help")
	for _, d := range vision.DemoDomains {
		if code != 0 || !strings.Contains(help, d) {
			t.Errorf("data demo --help does not describe domain %s:\n%s", d, help)
		}
	}
	doms, err := family.DigitDomains(out)
	if err != nil || !reflect.DeepEqual(doms, vision.DemoDomains) {
		t.Fatalf("family.DigitDomains = %v, %v; want %v", doms, err, vision.DemoDomains)
	}
	s, err := family.Open(pre, family.Options{Data: out, Domain: vision.DemoTrainDomain, Batch: 8, Seed: 1, Head: "pretrained-rows"})
	if err != nil {
		t.Fatal(err)
	}
	// 1,500 training images, every 10th of them for validation (5 faces:
	// too few to hold out whole faces).
	if s.TrainSize != 1350 || s.Domain != vision.DemoTrainDomain {
		t.Errorf("setup: domain %s, %d training examples, want %s and 1350", s.Domain, s.TrainSize, vision.DemoTrainDomain)
	}
	if loss, acc := s.Validate(); math.IsNaN(loss) || acc < 0.2 || acc > 1 {
		t.Errorf("validation: loss %g, accuracy %g", loss, acc)
	}
	rep, err := family.Evaluate(pre, family.EvalOptions{Data: out, Domains: []string{"go-tilted", vision.DemoTrainDomain}, MaxExamples: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Domains) != 2 || rep.Domains[0].Domain != "go-tilted" || rep.Domains[0].Examples != 50 || rep.Settings["head"] == nil {
		t.Fatalf("report %+v", rep)
	}
	for _, d := range rep.Domains {
		if *d.Accuracy <= 0.2 || *d.Accuracy > 1 {
			t.Errorf("%s: zero-shot accuracy %g", d.Domain, *d.Accuracy)
		}
	}
	_, errOpen := family.Open(pre, family.Options{Data: out, Domain: "script", Batch: 8})
	_, errEval := family.Evaluate(pre, family.EvalOptions{Data: out, Domains: []string{"script"}})
	for _, err := range []error{errOpen, errEval} {
		if err == nil || !strings.Contains(err.Error(), `unknown vision domain "script"; valid: `+strings.Join(vision.DemoDomains, ", ")) {
			t.Errorf("domain script of the demo data: %v", err)
		}
	}
}
