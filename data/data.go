// Package data builds tram's offline datasets from Debian packages and the
// files of the base image, reproducibly.
//
// Three tasks keep the structure of the TRAM paper's experiments on data this
// machine can install (see each task's package for its format):
//
//   - vision (package data/vision): DigitShift, 28×28 glyph and digit images
//     whose domains are writing styles.
//   - lm (package data/lm): LM-Register, eight English text domains for
//     cross-domain language modelling, plus a general-English pretraining corpus.
//   - xling (package data/xling): GetText-X, zero-shot cross-lingual
//     classification of software messages.
//
// Sources are fetched once with [github.com/tramlab/tram/data/debpkg] into a
// cache directory laid out as
//
//	CACHE/debs/NAME_VERSION_ARCH.deb   the downloaded packages
//	CACHE/pkgs/NAME/...                each package extracted on its own
//	CACHE/manifest.json                package, version, sha256 of every .deb
//
// Every builder writes its splits, a manifest.json (sources, counts per
// split/class/domain, sha256 of every output file), a SUMMARY.txt and a data
// card CARD.md into its output directory. Builders are deterministic: the same
// inputs give the same bytes. A builder compares the counts it produced with
// the counts recorded when it was written and fails with a [DriftError] when
// they differ by more than a tolerance, so that a changed base image or
// package is noticed rather than silently producing different data.
package data

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Task names accepted by the CLI.
const (
	TaskVision = "vision"
	TaskLM     = "lm"
	TaskXling  = "xling"
)

// Tasks lists the task names in a fixed order.
var Tasks = []string{TaskVision, TaskLM, TaskXling}

// A Package is a Debian package a task needs.
type Package struct {
	Name string
	// Optional packages may be missing from the archive; builders then skip
	// the domain they feed and say so in their summary.
	Optional bool
}

// Packages returns the Debian packages the task needs, sorted by name.
// It returns an error for an unknown task.
func Packages(task string) ([]Package, error) {
	var names []string
	var optional map[string]bool
	switch task {
	case TaskVision:
		names = visionPackages
		optional = map[string]bool{"opencv-doc": true, "python3-sklearn": true}
	case TaskLM:
		names = lmPackages
	case TaskXling:
		names = xlingPackages
	default:
		return nil, fmt.Errorf("unknown task %q (valid: %s)", task, strings.Join(Tasks, ", "))
	}
	out := make([]Package, 0, len(names))
	for _, n := range names {
		out = append(out, Package{Name: n, Optional: optional[n]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

var visionPackages = []string{
	// serif
	"fonts-freefont-ttf", "fonts-liberation", "fonts-urw-base35", "fonts-vollkorn",
	"fonts-oldstandard", "fonts-goudybookletter",
	// sans
	"fonts-open-sans", "fonts-cantarell", "fonts-quicksand", "fonts-beteckna", "fonts-okolaks",
	// mono
	"fonts-inconsolata", "fonts-jetbrains-mono", "fonts-3270", "fonts-gnutypewriter",
	// script / handwriting
	"fonts-dkg-handwriting", "fonts-breip", "fonts-bwht", "fonts-femkeklaver",
	"fonts-humor-sans", "fonts-rufscript", "fonts-sjfonts", "fonts-kristi",
	"fonts-dancingscript", "fonts-kaushanscript", "fonts-comic-neue", "fonts-tomsontalks",
	"fonts-havana", "fonts-joscelyn", "fonts-lobster", "fonts-leckerli-one",
	// segment displays
	"fonts-dseg",
	// blackletter / display
	"fonts-blankenburg", "fonts-gotico-antiqua", "fonts-klaudia-berenika",
	"fonts-bebas-neue", "fonts-routed-gothic",
	// strokes and real handwriting
	"hershey-fonts-data", "python3-sklearn", "opencv-doc",
}

var lmPackages = []string{
	"dict-foldoc", "jargon-text", "debian-reference-en", "sword-text-web",
	"fortunes", "fortunes-min", "dict-devil", "dict-gcide", "wordnet-base",
}

var xlingPackages = []string{
	"fortunes-de", "fortunes-it", "fortunes-es", "fortunes-ru", "fortunes-pl", "fortunes-cs",
	"debian-reference-de", "debian-reference-fr", "debian-reference-es", "debian-reference-it",
	// ManSec-X test pages
	"manpages-de", "manpages-fr", "manpages-es", "manpages-pl", "manpages-ru", "manpages-uk",
	"manpages-it", "manpages-pt-br",
}

// DefaultCacheDir returns the default package cache: tram/data under the
// user cache directory (for example ~/.cache/tram/data).
func DefaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "tram", "data")
}

// DefaultOutDir returns the default directory for built tasks: tram/built
// under the user cache directory. Each task writes to a subdirectory named
// after it.
func DefaultOutDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "tram", "built")
}

