package main

import (
	"errors"
	"io"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/data/userdata"
	"github.com/tramlab/tram/family"
)

func init() {
	register(&command{name: "predict", summary: "a model's predictions on your texts, images or documents (JSON Lines)", run: runPredict})
}

func runPredict(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("predict", "--model DIR --input FILE|DIR [--out FILE] [flags]",
		"Applies a model to your data and writes one JSON object per example, in input order\n"+
			"(docs/DATA-YOURS.md):\n"+
			"  a text classifier (BERT, RoBERTa, XLM-R, DistilBERT): each text of a .jsonl, .csv or .tsv file\n"+
			"      (--text-column, and --text-pair-column for pairs; a label column is not needed):\n"+
			"      {\"label\", \"probabilities\", \"logits\"}, the label its id2label name, the others in id order\n"+
			"  an image classifier (tram-resnet, ViT): an image, or every .png/.jpg under a folder in sorted\n"+
			"      path order: {\"path\", \"label\", \"probabilities\", \"logits\"}; images are resized and\n"+
			"      normalized as the model's preprocessor_config.json says\n"+
			"  a language model (GPT-2): each document of a .txt file (one per line) or .jsonl file:\n"+
			"      {\"tokens\", \"nll\", \"perplexity\"}, windowed as `tram score` does\n"+
			"The model runs in evaluation mode (no dropout). Bad input is an error naming the file and line\n"+
			"(or image) before anything is written.", stderr)
	model := fs.String("model", "", "model `DIR` (required)")
	input := fs.String("input", "", "input `FILE` or image folder (required)")
	out := fs.String("out", "", "write to this `FILE` (atomically) instead of standard output")
	batch := fs.Int("batch-size", 64, "examples per forward pass (≥ 1)")
	var cols userdata.Columns
	cols.DefineFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *model == "":
		return errors.New("missing required flag --model")
	case *input == "":
		return errors.New("missing required flag --input")
	case *batch < 1:
		return errors.New("--batch-size must be ≥ 1")
	}
	o := family.PredictOptions{Columns: cols, Batch: *batch}
	if *out == "" {
		return family.Predict(*model, *input, o, stdout)
	}
	return checkpoint.WriteAtomic(*out, func(w io.Writer) error { return family.Predict(*model, *input, o, w) })
}
