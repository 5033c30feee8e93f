// Package debpkg downloads Debian packages without their dependencies or
// maintainer scripts and extracts each into its own directory of a cache,
// recording what it fetched in a manifest.
//
// It drives the system's tools: "apt-get download" fetches the .deb files
// into CACHE/debs and "dpkg-deb -x" unpacks each into CACHE/pkgs/NAME.
// CACHE/manifest.json lists every package with its version, architecture
// and the sha256 of its .deb. Fetching is idempotent: a package whose .deb
// and extraction are already in the cache is neither downloaded nor
// extracted again, so a second fetch needs no network.
package debpkg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/tramlab/tram/data"
)

// An Entry is one fetched package in the cache manifest.
type Entry struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
	Deb     string `json:"deb"` // file name under CACHE/debs
	Bytes   int64  `json:"bytes"`
	SHA256  string `json:"sha256"`
}

// A Manifest lists the packages of a cache, sorted by name.
type Manifest struct {
	Packages []Entry `json:"packages"`
}

// Lookup returns the entry for package name.
func (m *Manifest) Lookup(name string) (Entry, bool) {
	for _, e := range m.Packages {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

func (m *Manifest) put(e Entry) {
	for i := range m.Packages {
		if m.Packages[i].Name == e.Name {
			m.Packages[i] = e
			return
		}
	}
	m.Packages = append(m.Packages, e)
	sort.Slice(m.Packages, func(i, j int) bool { return m.Packages[i].Name < m.Packages[j].Name })
}

// ReadManifest reads CACHE/manifest.json; a missing file gives an empty
// manifest.
func ReadManifest(cache string) (*Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(cache, "manifest.json"))
	if errors.Is(err, os.ErrNotExist) {
		return &m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(cache, "manifest.json"), err)
	}
	return &m, nil
}

// Options configure Fetch.
type Options struct {
	Cache string // cache directory (created if needed)
	// Progress receives one line per step; nil discards.
	Progress io.Writer
	// AptGet and DpkgDeb name the tools; empty means "apt-get" and
	// "dpkg-deb" from PATH. Tests substitute fakes.
	AptGet, DpkgDeb string
}

// A MissingError names packages the archive could not provide.
type MissingError struct {
	Packages []string
	Detail   string // apt-get's own message
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("apt could not download %s.\n%s\nRun \"apt-get update\" and retry; if a package is still missing, install it by hand:\n  apt-get download %s\n  dpkg-deb -x NAME_*.deb CACHE/pkgs/NAME",
		strings.Join(e.Packages, ", "), strings.TrimSpace(e.Detail), strings.Join(e.Packages, " "))
}

// A Result reports what Fetch did.
type Result struct {
	Fetched, Cached []string // package names
	Missing         []string // optional packages the archive lacked
}

