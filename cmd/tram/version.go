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
	commit := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	fmt.Fprintf(stdout, "tram %s (commit %s, %s %s/%s)\ngemm backend: %s, threads: %d\n",
		version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, gemm.Backend(), parallel.Threads())
	return nil
}
