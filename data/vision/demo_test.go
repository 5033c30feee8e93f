package vision

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/image/font/gofont/gosmallcaps"
	"golang.org/x/image/font/gofont/gosmallcapsitalic"

	"github.com/tramlab/tram/data"
)

// smallDemo is a demo build small enough for tests: 2 renderings per (train
// face, digit), 1 per (test face, digit).
var smallDemo = DemoConfig{TrainPer: 2, TestPer: 1}

func buildDemo(t *testing.T, dir string, c DemoConfig) *data.Manifest {
	t.Helper()
	m, err := BuildDemoConfig(data.BuildOptions{Out: dir}, c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDemoDeterministic builds the demo twice: the same files, byte for
// byte.
func TestDemoDeterministic(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "vision"), filepath.Join(t.TempDir(), "vision")
	ma, mb := buildDemo(t, a, smallDemo), buildDemo(t, b, smallDemo)
	if !reflect.DeepEqual(ma.Files, mb.Files) || len(ma.Files) == 0 {
		t.Fatalf("manifests differ:\n%v\n%v", ma.Files, mb.Files)
	}
	for _, f := range append(ma.Files, data.File{Path: "manifest.json"}) {
		x, err := os.ReadFile(filepath.Join(a, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		y, _ := os.ReadFile(filepath.Join(b, f.Path))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between builds", f.Path)
		}
	}
}

// TestDemoSets loads every set of a smallDemo build and checks its shape,
// labels, groups and that the domains really differ.
func TestDemoSets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vision")
	m := buildDemo(t, dir, smallDemo)
	if m.Task != data.TaskVision || m.Counts["faces/train"] != 5 || m.Counts["faces/test"] != 5 {
		t.Fatalf("manifest: task %q, counts %v", m.Task, m.Counts)
	}
	for _, f := range []string{"index.json", "CARD.md", "SUMMARY.txt", "manifest.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	idx, err := ReadIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Sets) != 2*len(DemoDomains) || idx.Width != Size || idx.Classes != Classes {
		t.Fatalf("index: %d sets, width %d, classes %q", len(idx.Sets), idx.Width, idx.Classes)
	}
	for _, d := range DemoDomains {
		if _, ok := demoMeasured[d]; !ok {
			t.Errorf("domain %s has no measured accuracies for the data card", d)
		}
	}
	if DemoDomains[0] != DemoTrainDomain {
		t.Errorf("DemoDomains %v should start with the training domain %s", DemoDomains, DemoTrainDomain)
	}
	firsts := map[string]string{}
	for _, d := range DemoDomains {
		for _, c := range []struct {
			split       string
			faces, per  int
			firstFaceID string
		}{{"train", 5, smallDemo.TrainPer, "gofont/Go-Regular"}, {"test", 5, smallDemo.TestPer, "gofont/Go-Italic"}} {
			s, err := LoadDomain(dir, d, c.split)
			if err != nil {
				t.Fatal(err)
			}
			if s.Domain != d || s.Split != c.split || s.Count != c.faces*10*c.per || len(s.Groups) != c.faces || s.Groups[0] != c.firstFaceID {
				t.Fatalf("%s: domain %s split %s count %d groups %v", s.Name, s.Domain, s.Split, s.Count, s.Groups)
			}
			perClass, perGroup := make([]int, 10), make([]int, c.faces)
			for i, l := range s.Labels {
				if l > 9 {
					t.Fatalf("%s: label %d", s.Name, l)
				}
				perClass[l]++
				perGroup[s.Group[i]]++
				var ink int
				for _, v := range s.Image(i) {
					ink += int(v)
				}
				if ink < 255*20 {
					t.Errorf("%s: image %d has almost no ink (%d)", s.Name, i, ink)
				}
			}
			for k, n := range perClass {
				if n != c.faces*c.per || s.ClassCounts[k] != n {
					t.Errorf("%s: class %d has %d images (index %d), want %d", s.Name, k, n, s.ClassCounts[k], c.faces*c.per)
				}
			}
			for g, n := range perGroup {
				if n != 10*c.per {
					t.Errorf("%s: face %s has %d images, want %d", s.Name, s.Groups[g], n, 10*c.per)
				}
			}
			if c.split == "test" {
				firsts[d] = string(s.Image(0))
			}
		}
	}
	seen := map[string]string{}
	for d, img := range firsts {
		if o, ok := seen[img]; ok {
			t.Errorf("domains %s and %s render the same first image", d, o)
		}
		seen[img] = d
	}
}

// TestDemoFaces checks the face split against DigitShift's pretraining
// split (test faces are those it holds out), and that the Smallcaps faces,
// left out, draw the digits of Go Regular (train) and Go Italic (test).
func TestDemoFaces(t *testing.T) {
	inDigitShift := map[string]bool{"Go-Regular": true, "Go-Bold": true, "Go-Italic": true, "Go-BoldItalic": true, "Go-Medium": true,
		"Go-MediumItalic": true, "Go-Mono": true, "Go-MonoBold": true, "Go-MonoItalic": true, "Go-MonoBoldItalic": true}
	ttf := map[string][]byte{}
	for _, f := range demoFaces {
		heldOut := inDigitShift[f.name] && hashOf("print:gofont/"+f.name)%10 >= 7
		if f.test != heldOut {
			t.Errorf("%s: test %v, but held out of DigitShift's pretraining: %v", f.name, f.test, heldOut)
		}
		ttf[f.name] = f.ttf
	}
	for _, c := range []struct {
		name string
		ttf  []byte
		same string
	}{{"Go-Smallcaps", gosmallcaps.TTF, "Go-Regular"}, {"Go-SmallcapsItalic", gosmallcapsitalic.TTF, "Go-Italic"}} {
		a, err := loadFontFace(c.name, Sans, c.ttf)
		if err != nil {
			t.Fatal(err)
		}
		b, err := loadFontFace(c.same, Sans, ttf[c.same])
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10; i++ {
			x, _ := render(a.shapes[Classes[i]], clean, nil)
			y, _ := render(b.shapes[Classes[i]], clean, nil)
			if x != y {
				t.Errorf("%s draws digit %c unlike %s: it could be a demo face", c.name, Classes[i], c.same)
			}
		}
	}
}

// TestDemoBadConfig rejects empty sizes before touching the output.
func TestDemoBadConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "keep"), []byte("x"), 0o644)
	if _, err := BuildDemoConfig(data.BuildOptions{Out: dir}, DemoConfig{TrainPer: 0, TestPer: 1}); err == nil {
		t.Error("TrainPer 0 accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "keep")); err != nil {
		t.Error("a rejected build emptied the output directory")
	}
}
