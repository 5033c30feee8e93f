package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/data/debpkg"
	"github.com/tramlab/tram/data/lm"
	"github.com/tramlab/tram/data/userdata"
	"github.com/tramlab/tram/data/vision"
	"github.com/tramlab/tram/data/xling"
)

// builders maps a task name to its builder.
var builders = map[string]func(data.BuildOptions) (*data.Manifest, error){
	data.TaskVision: vision.Build,
	data.TaskLM:     lm.Build,
	data.TaskXling:  xling.Build,
}

func init() {
	register(&command{
		name:    "data",
		summary: "fetch Debian packages and build the offline datasets, or write the download-free demo data (fetch|build|demo)",
		run:     runData,
	})
}

const dataTasksHelp = `Tasks:
  vision  DigitShift: 62-class print-glyph pretraining set and 10-digit style domains (28×28 uint8)
  lm      LM-Register: 8 English text domains (JSONL) and a general-English pretraining corpus
  xling   GetText-X: software-family classification of gettext messages, English train,
          test in de fr es it ru sv zh_CN, and a multilingual pretraining corpus`

func runData(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help" {
		fmt.Fprintf(stderr, `Usage: tram data fetch [flags]
       tram data build TASK... [flags]
       tram data demo [--out DIR]

fetch downloads the Debian packages the tasks need (apt-get download, without
dependencies or maintainer scripts), extracts each with dpkg-deb -x into the
cache and records package, version and sha256 in CACHE/manifest.json. It is
idempotent: cached packages are not downloaded again.

build writes each task's splits, manifest.json, SUMMARY.txt and data card
CARD.md into OUT/TASK, deterministically. It fails when the sources drifted
far from the recorded counts.

demo writes OUT/vision, small digit domains rendered from the Go fonts compiled
into tram, with nothing to download: the data of "make demo". Use it as --data
OUT with the vision family.

%s

Run "tram data fetch --help", "tram data build --help" or "tram data demo --help"
for the flags.
`, dataTasksHelp)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "fetch":
		return runDataFetch(args[1:], stdout, stderr)
	case "build":
		return runDataBuild(args[1:], stdout, stderr)
	case "demo":
		return runDataDemo(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "tram data: unknown subcommand %q (want fetch, build or demo)\n", args[0])
	return errUsage
}

func runDataFetch(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("data fetch", "[--only vision|lm|xling] [--cache DIR]",
		"Download the Debian packages the datasets need into the cache (apt-get download\n+ dpkg-deb -x, no dependencies, no maintainer scripts) and record them in\nCACHE/manifest.json. Packages already in the cache are skipped.\n\n"+dataTasksHelp, stderr)
	only := fs.String("only", "", "fetch only the packages of this `task` (vision, lm or xling; comma-separated list allowed); default all")
	cache := fs.String("cache", data.DefaultCacheDir(), "package cache `DIR`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	tasks, err := parseTasks(*only, true)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var pkgs []data.Package
	for _, t := range tasks {
		ps, _ := data.Packages(t)
		for _, p := range ps {
			if !seen[p.Name] {
				seen[p.Name] = true
				pkgs = append(pkgs, p)
			}
		}
	}
	start := time.Now()
	res, err := debpkg.Fetch(pkgs, debpkg.Options{Cache: *cache, Progress: stderr})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "fetched %d, cached %d, missing optional %d packages into %s in %.1fs\n",
		len(res.Fetched), len(res.Cached), len(res.Missing), *cache, time.Since(start).Seconds())
	return nil
}

func runDataBuild(args []string, stdout, stderr io.Writer) error {
	// Task names come first: "tram data build vision lm --out DIR".
	var taskArgs []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		taskArgs = append(taskArgs, args[0])
		args = args[1:]
	}
	fs := newFlagSet("data build", "vision|lm|xling|all... [--cache DIR] [--out DIR] [--sysroot DIR] [--allow-drift]",
		"Build the named tasks (or all) from the package cache and the base image into\nOUT/TASK: the splits, manifest.json (sources, counts, sha256 of every file),\nSUMMARY.txt and the data card CARD.md. Output is deterministic.\n\n"+dataTasksHelp, stderr)
	cache := fs.String("cache", data.DefaultCacheDir(), "package cache `DIR` filled by \"tram data fetch\"")
	out := fs.String("out", data.DefaultOutDir(), "output `DIR`; each task is written to DIR/TASK (replacing what was there)")
	sysroot := fs.String("sysroot", "/", "root `DIR` of the base image whose .mo catalogues, man pages and licences are read")
	allowDrift := fs.Bool("allow-drift", false, "warn instead of failing when counts drifted far from the recorded ones")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(taskArgs) == 0 {
		fmt.Fprintln(stderr, "tram data build: name a task: vision, lm, xling or all")
		fs.Usage()
		return errUsage
	}
	tasks, err := parseTasks(strings.Join(taskArgs, ","), false)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tasks {
		start := time.Now()
		dir := filepath.Join(*out, t)
		fmt.Fprintf(stderr, "build %s: writing %s\n", t, dir)
		m, err := builders[t](data.BuildOptions{
			Cache: *cache, Out: dir, Sysroot: *sysroot, AllowDrift: *allowDrift,
			Progress: prefixWriter{stderr, "build " + t + ": "},
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("build %s: %w", t, err))
			continue
		}
		var bytes int64
		for _, f := range m.Files {
			bytes += f.Bytes
		}
		fmt.Fprintf(stdout, "%s: %d files, %.1f MB in %s (%.1fs)\n", t, len(m.Files), float64(bytes)/1e6, dir, time.Since(start).Seconds())
	}
	return errors.Join(errs...)
}

