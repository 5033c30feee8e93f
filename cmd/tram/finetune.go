package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tramlab/tram/finetune"
)

func init() {
	register(&command{name: "finetune", summary: "fine-tune a GPT-2-family model with TRAM or a baseline", run: runFinetune})
}

func runFinetune(args []string, stdout, stderr io.Writer) error {
	f, err := parseFinetune(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out, err := f.Execute(ctx, stderr)
	if err == nil && out.Eval != nil {
		printEvalTable(stderr, out.Eval) // the --test sets, also in OUTDIR/eval_results.json
	}
	return err
}

// parseFinetune parses the flags of tram finetune (and its --config
// recipe) into a finetune.Spec, with the test hooks applied.
func parseFinetune(args []string, stderr io.Writer) (*finetune.Spec, error) {
	fs := newFlagSet("finetune", "--model DIR --train FILE --out OUTDIR --method M --steps K --batch-size B --lr LR [flags]",
		finetune.Description(), stderr)
	f := finetune.DefineFlags(fs)
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprint(stderr, finetune.MethodDefaultsHelp())
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := f.Resolve(); err != nil {
		return nil, err
	}
	applyTestHooks(f)
	return f, nil
}

// applyTestHooks sets a Spec's test hooks from interruptAt and
// testHookWriteOutput.
func applyTestHooks(f *finetune.Spec) {
	if interruptAt > 0 {
		f.InterruptAfter = interruptAt
	}
	f.BeforeRename = testHookWriteOutput
}

// Test hooks, set by this package's tests: interruptAt, when > 0, simulates
// an interrupt after that step; testHookWriteOutput, when set, runs after
// OUTDIR's files are written into their temporary directory and before it
// is renamed into place, and its error fails the write.
var (
	interruptAt         = -1
	testHookWriteOutput func(tmp string) error
)
