package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/tramlab/tram/bench"
	"github.com/tramlab/tram/internal/gemm"
	"github.com/tramlab/tram/internal/parallel"
)

func init() {
	register(&command{name: "bench", summary: "time training steps of the reference workloads (compare with PyTorch's anchor)", run: runBench})
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "[--json] [--only mlp,gpt,cnn,bert] [--methods sgd,adamw] [--seconds S] [--threads N]",
		"Times one training step of each workload × method on the shapes of the PyTorch anchor\n"+
			"(scripts/torch_anchor.py): two warm-up steps, then steps until --seconds elapse\n"+
			"(at least three). Run the anchor with the same --threads to compare.\n\n"+
			"Workloads: mlp (784-512-512-10 ReLU MLP, batch 256); gpt (the anchor's GPT-2-layout decoder:\n"+
			"vocab 4096, d_model 256, 4 layers, 4 heads, context 128, batch 16); gpt2 (the same shapes through\n"+
			"models/gpt2); cnn (models/vision's tram-resnet, widths 32, 64, 128, on 128 gray 28×28 images,\n"+
			"batch norm on batch statistics); bert (models/bert with a classification head: post-LN encoder,\n"+
			"vocab 8192, hidden 256, 4 layers, 4 heads, intermediate 1024, erf-GELU, 32 sequences of 64\n"+
			"tokens, tanh pooler, 8 labels, no dropout). Methods: sgd (lr 1e-2) and adamw (lr 1e-3, weight decay 1e-2) run one plain step;\n"+
			"every other method runs sharp's step with its defaults and AdamW as the base; \"tram\" is\n"+
			"the anchor's name for tram-x.", stderr)
	asJSON := fs.Bool("json", false, "print one JSON object per (workload, method) on stdout and nothing else: workload, method,\n"+
		"ms_per_step, steps, threads, backend, allocs_per_step and bytes_per_step (heap allocations per\n"+
		"timed step, after the warm-up), loss (of the last step),\n"+
		"forward_passes and backward_passes (the method's cost per step)")
	only := fs.String("only", "mlp,gpt", "comma-separated workloads: "+strings.Join(bench.Workloads, ", "))
	methods := fs.String("methods", "sgd,adamw", "comma-separated methods: "+strings.Join(bench.Methods, ", "))
	seconds := fs.Float64("seconds", 5, "time budget per (workload, method), in seconds")
	threads := fs.Int("threads", 2, "worker threads for the kernels (TRAM_THREADS sets the default elsewhere)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed steps (after the warm-up; not the model's construction) to\nthis file, or, for several runs, to FILE-WORKLOAD-METHOD each (inspect with go tool pprof)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ws, ms := splitList(*only), splitList(*methods)
	for _, w := range ws {
		if !slices.Contains(bench.Workloads, w) {
			return fmt.Errorf("unknown workload %q; valid workloads: %s", w, strings.Join(bench.Workloads, ", "))
		}
	}
	for _, m := range ms {
		if !slices.Contains(bench.Methods, m) {
			return fmt.Errorf("unknown method %q; valid methods: %s", m, strings.Join(bench.Methods, ", "))
		}
	}
	if *threads < 1 || *seconds <= 0 {
		return fmt.Errorf("--threads must be ≥ 1 and --seconds > 0 (got %d and %v)", *threads, *seconds)
	}
	parallel.SetThreads(*threads)
	if err := gemm.InitError(); err != nil {
		fmt.Fprintf(stderr, "tram bench: %v; using the %s backend\n", err, gemm.Backend())
	}
	for _, w := range ws {
		for _, m := range ms {
			r, err := bench.New(w, m)
			if err != nil {
				return err
			}
			var timed func(bool)
			var profErr error
			if *cpuprofile != "" {
				path := *cpuprofile
				if len(ws)*len(ms) > 1 {
					path += "-" + w + "-" + m // one profile per run; go tool pprof merges several
				}
				var f *os.File
				timed = func(start bool) {
					if !start {
						pprof.StopCPUProfile()
						if err := f.Close(); profErr == nil {
							profErr = err
						}
						return
					}
					if f, profErr = os.Create(path); profErr == nil {
						profErr = pprof.StartCPUProfile(f)
					}
				}
			}
			res, err := r.TimeAround(time.Duration(*seconds*float64(time.Second)), timed)
			if err == nil {
				err = profErr
			}
			if err != nil {
				return err
			}
			res.Threads = *threads
			res.Backend = gemm.Backend()
			if *asJSON {
				b, _ := json.Marshal(res)
				fmt.Fprintln(stdout, string(b))
			} else {
				fmt.Fprintf(stdout, "%-4s %-11s %9.2f ms/step  %4d steps  %dF/%dB passes  %d threads  backend %-8s  %.0f allocs/step\n",
					w, m, res.MsPerStep, res.Steps, res.ForwardPasses, res.BackwardPasses, res.Threads, res.Backend, res.AllocsPerStep)
			}
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
