package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/tramlab/tram/internal/gemm"
	"github.com/tramlab/tram/internal/parallel"
)

// version is tram's release version.
const version = "0.1.0-dev"

func init() {
	register(&command{name: "version", summary: "print tram's version, build and engine settings", run: runVersion})
}

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "", "Prints tram's version, the Go toolchain, the commit it was built from\n"+
		"(when known), the GEMM backend and the kernel thread count.", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tram %s (commit %s, %s %s/%s)\ngemm backend: %s, threads: %d\n",
		version, commit(), runtime.Version(), runtime.GOOS, runtime.GOARCH, gemm.Backend(), parallel.Threads())
	return nil
}

// commit returns the commit tram was built from ("+dirty" when the tree had
// uncommitted changes), or "unknown".
func commit() string {
	c, dirty := "unknown", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				c = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if dirty {
		c += "+dirty"
	}
	return c
}

// fullVersion is the version and the commit, as run records state them.
func fullVersion() string { return version + " (commit " + commit() + ")" }
