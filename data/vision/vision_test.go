package vision

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/image/font/gofont/gobolditalic"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/gofont/gomediumitalic"
	"golang.org/x/image/font/gofont/gomonobolditalic"
	"golang.org/x/image/font/gofont/gomonoitalic"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/tramlab/tram/data"
)

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// variant returns a copy of a font file with trailing bytes, so that it
// parses as the same glyphs but counts as another face.
func variant(b []byte, i int) []byte {
	return append(append([]byte(nil), b...), []byte(fmt.Sprintf("variant%04d", i))...)
}

// jhf returns a Hershey font whose digits are simple strokes.
func jhf() string {
	var b strings.Builder
	for i := 0; i < 16; i++ { // space to '/'
		b.WriteString("12345  1JZ\n")
	}
	digits := []string{"MFMWWWWFMF", "RFRW", "MFWFWNMNMWWW", "MFWFWWMW RMNWN", "MFMNWN RWFWW", "WFMFMNWNWWMW",
		"WFMFMWWWWNMN", "MFWFRW", "MFWFWWMWMF RMNWN", "WNMNMFWFWW"}
	for _, d := range digits {
		fmt.Fprintf(&b, "12345%3dJZ%s\n", len(d)/2+1, d)
	}
	return b.String()
}

func fixture(t *testing.T) (cache string) {
	cache = t.TempDir()
	for pkg := range packageStyle {
		writeFile(t, filepath.Join(data.PackageRoot(cache, pkg), data.StampFile), []byte("x\n"))
	}
	put := func(pkg, name string, b []byte) {
		writeFile(t, filepath.Join(data.PackageRoot(cache, pkg), "usr/share/fonts", name), b)
	}
	for i := 0; i < 12; i++ {
		put("fonts-vollkorn", fmt.Sprintf("Serif%02d.ttf", i), variant(goregular.TTF, i))
	}
	put("fonts-comic-neue", "Comic.ttf", gomedium.TTF)
	put("fonts-kristi", "Kristi.ttf", gomediumitalic.TTF)
	put("fonts-dseg", "DSEG7.ttf", gomonoitalic.TTF)
	put("fonts-dseg", "DSEG14.ttf", gomonobolditalic.TTF)
	put("fonts-dseg", "DSEGWeather.ttf", variant(gomonoitalic.TTF, 99)) // a symbol face: skipped
	put("fonts-blankenburg", "Blank.ttf", gobolditalic.TTF)
	put("fonts-bebas-neue", "Bebas.otf", goitalic.TTF)
	put("fonts-bebas-neue", "Broken.otf", []byte("not a font"))
	hroot := data.PackageRoot(cache, "hershey-fonts-data")
	writeFile(t, filepath.Join(hroot, data.StampFile), []byte("x\n"))
	for _, n := range []string{"futural", "timesr", "scripts"} {
		writeFile(t, filepath.Join(hroot, "usr/share/hershey-fonts", n+".jhf"), []byte(jhf()))
	}
	var csv strings.Builder
	for i := 0; i < 30; i++ {
		for j := 0; j < 64; j++ {
			v := 0
			if j%8 >= 2 && j%8 <= 5 && (j/8+i)%3 != 0 {
				v = 16
			}
			fmt.Fprintf(&csv, "%d,", v)
		}
		fmt.Fprintf(&csv, "%d\n", i%10)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(csv.String()))
	zw.Close()
	sk := data.PackageRoot(cache, "python3-sklearn")
	writeFile(t, filepath.Join(sk, data.StampFile), []byte("x\n"))
	writeFile(t, filepath.Join(sk, "usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"), gz.Bytes())
	return cache
}

var small = Config{PretrainAug: 2, EvalAug: 1, MinTest: 20, MaxAug: 3}

