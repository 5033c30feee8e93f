package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/data/userdata"
	"github.com/tramlab/tram/eval"
	"github.com/tramlab/tram/family"
)

func init() {
	register(&command{name: "eval", summary: "evaluate a model on every domain of its family (accuracy or perplexity, ε-sharpness, CKA)", run: runEval})
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", "--model DIR [--data DIR] [--domains a,b|all] [--split test] [--test NAME=PATH]… [--json FILE] [flags]",
		"Measures a model on every domain of its family in one run and prints one JSON object with\n"+
			"per-domain metrics (to --json FILE, or stdout):\n"+
			"  vision  each digit domain: accuracy with its 95% Wilson interval, and loss\n"+
			"  lm      each LM-Register domain: token-level perplexity, each record of the split one document,\n"+
			"          windowed exactly as `tram score` does\n"+
			"  xling   each language of GetText-X (or ManSec-X with --task mansec): accuracy and interval\n"+
			"or, with --test NAME=PATH (repeatable), on your own test sets instead, each a domain: labelled\n"+
			"texts (.jsonl, .csv, .tsv) for an encoder, image folders for an image model, text for a GPT-2\n"+
			"model (docs/DATA-YOURS.md); labels must be ones the model's id2label knows.\n"+
			"The family comes from the model's config.json. --sharpness adds ε-sharpness (Keskar et al.):\n"+
			"the loss maximized over the box |z_i| ≤ ε(|θ_i|+1) by --sharp-steps of projected sign-gradient\n"+
			"ascent, ×100 relative to 1 + loss. --cka REF adds linear CKA between the representation before\n"+
			"the head of this model and of REF (the pretrained model), on the same examples.", stderr)
	model := fs.String("model", "", "model `DIR` to evaluate (required)")
	dataDir := fs.String("data", data.DefaultOutDir(), "`DIR` that `tram data build` wrote")
	doms := fs.String("domains", "all", "comma-separated domains (vision: digit domains; lm: LM-Register domains; xling: languages), or all")
	split := fs.String("split", "test", "split to score (lm also has valid)")
	task := fs.String("task", "gettext", "xling task: gettext (GetText-X) or mansec (ManSec-X)")
	jsonOut := fs.String("json", "", "write the JSON result to `FILE` (atomically) instead of stdout")
	maxEx := fs.Int("max-examples", -1, "cap each domain at this many examples (evenly spaced over the split, whose classes are\n"+
		"grouped, so they stay balanced; lm: documents in order); 0: all; -1: the family's default\n"+
		"(xling: 1000 per language, which scores all eight in about 30 s here; vision and lm: all)")
	maxTok := fs.Int("max-tokens", 24576, "lm: cap each domain at its first documents, in order, until their tokens reach this many\n(the document that crosses it included; 24576 scores all eight domains in under 30 s here); 0: all;\nwith --test the default is 0")
	sharpness := fs.Bool("sharpness", false, "also compute ε-sharpness per domain")
	eps := fs.Float64("sharp-eps", 1e-5, "ε of ε-sharpness (the paper's 1e-5)")
	steps := fs.Int("sharp-steps", 10, "projected-ascent steps of ε-sharpness")
	sharpN := fs.Int("sharp-examples", 256, "examples (lm: sequences) per domain for ε-sharpness")
	cka := fs.String("cka", "", "reference model `DIR` (the pretrained model) for linear CKA")
	ckaN := fs.Int("cka-examples", 512, "examples (lm: sequences) per domain for CKA")
	var tests userdata.NamedList
	fs.Var(&tests, "test", "your test set as `NAME=PATH` (repeatable), scored instead of the family's domains")
	var cols userdata.Columns
	cols.DefineFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *model == "":
		return errors.New("missing required flag --model")
	case *maxEx < -1:
		return fmt.Errorf("--max-examples %d: must be ≥ 0 (or -1 for the family's default)", *maxEx)
	case *maxTok < 0:
		return fmt.Errorf("--max-tokens %d: must be ≥ 0", *maxTok)
	case *eps < 0:
		return fmt.Errorf("--sharp-eps %g: must be ≥ 0", *eps)
	case *steps < 1:
		return fmt.Errorf("--sharp-steps %d: must be ≥ 1", *steps)
	case *sharpN < 1 || *ckaN < 2:
		return fmt.Errorf("--sharp-examples must be ≥ 1 and --cka-examples ≥ 2")
	}
	maxTokSet := false
	fs.Visit(func(f *flag.Flag) { maxTokSet = maxTokSet || f.Name == "max-tokens" })
	if len(tests) > 0 && !maxTokSet {
		*maxTok = 0 // your test sets are scored whole unless asked otherwise
	}
	if len(tests) > 0 && (*doms != "all" || *split != "test") {
		return errors.New("--test scores your test sets: --domains and --split choose built-in domains")
	}
	if st, err := os.Stat(*dataDir); len(tests) == 0 && (err != nil || !st.IsDir()) {
		return fmt.Errorf("--data %s: no such directory (run `tram data fetch && tram data build`)", *dataDir)
	}
	if *maxEx == -1 {
		*maxEx = 0
		if fam, err := family.Detect(*model); err == nil && fam == "xling" && len(tests) == 0 {
			*maxEx = 1000
		}
	}
	var ds []string
	if *doms != "" && *doms != "all" {
		ds = strings.Split(*doms, ",")
	}
	rep, err := family.Evaluate(*model, family.EvalOptions{Data: *dataDir, Domains: ds, Split: *split, Task: *task,
		MaxExamples: *maxEx, MaxTokens: *maxTok, Sharpness: *sharpness,
		SharpOptions: eval.SharpnessOptions{Eps: *eps, Steps: *steps}, SharpExamples: *sharpN, CKARef: *cka, CKAExamples: *ckaN,
		Tests: tests, Columns: cols})
	if err != nil {
		return err
	}
	if *jsonOut != "" {
		if err := checkpoint.WriteJSON(*jsonOut, rep); err != nil {
			return err
		}
		printEvalTable(stderr, rep)
		return nil
	}
	b, _ := json.Marshal(rep)
	fmt.Fprintln(stdout, string(b))
	printEvalTable(stderr, rep)
	return nil
}

// printEvalTable writes a human-readable summary of a report.
func printEvalTable(w io.Writer, r *family.Report) {
	fmt.Fprintf(w, "%s (%s, %s split, %.1fs)\n", r.Model, r.Family, r.Split, r.Seconds)
	for _, d := range r.Domains {
		fmt.Fprintf(w, "  %-12s", d.Domain)
		if d.Accuracy != nil {
			fmt.Fprintf(w, " accuracy %6.2f%% [%5.2f, %5.2f]  n=%d", 100**d.Accuracy, 100*d.AccuracyCI[0], 100*d.AccuracyCI[1], d.Examples)
		}
		if d.Perplexity != nil {
			fmt.Fprintf(w, " perplexity %9.3f  %d docs, %d tokens", *d.Perplexity, d.Documents, d.Tokens)
		}
		if d.Sharpness != nil {
			fmt.Fprintf(w, "  ε-sharpness %.4g", *d.Sharpness)
		}
		if d.CKA != nil {
			fmt.Fprintf(w, "  CKA %.4f", *d.CKA)
		}
		fmt.Fprintln(w)
	}
}
