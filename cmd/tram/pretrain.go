package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/internal/buildinfo"
	"github.com/tramlab/tram/internal/progress"
	"github.com/tramlab/tram/pretrain"
)

func init() {
	register(&command{name: "pretrain", summary: "pretrain a family's foundation model (vision, lm, xling)", run: runPretrain})
}

func runPretrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("pretrain", "vision|lm|xling --out DIR [flags]",
		"Pretrains the small foundation model an experiment family starts from, on the data `tram data\n"+
			"build` made, and writes a Hugging Face-layout directory (config.json, model.safetensors,\n"+
			"tokenizer.json for text) with a CARD.md recording the data, command, version, steps, wall time,\n"+
			"threads and the final train and held-out metrics.\n\n"+
			"  vision  ResNet-style CNN on DigitShift's 62-class print glyphs (SGD, momentum 0.9)\n"+
			"  lm      GPT-2-layout decoder and byte-level BPE on general English (GCIDE + WordNet)\n"+
			"  xling   BERT/RoBERTa-layout multilingual encoder and WordPiece: masked-LM on the multilingual\n"+
			"          corpus plus translation-pair MLM (TLM) on GetText-X's train-split pairs\n\n"+
			"The run snapshots into OUT.partial every --save-every steps and on Ctrl-C/SIGTERM; rerunning\n"+
			"the same command resumes it, bit for bit at the same thread count (TRAM_THREADS). Nothing is\n"+
			"written to OUT until the run is complete; an existing OUT is then replaced.", stderr)
	out := fs.String("out", "", "output model `DIR` (required)")
	dataDir := fs.String("data", data.DefaultOutDir(), "`DIR` that `tram data build` wrote (holding vision/, lm/, xling/)")
	steps := fs.Int("steps", 0, "optimizer steps (default: the family's recipe)")
	batch := fs.Int("batch-size", 0, "examples per step (default: the family's recipe)")
	lr := fs.Float64("lr", 0, "peak learning rate (default: the family's recipe)")
	seed := fs.Uint64("seed", 1, "seed for initialization, data order, masking, dropout and augmentation")
	saveEvery := fs.Int("save-every", 200, "snapshot every N steps into OUT.partial (0: only when interrupted)")
	corpus := fs.String("corpus", "", "lm only: the pretraining text, dictionary (the default: GCIDE entries and WordNet glosses) or\nbroad (the dictionary interleaved with the training splits of all eight LM-Register domains,\nnever their validation or test documents)")
	family, err := parseFamilyFlags(fs, args, "tram pretrain vision|lm|xling --out DIR")
	if err != nil {
		return err
	}
	if !slices.Contains(pretrain.Families, family) {
		return fmt.Errorf("unknown family %q; valid: %s", family, strings.Join(pretrain.Families, ", "))
	}
	switch {
	case *out == "":
		return errors.New("missing required flag --out")
	case *steps < 0:
		return fmt.Errorf("--steps %d: must be ≥ 1 (or 0 for the recipe's)", *steps)
	case *batch < 0:
		return fmt.Errorf("--batch-size %d: must be ≥ 1 (or 0 for the recipe's)", *batch)
	case *lr < 0:
		return fmt.Errorf("--lr %g: must be > 0 (or 0 for the recipe's)", *lr)
	case *saveEvery < 0:
		return fmt.Errorf("--save-every %d: must be ≥ 0", *saveEvery)
	}
	if st, err := os.Stat(*dataDir); err != nil || !st.IsDir() {
		return fmt.Errorf("--data %s: no such directory (run `tram data fetch && tram data build %s`)", *dataDir, family)
	}
	if *corpus != "" && family != "lm" {
		return fmt.Errorf("--corpus: only the lm family has a choice of corpus")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bar := progress.New(stderr, "pretrain "+family, 0)
	o := pretrain.Options{Data: *dataDir, Out: *out, Steps: *steps, Batch: *batch, LR: *lr, Seed: *seed, Corpus: *corpus,
		SaveEvery: *saveEvery, Command: "tram pretrain " + strings.Join(args, " "), Version: buildinfo.Full(), Log: stderr}
	var lastLine time.Time
	o.Progress = func(done, total int, loss float64) {
		bar.Total = total
		note := fmt.Sprintf("loss %.4f", loss)
		if bar.Enabled {
			bar.Update(done, note)
		} else if time.Since(lastLine) > 30*time.Second || done == total {
			lastLine = time.Now()
			fmt.Fprintf(stderr, "pretrain %s: step %d/%d %s\n", family, done, total, note)
		}
	}
	res, err := pretrain.Run(ctx, family, o)
	bar.Done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: held-out loss %.4f", *out, res.ValidLoss)
	if res.ValidPPL > 0 {
		fmt.Fprintf(stdout, " (perplexity %.2f)", res.ValidPPL)
	}
	if res.ValidAcc > 0 {
		fmt.Fprintf(stdout, ", accuracy %.2f%%", 100*res.ValidAcc)
	}
	fmt.Fprintln(stdout)
	return nil
}
