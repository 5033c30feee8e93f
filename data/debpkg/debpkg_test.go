package debpkg

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tramlab/tram/data"
)

// fakeTools writes shell scripts standing in for apt-get and dpkg-deb; the
// fake apt-get logs each call to dir/apt.log and knows no "ghost" package.
func fakeTools(t *testing.T) (aptGet, dpkgDeb, log string) {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh for the fake apt-get")
	}
	dir := t.TempDir()
	log = filepath.Join(dir, "apt.log")
	aptGet = filepath.Join(dir, "apt-get")
	dpkgDeb = filepath.Join(dir, "dpkg-deb")
	os.WriteFile(aptGet, []byte(`#!/bin/sh
echo "$@" >> `+log+`
shift
for p in "$@"; do
  case "$p" in ghost*) echo "E: Unable to locate package $p" >&2; exit 100;; esac
done
for p in "$@"; do echo "deb of $p" > "${p}_1.0-1_all.deb"; done
`), 0o755)
	os.WriteFile(dpkgDeb, []byte(`#!/bin/sh
case "$1" in
-f) p=$(basename "$2" | cut -d_ -f1); printf 'Package: %s\nVersion: 1.0-1\nArchitecture: all\n' "$p";;
-x) p=$(basename "$2" | cut -d_ -f1); mkdir -p "$3/usr/share/$p"; cp "$2" "$3/usr/share/$p/content";;
esac
`), 0o755)
	return aptGet, dpkgDeb, log
}

func TestFetchIdempotent(t *testing.T) {
	aptGet, dpkgDeb, log := fakeTools(t)
	cache := t.TempDir()
	pkgs := []data.Package{{Name: "alpha"}, {Name: "beta"}}
	var progress strings.Builder
	opt := Options{Cache: cache, AptGet: aptGet, DpkgDeb: dpkgDeb, Progress: &progress}
	res, err := Fetch(pkgs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Fetched) != 2 || !strings.Contains(progress.String(), "[2/2]") {
		t.Errorf("result %+v, progress %q", res, progress.String())
	}
	b, err := os.ReadFile(filepath.Join(data.PackageRoot(cache, "beta"), "usr/share/beta/content"))
	if err != nil || string(b) != "deb of beta\n" {
		t.Errorf("extracted %q, %v", b, err)
	}
	m, err := ReadManifest(cache)
	if err != nil || len(m.Packages) != 2 || m.Packages[0].Version != "1.0-1" || len(m.Packages[0].SHA256) != 64 {
		t.Fatalf("manifest %+v, %v", m, err)
	}
	if _, err := data.RequirePackage(cache, "alpha"); err != nil {
		t.Error(err)
	}
	before, _ := os.ReadFile(log)
	res, err = Fetch(pkgs, opt)
	if err != nil || len(res.Cached) != 2 || len(res.Fetched) != 0 {
		t.Fatalf("second fetch: %+v, %v", res, err)
	}
	if after, _ := os.ReadFile(log); string(after) != string(before) {
		t.Error("second fetch called apt-get")
	}
	// A damaged extraction is redone.
	os.Remove(filepath.Join(data.PackageRoot(cache, "alpha"), data.StampFile))
	if res, err = Fetch(pkgs, opt); err != nil || len(res.Fetched) != 1 || res.Fetched[0] != "alpha" {
		t.Errorf("refetch: %+v, %v", res, err)
	}
}

func TestFetchMissing(t *testing.T) {
	aptGet, dpkgDeb, _ := fakeTools(t)
	cache := t.TempDir()
	opt := Options{Cache: cache, AptGet: aptGet, DpkgDeb: dpkgDeb}
	res, err := Fetch([]data.Package{{Name: "alpha"}, {Name: "ghost-opt", Optional: true}}, opt)
	if err != nil || len(res.Missing) != 1 || len(res.Fetched) != 1 {
		t.Fatalf("optional missing: %+v, %v", res, err)
	}
	_, err = Fetch([]data.Package{{Name: "ghost-req"}}, opt)
	var me *MissingError
	if !errors.As(err, &me) || me.Packages[0] != "ghost-req" || !strings.Contains(err.Error(), "apt-get download ghost-req") {
		t.Fatalf("required missing: %v", err)
	}
}

func TestFetchNoApt(t *testing.T) {
	_, err := Fetch([]data.Package{{Name: "alpha"}}, Options{Cache: t.TempDir(), AptGet: "/nonexistent/apt-get"})
	if err == nil || !strings.Contains(err.Error(), "apt-get download alpha") || !strings.Contains(err.Error(), "dpkg-deb -x") {
		t.Fatalf("got %v", err)
	}
}

func ExampleManifest_Lookup() {
	m := &Manifest{Packages: []Entry{{Name: "dict-foldoc", Version: "20230119-1"}}}
	e, ok := m.Lookup("dict-foldoc")
	fmt.Println(e.Version, ok)
	// Output: 20230119-1 true
}