// defaultDemoDir is where "tram data demo" writes by default: demo beside
// the built tasks (for example ~/.cache/tram/demo).
func defaultDemoDir() string { return filepath.Join(filepath.Dir(data.DefaultOutDir()), "demo") }

func runDataDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("data demo", "[--out DIR]",
		"Write the demo data into OUT/vision in the layout of \"tram data build vision\", from the\n"+
			"Go fonts compiled into tram (golang.org/x/image/font/gofont): nothing is downloaded and\n"+
			"no system file is read, and the bytes are the same on every run. Its digit domains\n"+
			"are the Go faces' digits under one distortion each:\n"+
			vision.DemoDomainsHelp()+"\n"+
			"Fine-tune on "+vision.DemoTrainDomain+" and evaluate on all of them with the committed pretrained\n"+
			"model, for example:\n"+
			"  tram data demo --out DIR\n"+
			"  tram finetune --config recipes/vision.yaml --model pretrained/vision --data DIR \\\n"+
			"      --domain "+vision.DemoTrainDomain+" --method sgd --steps 60 --out RUN\n"+
			"  tram eval --model RUN --data DIR        (or --model pretrained/vision: zero-shot)", stderr)
	out := fs.String("out", defaultDemoDir(), "output `DIR`; the data is written to DIR/vision (replacing what was there);\npass DIR as --data to tram finetune and tram eval")
	folders := fs.Bool("folders", false, "also write every set as an image folder, DIR/folders/<domain>-<split>/<digit>/NNNNN.png (the\n"+
		"layout of your own image data: tram finetune --train DIR/folders/"+vision.DemoTrainDomain+"-train …; docs/DATA-YOURS.md)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	start := time.Now()
	dir := filepath.Join(*out, data.TaskVision)
	fmt.Fprintf(stderr, "demo: writing %s\n", dir)
	m, err := vision.BuildDemo(data.BuildOptions{Out: dir, Progress: prefixWriter{stderr, "demo: "}})
	if err != nil {
		return fmt.Errorf("data demo: %w", err)
	}
	if *folders {
		if err := demoFolders(dir, filepath.Join(*out, "folders")); err != nil {
			return fmt.Errorf("data demo --folders: %w", err)
		}
		fmt.Fprintf(stderr, "demo: image folders in %s\n", filepath.Join(*out, "folders"))
	}
	var bytes int64
	for _, f := range m.Files {
		bytes += f.Bytes
	}
	fmt.Fprintf(stdout, "demo: %d digit domains (%s), %d files, %.1f MB in %s (%.1fs); use --data %s, train domain %s\n",
		len(vision.DemoDomains), strings.Join(vision.DemoDomains, ", "), len(m.Files), float64(bytes)/1e6, dir,
		time.Since(start).Seconds(), *out, vision.DemoTrainDomain)
	return nil
}

// parseTasks splits a comma-separated task list; empty (when allowed) or
// "all" means every task.
func parseTasks(s string, emptyAll bool) ([]string, error) {
	if s == "all" || (s == "" && emptyAll) {
		return data.Tasks, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if t == "all" {
			return data.Tasks, nil
		}
		if _, ok := builders[t]; !ok {
			return nil, fmt.Errorf("unknown task %q (valid: %s, all)", t, strings.Join(data.Tasks, ", "))
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// prefixWriter prefixes every write (one progress line) with a tag.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, p.prefix+string(b)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// demoFolders writes every digit set of the built demo data in dd as an
// image folder under out (replacing out).
func demoFolders(dd, out string) error {
	idx, err := vision.ReadIndex(dd)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	for _, si := range idx.Sets {
		name, ok := strings.CutPrefix(si.Name, "digits-")
		if !ok {
			continue
		}
		set, err := vision.Load(dd, si.Name)
		if err != nil {
			return err
		}
		images := make([][]uint8, len(set.Labels))
		labels := make([]string, len(set.Labels))
		for i, l := range set.Labels {
			images[i], labels[i] = set.Image(i), strconv.Itoa(int(l))
		}
		if err := userdata.WriteImageFolder(filepath.Join(out, name), images, labels, vision.Size); err != nil {
			return err
		}
	}
	return nil
}
