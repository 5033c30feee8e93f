package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchJSONAndErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := runMain([]string{"bench", "--json", "--only", "mlp", "--methods", "sgd,sam", "--seconds", "0.01", "--threads", "2"}, &out, &errb); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON line per (workload, method), got %q", out.String())
	}
	for _, l := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("stdout line %q is not JSON: %v", l, err)
		}
		for _, k := range []string{"workload", "method", "ms_per_step", "steps", "threads", "backend", "allocs_per_step", "forward_passes", "backward_passes"} {
			if _, ok := r[k]; !ok {
				t.Fatalf("line %q lacks %q", l, k)
			}
		}
		if r["method"] == "sam" && (r["forward_passes"] != 2.0 || r["backward_passes"] != 2.0) {
			t.Fatalf("sam's cost in %q is not 2 forward and 2 backward passes", l)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--only", "resnet"}, `unknown workload "resnet"; valid workloads: mlp, gpt, gpt2, cnn, bert`},
		{[]string{"bench", "--methods", "lion"}, `unknown method "lion"; valid methods: tram, sgd, adamw`},
		{[]string{"bench", "--threads", "0"}, "--threads must be"},
	} {
		out.Reset()
		errb.Reset()
		if rc := runMain(c.args, &out, &errb); rc == 0 || !strings.Contains(errb.String(), c.want) || strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want a one-line error containing %q", c.args, rc, errb.String(), out.String(), c.want)
		}
	}
}

func TestUnknownCommandAndHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := runMain([]string{"frobnicate"}, &out, &errb); rc == 0 || !strings.Contains(errb.String(), "valid commands: "+strings.Join(commandNames(), ", ")) {
		t.Fatalf("exit %d, %q", rc, errb.String())
	}
	for _, c := range []string{"bench", "data", "finetune", "score", "version"} {
		if !strings.Contains(errb.String(), c) {
			t.Fatalf("valid commands lack %s: %q", c, errb.String())
		}
	}
	errb.Reset()
	if rc := runMain([]string{"help"}, &out, &errb); rc != 0 || !strings.Contains(errb.String(), "finetune") {
		t.Fatalf("help: exit %d, %q", rc, errb.String())
	}
	out.Reset()
	if rc := runMain([]string{"version"}, &out, &errb); rc != 0 || !strings.Contains(out.String(), "gemm backend") {
		t.Fatalf("version: %q", out.String())
	}
}