// PackageRoot returns the directory into which package name was extracted
// in cache.
func PackageRoot(cache, name string) string {
	return filepath.Join(cache, "pkgs", name)
}

// RequirePackage returns PackageRoot(cache, name) or an error telling the
// user to run "tram data fetch" when the package has not been extracted.
func RequirePackage(cache, name string) (string, error) {
	root := PackageRoot(cache, name)
	if _, err := os.Stat(filepath.Join(root, StampFile)); err != nil {
		return "", fmt.Errorf("package %s is not in the cache %s: run \"tram data fetch --cache %s\" first", name, cache, cache)
	}
	return root, nil
}

// StampFile is written into a package's extraction directory once it has
// been extracted completely.
const StampFile = ".tram-extracted"

// A Source records one input of a build.
type Source struct {
	Name    string `json:"name"`              // Debian package or base-image path
	Version string `json:"version,omitempty"` // package version, when a package
	SHA256  string `json:"sha256,omitempty"`  // of the .deb, or of the listed files
	Files   int    `json:"files,omitempty"`   // number of files read
	Note    string `json:"note,omitempty"`
}

// A File records one output file of a build.
type File struct {
	Path   string `json:"path"` // relative to the task directory
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// A Manifest describes one built task.
type Manifest struct {
	Task    string         `json:"task"`
	Name    string         `json:"name"`
	Format  int            `json:"format"` // bumped when the output layout changes
	Sources []Source       `json:"sources"`
	Counts  map[string]int `json:"counts"` // "split/class" style keys
	Files   []File         `json:"files"`
	Notes   []string       `json:"notes,omitempty"`
}

// WriteManifest hashes every regular file under dir (except manifest.json),
// records them in m.Files and writes dir/manifest.json.
func WriteManifest(dir string, m *Manifest) error {
	m.Files = m.Files[:0]
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "manifest.json" {
			return nil
		}
		sum, n, err := HashFile(p)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, File{Path: filepath.ToSlash(rel), Bytes: n, SHA256: sum})
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	sort.SliceStable(m.Sources, func(i, j int) bool { return m.Sources[i].Name < m.Sources[j].Name })
	return WriteJSON(filepath.Join(dir, "manifest.json"), m)
}

// ManifestSHA256 returns the sha256, in hex, of dir/manifest.json: the
// fingerprint of one build of a task (the manifest lists every file's
// hash and every source's version). Pretraining cards and run records
// carry it, so that a result names the data it came from.
func ManifestSHA256(dir string) (string, error) {
	sum, _, err := HashFile(filepath.Join(dir, "manifest.json"))
	return sum, err
}

// ReadManifest reads dir/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	return &m, nil
}

// WriteJSON writes v as indented JSON to path, atomically.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, append(b, '\n'))
}

