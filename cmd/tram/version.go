package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/tramlab/tram/internal/buildinfo"
	"github.com/tramlab/tram/internal/gemm"
	"github.com/tramlab/tram/internal/parallel"
)

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
		buildinfo.Version, buildinfo.Commit(), runtime.Version(), runtime.GOOS, runtime.GOARCH, gemm.Backend(), parallel.Threads())
	return nil
}
