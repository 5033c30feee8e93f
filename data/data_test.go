package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPackages(t *testing.T) {
	for _, task := range Tasks {
		ps, err := Packages(task)
		if err != nil || len(ps) == 0 {
			t.Fatalf("Packages(%q) = %v, %v", task, ps, err)
		}
		for i := 1; i < len(ps); i++ {
			if ps[i-1].Name >= ps[i].Name {
				t.Errorf("%s: packages not sorted/unique at %s", task, ps[i].Name)
			}
		}
	}
	if _, err := Packages("audio"); err == nil || !strings.Contains(err.Error(), "vision") {
		t.Errorf("unknown task: %v", err)
	}
}

func TestCheckDrift(t *testing.T) {
	exp := map[string]int{"a": 100, "b": 10}
	if err := CheckDrift("x", exp, map[string]int{"a": 110, "b": 9, "c": 1}, 0.25); err != nil {
		t.Errorf("within tolerance: %v", err)
	}
	err := CheckDrift("x", exp, map[string]int{"a": 10}, 0.25)
	var de *DriftError
	if !errors.As(err, &de) || len(de.Lines) != 2 {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "--allow-drift") {
		t.Errorf("error does not say how to accept: %v", err)
	}
	opt := BuildOptions{AllowDrift: true}
	m := &Manifest{Task: "x", Counts: map[string]int{"a": 1}}
	if err := opt.Drift(m, exp, 0.25); err != nil || len(m.Notes) != 1 {
		t.Errorf("AllowDrift: %v, notes %q", err, m.Notes)
	}
}

func TestManifestDeterministic(t *testing.T) {
	write := func() []byte {
		dir := t.TempDir()
		w, err := CreateJSONL(filepath.Join(dir, "sub", "a.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(map[string]string{"text": "<b>é</b>", "lang": "fr"})
		w.Close()
		os.WriteFile(filepath.Join(dir, "b.bin"), []byte{1, 2, 3}, 0o644)
		m := &Manifest{Task: "t", Name: "T", Counts: map[string]int{"z": 1, "a": 2},
			Sources: []Source{{Name: "s2"}, {Name: "s1"}}}
		if err := WriteSummary(dir, m); err != nil {
			t.Fatal(err)
		}
		if err := WriteManifest(dir, m); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadManifest(dir)
		if err != nil || len(got.Files) != 3 || got.Files[0].Path != "SUMMARY.txt" || got.Files[2].Path != "sub/a.jsonl" {
			t.Fatalf("manifest %+v, %v", got, err)
		}
		var n int
		ReadJSONL(filepath.Join(dir, "sub", "a.jsonl"), func(line []byte) error {
			if !strings.Contains(string(line), "<b>é</b>") {
				t.Errorf("line %s escapes text", line)
			}
			n++
			return nil
		})
		if n != 1 {
			t.Errorf("read %d lines", n)
		}
		return b
	}
	if a, b := write(), write(); string(a) != string(b) {
		t.Errorf("manifests differ:\n%s\n%s", a, b)
	}
}

func ExampleCheckDrift() {
	recorded := map[string]int{"train": 1000, "test": 300}
	err := CheckDrift("demo", recorded, map[string]int{"train": 980, "test": 120}, 0.25)
	fmt.Println(err)
	// Output:
	// demo: sources drifted from the recorded build (build with --allow-drift to accept the change, then update the recorded counts in data/demo):
	//   test: 120, recorded 300 (tolerance ±25%)
}

func TestHTMLParagraphs(t *testing.T) {
	got := HTMLParagraphs([]byte("<html><head><title>T</title><style>p{}</style></head><body><p>One &amp; <b>two</b>\n three</p><div>Four&nbsp;five</div></body></html>"))
	want := []string{"T", "One & two three", "Four five"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestPackageLicenses(t *testing.T) {
	cache := t.TempDir()
	doc := filepath.Join(PackageRoot(cache, "p"), "usr/share/doc/p")
	os.MkdirAll(doc, 0o755)
	os.WriteFile(filepath.Join(doc, "copyright"), []byte("Format: x\n\nFiles: *\nLicense: GPL-2+\n text\n\nFiles: a\nLicense: OFL-1.1\nLicense: GPL-2+\n"), 0o644)
	if got := PackageLicenses(cache, "p"); got != "GPL-2+, OFL-1.1" {
		t.Errorf("got %q", got)
	}
	if got := PackageLicenses(cache, "q"); !strings.Contains(got, "no copyright") {
		t.Errorf("missing package: %q", got)
	}
}
