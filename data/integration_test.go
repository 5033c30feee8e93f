package data_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/data/lm"
	"github.com/tramlab/tram/data/vision"
	"github.com/tramlab/tram/data/xling"
)

// TestRealBuild builds the three tasks from the real package cache (about
// 30 s on two cores) and checks the size targets of the design. It runs
// only when "tram data fetch" has filled the cache ($TRAM_DATA_CACHE or the
// default cache directory).
func TestRealBuild(t *testing.T) {
	cache := os.Getenv("TRAM_DATA_CACHE")
	if cache == "" {
		cache = data.DefaultCacheDir()
	}
	if _, err := os.Stat(filepath.Join(cache, "manifest.json")); err != nil {
		t.Skipf("no package cache at %s: run \"tram data fetch\" to enable the real-data build test", cache)
	}
	if testing.Short() {
		t.Skip("real-data build skipped in -short mode")
	}
	for _, task := range data.Tasks {
		ps, _ := data.Packages(task)
		for _, p := range ps {
			if _, err := data.RequirePackage(cache, p.Name); err != nil && !p.Optional {
				t.Skipf("cache %s lacks %s: run \"tram data fetch\"", cache, p.Name)
			}
		}
	}
	out := t.TempDir()
	opt := func(task string) data.BuildOptions {
		return data.BuildOptions{Cache: cache, Out: filepath.Join(out, task), Sysroot: "/"}
	}
	var total int64
	sum := func(m *data.Manifest) {
		for _, f := range m.Files {
			total += f.Bytes
		}
	}

	vm, err := vision.Build(opt("vision"))
	if err != nil {
		t.Fatal(err)
	}
	sum(vm)
	idx, err := vision.ReadIndex(filepath.Join(out, "vision"))
	if err != nil {
		t.Fatal(err)
	}
	domains := 0
	for _, s := range idx.Sets {
		if strings.HasPrefix(s.Name, "digits-") && s.Split == "test" {
			if s.Count >= 1000 {
				domains++
			} else {
				t.Logf("vision: %s has %d test images", s.Name, s.Count)
			}
		}
	}
	if domains < 7 {
		t.Errorf("vision: %d digit domains with ≥ 1,000 test images, want 7", domains)
	}

	lmm, err := lm.Build(opt("lm"))
	if err != nil {
		t.Fatal(err)
	}
	sum(lmm)
	for _, d := range lm.Domains {
		if n := lmm.Counts["bytes/"+d+"/train"]; n < 200_000 {
			t.Errorf("lm: domain %s has %d bytes of train text, want ≥ 200 KB", d, n)
		}
	}

	xm, err := xling.Build(opt("xling"))
	if err != nil {
		t.Fatal(err)
	}
	sum(xm)
	if n := xm.Counts["train/en"]; n < 15000 {
		t.Errorf("xling: %d English train messages, want ≥ 15,000", n)
	}
	for _, l := range xling.TestLangs {
		if n := xm.Counts["test/"+l]; n < 1500 {
			t.Errorf("xling: %d test messages in %s, want ≥ 1,500", n, l)
		}
	}
	t.Logf("built data: %.1f MB", float64(total)/1e6)
	if total > 300e6 {
		t.Errorf("built data take %.1f MB, want < 300 MB", float64(total)/1e6)
	}
}