// Fetch makes sure every package is downloaded and extracted in the cache and
// updates the cache manifest. Missing optional packages are reported in the
// result; a missing required package is a *MissingError. Fetch fails with a
// clear message when apt-get or dpkg-deb is unavailable.
func Fetch(pkgs []data.Package, opt Options) (*Result, error) {
	progress := opt.Progress
	if progress == nil {
		progress = io.Discard
	}
	aptGet, dpkgDeb := opt.AptGet, opt.DpkgDeb
	if aptGet == "" {
		aptGet = "apt-get"
	}
	if dpkgDeb == "" {
		dpkgDeb = "dpkg-deb"
	}
	if err := os.MkdirAll(filepath.Join(opt.Cache, "debs"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(opt.Cache, "pkgs"), 0o755); err != nil {
		return nil, err
	}
	man, err := ReadManifest(opt.Cache)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	var todo []data.Package
	for _, p := range pkgs {
		if e, ok := man.Lookup(p.Name); ok && cachedOK(opt.Cache, e) {
			res.Cached = append(res.Cached, p.Name)
			continue
		}
		todo = append(todo, p)
	}
	fmt.Fprintf(progress, "fetch: %d packages: %d cached, %d to download\n", len(pkgs), len(res.Cached), len(todo))
	if len(todo) == 0 {
		return res, nil
	}
	if _, err := exec.LookPath(aptGet); err != nil {
		return nil, fmt.Errorf("%s not found: tram data fetch needs Debian's apt (apt-get download) and dpkg-deb.\nOn a Debian or Ubuntu machine install the packages by hand:\n  apt-get download %s\nand extract each with: dpkg-deb -x NAME_*.deb %s/pkgs/NAME", aptGet, names(todo), opt.Cache)
	}
	if _, err := exec.LookPath(dpkgDeb); err != nil {
		return nil, fmt.Errorf("%s not found: install dpkg (apt-get install dpkg) to extract the downloaded packages", dpkgDeb)
	}
	debDir := filepath.Join(opt.Cache, "debs")
	// One apt-get call for all packages is fast; when it fails, retry one by
	// one to learn which packages are missing.
	fmt.Fprintf(progress, "fetch: apt-get download %d packages into %s\n", len(todo), debDir)
	var missingReq, missingOpt []string
	var detail strings.Builder
	if out, err := run(debDir, aptGet, append([]string{"download"}, names1(todo)...)...); err != nil {
		for i, p := range todo {
			fmt.Fprintf(progress, "fetch: [%d/%d] apt-get download %s\n", i+1, len(todo), p.Name)
			if out1, err := run(debDir, aptGet, "download", p.Name); err != nil {
				detail.WriteString(lastLines(out1, 2))
				if p.Optional {
					missingOpt = append(missingOpt, p.Name)
				} else {
					missingReq = append(missingReq, p.Name)
				}
			}
		}
		if len(missingReq)+len(missingOpt) == 0 { // the batch failed for another reason
			return nil, fmt.Errorf("apt-get download failed:\n%s", lastLines(out, 5))
		}
	}
	if len(missingReq) > 0 {
		return nil, &MissingError{Packages: missingReq, Detail: detail.String()}
	}
	for _, n := range missingOpt {
		fmt.Fprintf(progress, "fetch: warning: optional package %s is not available; the domain it feeds will be skipped\n", n)
	}
	res.Missing = missingOpt
	skip := map[string]bool{}
	for _, n := range missingOpt {
		skip[n] = true
	}
	var work []data.Package
	for _, p := range todo {
		if !skip[p.Name] {
			work = append(work, p)
		}
	}
	// Extract two at a time.
	entries := make([]Entry, len(work))
	errs := make([]error, len(work))
	var mu sync.Mutex
	done := 0
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, p := range work {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			entries[i], errs[i] = extract(opt.Cache, p.Name, dpkgDeb)
			mu.Lock()
			done++
			if errs[i] == nil {
				fmt.Fprintf(progress, "fetch: [%d/%d] %s %s (%.1f MB) extracted\n", done, len(work), p.Name, entries[i].Version, float64(entries[i].Bytes)/1e6)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	var firstErr error
	for i, p := range work {
		if errs[i] != nil {
			if firstErr == nil {
				firstErr = errs[i]
			}
			continue
		}
		man.put(entries[i])
		res.Fetched = append(res.Fetched, p.Name)
	}
	if err := data.WriteJSON(filepath.Join(opt.Cache, "manifest.json"), man); err != nil {
		return nil, err
	}
	return res, firstErr
}

// cachedOK reports whether the entry's .deb and extraction are present.
func cachedOK(cache string, e Entry) bool {
	st, err := os.Stat(filepath.Join(cache, "debs", e.Deb))
	if err != nil || st.Size() != e.Bytes {
		return false
	}
	stamp, err := os.ReadFile(filepath.Join(data.PackageRoot(cache, e.Name), data.StampFile))
	return err == nil && strings.TrimSpace(string(stamp)) == e.SHA256
}

// extract finds the downloaded .deb of name, hashes it and unpacks it into
// CACHE/pkgs/NAME.
func extract(cache, name, dpkgDeb string) (Entry, error) {
	debDir := filepath.Join(cache, "debs")
	matches, _ := filepath.Glob(filepath.Join(debDir, name+"_*.deb"))
	if len(matches) == 0 {
		return Entry{}, fmt.Errorf("package %s: apt-get reported success but no %s_*.deb is in %s", name, name, debDir)
	}
	sort.Strings(matches)
	// Several versions may lie there after an archive update: take the newest.
	deb := matches[0]
	var newest int64
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && st.ModTime().UnixNano() >= newest {
			newest, deb = st.ModTime().UnixNano(), m
		}
	}
	out, err := run("", dpkgDeb, "-f", deb, "Package", "Version", "Architecture")
	if err != nil {
		return Entry{}, fmt.Errorf("package %s: dpkg-deb -f %s: %v\n%s", name, deb, err, out)
	}
	fields := map[string]string{}
	for _, ln := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(ln, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	sum, n, err := data.HashFile(deb)
	if err != nil {
		return Entry{}, err
	}
	root := data.PackageRoot(cache, name)
	tmp := root + ".partial"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return Entry{}, err
	}
	if out, err := run("", dpkgDeb, "-x", deb, tmp); err != nil {
		os.RemoveAll(tmp)
		return Entry{}, fmt.Errorf("package %s: dpkg-deb -x %s: %v\n%s", name, deb, err, out)
	}
	if err := os.WriteFile(filepath.Join(tmp, data.StampFile), []byte(sum+"\n"), 0o644); err != nil {
		return Entry{}, err
	}
	os.RemoveAll(root)
	if err := os.Rename(tmp, root); err != nil {
		return Entry{}, err
	}
	return Entry{Name: name, Version: fields["Version"], Arch: fields["Architecture"],
		Deb: filepath.Base(deb), Bytes: n, SHA256: sum}, nil
}

func run(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	return buf.String(), err
}

func names(ps []data.Package) string { return strings.Join(names1(ps), " ") }

func names1(ps []data.Package) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	var keep []string
	for _, l := range lines {
		if strings.HasPrefix(l, "W: ") { // apt's sandbox warnings
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, "\n") + "\n"
}