// WriteFileAtomic writes b to a temporary file beside path and renames it.
func WriteFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// HashFile returns the hex sha256 and size of the file at path.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// HashStrings returns the hex sha256 of the strings joined by newlines; it
// fingerprints a list of input files.
func HashStrings(ss []string) string {
	h := sha256.New()
	for _, s := range ss {
		io.WriteString(h, s)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// A JSONLWriter writes one JSON object per line to a file.
type JSONLWriter struct {
	f   *os.File
	w   *bufio.Writer
	enc *json.Encoder
	n   int
}

// CreateJSONL creates (or truncates) the JSONL file at path.
func CreateJSONL(path string) (*JSONLWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &JSONLWriter{f: f, w: w, enc: enc}, nil
}

// Write appends v as one line.
func (j *JSONLWriter) Write(v any) error {
	j.n++
	return j.enc.Encode(v)
}

// Count returns the number of lines written.
func (j *JSONLWriter) Count() int { return j.n }

// Close flushes and closes the file.
func (j *JSONLWriter) Close() error {
	if err := j.w.Flush(); err != nil {
		j.f.Close()
		return err
	}
	return j.f.Close()
}

// ReadJSONL decodes every line of the JSONL file at path with fn.
func ReadJSONL(path string, fn func(line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	ln := 0
	for sc.Scan() {
		ln++
		if err := fn(sc.Bytes()); err != nil {
			return fmt.Errorf("%s:%d: %w", path, ln, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// A DriftError reports counts that moved far from the recorded ones.
type DriftError struct {
	Task  string
	Lines []string // one per drifted count
}

func (e *DriftError) Error() string {
	return fmt.Sprintf("%s: sources drifted from the recorded build (build with --allow-drift to accept the change, then update the recorded counts in data/%s):\n  %s",
		e.Task, e.Task, strings.Join(e.Lines, "\n  "))
}

// CheckDrift compares got with the expected counts: a key whose count differs
// by more than tol (a fraction, e.g. 0.25) of the expected value, or that is
// missing, is reported in a *DriftError. Keys of got not in expected are
// ignored. A nil expected map checks nothing.
func CheckDrift(task string, expected, got map[string]int, tol float64) error {
	keys := make([]string, 0, len(expected))
	for k := range expected {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var lines []string
	for _, k := range keys {
		want := expected[k]
		have, ok := got[k]
		if !ok {
			lines = append(lines, fmt.Sprintf("%s: missing (recorded %d)", k, want))
			continue
		}
		if math.Abs(float64(have-want)) > tol*float64(want) {
			lines = append(lines, fmt.Sprintf("%s: %d, recorded %d (tolerance ±%.0f%%)", k, have, want, 100*tol))
		}
	}
	if len(lines) > 0 {
		return &DriftError{Task: task, Lines: lines}
	}
	return nil
}

// SortedKeys returns the keys of m in increasing order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// FormatCounts renders counts as aligned "key  value" lines, sorted by key.
func FormatCounts(counts map[string]int) string {
	var b strings.Builder
	w := 0
	for k := range counts {
		w = max(w, len(k))
	}
	for _, k := range SortedKeys(counts) {
		fmt.Fprintf(&b, "%-*s %9d\n", w, k, counts[k])
	}
	return b.String()
}

// BuildOptions configure a task builder.
type BuildOptions struct {
	Cache   string // package cache filled by "tram data fetch"
	Out     string // the task's output directory (created; old outputs replaced)
	Sysroot string // root of the base image's files (default "/")
	// AllowDrift turns a *DriftError into a warning.
	AllowDrift bool
	// Progress receives human-readable progress lines; nil discards.
	Progress io.Writer
}

// Logf writes one progress line.
func (o *BuildOptions) Logf(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// SysPath joins the sysroot and an absolute base-image path.
func (o *BuildOptions) SysPath(p string) string {
	root := o.Sysroot
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, p)
}

// PrepareOut empties (or creates) the output directory.
func (o *BuildOptions) PrepareOut() error {
	if o.Out == "" {
		return fmt.Errorf("no output directory given")
	}
	if err := os.RemoveAll(o.Out); err != nil {
		return err
	}
	return os.MkdirAll(o.Out, 0o755)
}

// Drift runs CheckDrift and, with AllowDrift, downgrades a drift error to
// a progress warning recorded in the manifest notes.
func (o *BuildOptions) Drift(m *Manifest, expected map[string]int, tol float64) error {
	err := CheckDrift(m.Task, expected, m.Counts, tol)
	if err != nil && o.AllowDrift {
		o.Logf("warning (accepted with --allow-drift): %v", err)
		m.Notes = append(m.Notes, "built with --allow-drift: "+err.Error())
		return nil
	}
	return err
}

// SourceFromCache returns a Source for package name from the cache
// manifest (version and .deb sha256), or one with a note when the manifest
// lacks it.
func SourceFromCache(cache, name string) Source {
	var man struct {
		Packages []struct {
			Name, Version, SHA256 string
		} `json:"packages"`
	}
	if b, err := os.ReadFile(filepath.Join(cache, "manifest.json")); err == nil {
		if json.Unmarshal(b, &man) == nil {
			for _, p := range man.Packages {
				if p.Name == name {
					return Source{Name: name, Version: p.Version, SHA256: p.SHA256}
				}
			}
		}
	}
	return Source{Name: name, Note: "not in cache manifest"}
}

// Finish writes what every builder leaves beside its splits, in order: the
// data card (written by card), SUMMARY.txt and, last, manifest.json with the
// checksums of everything before it.
func Finish(dir string, m *Manifest, card func() error) (*Manifest, error) {
	if err := card(); err != nil {
		return nil, err
	}
	if err := WriteSummary(dir, m); err != nil {
		return nil, err
	}
	return m, WriteManifest(dir, m)
}

// WriteSummary writes dir/SUMMARY.txt: the task, its sources and all
// counts, one per line.
func WriteSummary(dir string, m *Manifest) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s), format %d\n\nSources:\n", m.Name, m.Task, m.Format)
	for _, s := range m.Sources {
		fmt.Fprintf(&b, "  %s", s.Name)
		if s.Version != "" {
			fmt.Fprintf(&b, " %s", s.Version)
		}
		if s.Files > 0 {
			fmt.Fprintf(&b, " (%d files)", s.Files)
		}
		if s.Note != "" {
			fmt.Fprintf(&b, " [%s]", s.Note)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nCounts:\n")
	for _, line := range strings.Split(strings.TrimRight(FormatCounts(m.Counts), "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	for _, n := range m.Notes {
		b.WriteString("\nNote: " + n + "\n")
	}
	return os.WriteFile(filepath.Join(dir, "SUMMARY.txt"), []byte(b.String()), 0o644)
}

var (
	blockTagRE = regexp.MustCompile(`(?is)<(/?(p|div|h[1-6]|li|tr|td|th|pre|dt|dd|br|table|ul|ol|title)\b[^>]*)>`)
	tagRE      = regexp.MustCompile(`(?s)<[^>]*>`)
	scriptRE   = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)>`)
)

// HTMLParagraphs returns the text blocks of an HTML document: block-level
// tags separate blocks, other tags are removed, entities decoded and
// whitespace collapsed.
func HTMLParagraphs(b []byte) []string {
	s := scriptRE.ReplaceAllString(string(b), " ")
	s = blockTagRE.ReplaceAllString(s, "\n\n")
	s = tagRE.ReplaceAllString(s, "")
	var out []string
	for _, p := range strings.Split(s, "\n\n") {
		if t := strings.Join(strings.Fields(html.UnescapeString(p)), " "); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// PackageLicenses returns the licence names of the "License:" fields of a
// package's machine-readable (DEP-5) copyright file, sorted and joined, or a
// pointer to the file when it is free-form.
func PackageLicenses(cache, pkg string) string {
	p := filepath.Join(PackageRoot(cache, pkg), "usr/share/doc", pkg, "copyright")
	b, err := os.ReadFile(p)
	if err != nil {
		return "no copyright file in the cache"
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "License:"); ok {
			if v = strings.TrimSpace(v); v != "" {
				seen[v] = true
			}
		}
	}
	if len(seen) == 0 {
		return "free-form: see /usr/share/doc/" + pkg + "/copyright"
	}
	return strings.Join(SortedKeys(seen), ", ")
}

// LicenseTable renders a Markdown table of PackageLicenses for the Debian
// packages a task uses.
func LicenseTable(cache, task string) string {
	pkgs, _ := Packages(task)
	var b strings.Builder
	b.WriteString("| package | licences named in its copyright file |\n|---|---|\n")
	for _, p := range pkgs {
		fmt.Fprintf(&b, "| %s | %s |\n", p.Name, strings.ReplaceAll(PackageLicenses(cache, p.Name), "|", "/"))
	}
	return b.String()
}