func TestBuild(t *testing.T) {
	cache := fixture(t)
	out := filepath.Join(t.TempDir(), "vision")
	opt := data.BuildOptions{Cache: cache, Out: out, Sysroot: t.TempDir()}
	m, err := BuildConfig(opt, small)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := ReadIndex(out)
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]map[string]bool{}
	for _, info := range idx.Sets {
		s, err := Load(out, info.Name)
		if err != nil {
			t.Fatal(err)
		}
		groups[info.Name] = map[string]bool{}
		for _, g := range s.Group {
			groups[info.Name][s.Groups[g]] = true
		}
		if strings.HasPrefix(info.Name, "digits-") && info.Split == "test" && info.Count < small.MinTest && info.Domain != "uci" {
			t.Errorf("%s: %d test images, want ≥ %d", info.Name, info.Count, small.MinTest)
		}
		for i := 0; i < s.Count; i++ {
			img := s.Image(i)
			var hi uint8
			for _, v := range img {
				hi = max(hi, v)
			}
			if hi < 128 {
				t.Fatalf("%s image %d has no ink", info.Name, i)
			}
			if strings.HasPrefix(info.Name, "digits-") && s.Labels[i] > 9 {
				t.Fatalf("%s image %d: label %d", info.Name, i, s.Labels[i])
			}
		}
	}
	want := []string{"pretrain-train", "pretrain-val", "pretrain-test", "digits-print-test", "digits-script-test",
		"digits-segment-test", "digits-blackletter-test", "digits-hershey-test", "digits-uci-test"}
	for _, n := range want {
		if len(groups[n]) == 0 {
			t.Errorf("set %s missing or empty", n)
		}
	}
	if _, ok := groups["digits-opencv-test"]; ok {
		t.Error("opencv set without opencv-doc")
	}
	disjoint := func(a, b string) {
		for g := range groups[a] {
			if groups[b][g] {
				t.Errorf("face %s in both %s and %s", g, a, b)
			}
		}
	}
	disjoint("pretrain-train", "pretrain-test")
	disjoint("pretrain-train", "pretrain-val")
	disjoint("pretrain-train", "digits-print-test")
	for _, d := range []string{"script", "segment", "blackletter", "hershey"} {
		disjoint("digits-"+d+"-train", "digits-"+d+"-test")
		disjoint("pretrain-train", "digits-"+d+"-test")
	}
	for g := range groups["digits-segment-test"] {
		if strings.Contains(g, "Weather") {
			t.Error("symbol face used")
		}
	}
	if !strings.Contains(strings.Join(m.Notes, "\n"), "Broken.otf") {
		t.Errorf("unparsable font not noted: %q", m.Notes)
	}
	m2, err := BuildConfig(data.BuildOptions{Cache: cache, Out: filepath.Join(t.TempDir(), "v"), Sysroot: opt.Sysroot}, small)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Files, m2.Files) {
		t.Error("two builds differ")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir, "pretrain-train"); err == nil || !strings.Contains(err.Error(), "tram data build vision") {
		t.Errorf("missing index: %v", err)
	}
	idx := Index{Format: 1, Width: Size, Height: Size, Classes: Classes, Sets: []SetInfo{{Name: "x", Count: 2, Groups: []string{"g"}}}}
	data.WriteJSON(filepath.Join(dir, "index.json"), idx)
	os.WriteFile(filepath.Join(dir, "x.images"), make([]byte, Pixels), 0o644)
	if _, err := Load(dir, "x"); err == nil || !strings.Contains(err.Error(), "want 1568") {
		t.Errorf("short images: %v", err)
	}
}

func TestRenderCentred(t *testing.T) {
	s := shape{strokes: [][]pt{{{0, 0}, {0, 10}}}}
	img, ok := render(s, clean, nil)
	if !ok {
		t.Fatal("nothing drawn")
	}
	var mass, my float64
	rows := 0
	for y := 0; y < Size; y++ {
		any := false
		for x := 0; x < Size; x++ {
			v := float64(img[y*Size+x])
			mass += v
			my += v * (float64(y) + 0.5)
			any = any || v > 25
		}
		if any {
			rows++
		}
	}
	if rows < 19 || rows > 21 {
		t.Errorf("ink spans %d rows, want 20", rows)
	}
	if c := my / mass; c < 13 || c > 15 {
		t.Errorf("centre of mass row %.1f", c)
	}
}

func ExampleSet_Image() {
	s := &Set{SetInfo: SetInfo{Name: "demo", Count: 2}, Images: make([]uint8, 2*Pixels), Labels: []uint8{3, 7}}
	s.Images[Pixels+14*Size+14] = 255 // centre pixel of image 1
	img := s.Image(1)
	fmt.Println(len(img), img[14*Size+14], Classes[s.Labels[1]:s.Labels[1]+1], s.Floats()[Pixels+14*Size+14])
	// Output: 784 255 7 1
}
