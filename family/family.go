// Package family binds each of tram's three experiment families to its
// model kind and its data:
//
//	vision  a tram-resnet image classifier on DigitShift's digit domains
//	lm      a GPT-2 language model on LM-Register's text domains
//	xling   a BERT-family encoder on GetText-X (or ManSec-X) languages
//
// Open prepares a pretrained model directory for fine-tuning on one domain
// (a fresh classification head sized to the task's labels where the family
// classifies), with the stream of training batches and the training
// domain's validation set; Evaluate measures a model on every domain of its
// family. The family of a model directory is read from its config.json.
package family

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/train"
)

// Names lists the families.
var Names = []string{"vision", "lm", "xling"}

// Detect returns the family of a model directory from its config.json's
// model_type.
func Detect(dir string) (string, error) {
	var c struct {
		ModelType string `json:"model_type"`
	}
	if err := checkpoint.ReadConfig(dir, &c); err != nil {
		return "", err
	}
	switch c.ModelType {
	case "tram-resnet", "tram-mlp", "vit":
		return "vision", nil
	case "gpt2":
		return "lm", nil
	case "bert", "roberta", "xlm-roberta", "distilbert":
		return "xling", nil
	}
	return "", fmt.Errorf("%s: model_type %q belongs to no family (vision: tram-resnet, tram-mlp, vit; lm: gpt2; xling: bert, roberta, xlm-roberta, distilbert)", dir, c.ModelType)
}

// Options describe a fine-tuning setup.
type Options struct {
	// Data is the directory `tram data build` wrote (holding vision/, lm/,
	// xling/); Domain the training domain (vision: a digit domain; lm: an
	// LM-Register domain; xling: ignored, training is on English).
	Data, Domain string
	// Task selects the xling task: "gettext" (GetText-X, default) or
	// "mansec" (ManSec-X).
	Task string
	// Batch and Micro: examples per step and micro-batches per step.
	Batch, Micro int
	// Seed fixes the data order, the new head's initialization and masks.
	Seed uint64
	// Head is "new" (default: a fresh head sized to the labels),
	// "keep" (the checkpoint's own head, whose id2label must be the data's
	// labels) or "pretrained-rows" (vision: keep the pretrained 62-way
	// head's rows of the ten digits).
	Head string
	// SpectralHead spectrally normalizes the new head (R4F).
	SpectralHead bool
	// Dropout, when non-nil, replaces every dropout probability of the
	// model's config; nil keeps the config's.
	Dropout *float64
	// ValidMax caps the validation set (examples, or sequences for lm;
	// 0: the family's default).
	ValidMax int
	// User, when set, replaces the family's built-in data (Data, Domain,
	// Task) with the user's own files.
	User *UserData
}

// Setup is a model ready to be fine-tuned on one domain.
type Setup struct {
	Family, Domain string
	Model          nn.Module
	Task           train.Stream
	// Head is the range [HeadLo, HeadHi) of the parameter arena that holds
	// the new classification head (empty for lm), for a head warm-up.
	HeadLo, HeadHi int
	// Validate measures the model on the training domain's validation
	// split: its loss, and accuracy for classifiers (NaN for lm).
	Validate func() (loss, acc float64)
	// Save writes the model (and tokenizer, for text) into dir, with the
	// given entries in model.safetensors' metadata.
	Save func(dir string, metadata map[string]string) error
	// Labels are the class names of a classification head.
	Labels []string
	// Dropout holds the dropout probabilities the model applies in
	// training, by config name.
	Dropout map[string]float64
	// Notices are one-line remarks for the user (a dropped head, dropout).
	Notices []string
	// TrainSize is the number of training examples (sequences for lm).
	TrainSize int
}

// Open loads the pretrained model in dir for fine-tuning as o describes.
func Open(dir string, o Options) (*Setup, error) {
	fam, err := Detect(dir)
	if err != nil {
		return nil, err
	}
	if o.Batch < 1 {
		return nil, fmt.Errorf("batch size %d: must be ≥ 1", o.Batch)
	}
	if o.Head == "" {
		o.Head = "new"
	}
	if o.Head != "new" && o.Head != "keep" && o.Head != "pretrained-rows" {
		return nil, fmt.Errorf("--head %q: valid: new, keep, pretrained-rows", o.Head)
	}
	if o.Head == "keep" && o.User == nil {
		return nil, fmt.Errorf("--head keep needs your own data (--train FILE): the built-in tasks' labels are not a pretrained head's")
	}
	if o.Head == "pretrained-rows" && fam != "vision" {
		return nil, fmt.Errorf("--head pretrained-rows needs a vision model (its 62-way glyph head holds digit rows); %s is a %s model", dir, fam)
	}
	if o.Dropout != nil && (*o.Dropout < 0 || *o.Dropout >= 1) {
		return nil, fmt.Errorf("--dropout %g: must lie in [0, 1)", *o.Dropout)
	}
	if o.User != nil {
		return openUser(dir, fam, o)
	}
	switch fam {
	case "vision":
		return openVision(dir, o)
	case "lm":
		return openLM(dir, o)
	default:
		return openXling(dir, o)
	}
}

// checkDomain returns an error naming the valid domains when d is not one.
func checkDomain(fam, d string, valid []string) error {
	if d == "" {
		return fmt.Errorf("missing --domain for a %s model; valid: %s", fam, strings.Join(valid, ", "))
	}
	if !slices.Contains(valid, d) {
		return fmt.Errorf("unknown %s domain %q; valid: %s", fam, d, strings.Join(valid, ", "))
	}
	return nil
}

// dataDir returns DATA/sub, or an error that says how to build it.
func dataDir(data, sub string) (string, error) {
	d := filepath.Join(data, sub)
	if st, err := os.Stat(filepath.Join(d, "manifest.json")); err != nil || st.IsDir() {
		return "", fmt.Errorf("--data %s: no built %s data in %s (run `tram data fetch && tram data build %s`)", data, sub, d, strings.Split(sub, "/")[0])
	}
	return d, nil
}

// transplant loads the tensors of dir/model.safetensors into m's parameters
// and buffers by name (names maps a parameter name to its file names),
// except those for which fresh returns true, which keep their
// initialization. It returns the file's tensors that were not used.
func transplant(dir string, m nn.Module, names func(string) []string, fresh func(string) bool) (unused []string, err error) {
	sf, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	var exp []checkpoint.Expected
	for _, set := range []*nn.Params{m.Params(), m.Buffers()} {
		for _, p := range set.List() {
			if fresh(p.Name()) {
				continue
			}
			exp = append(exp, checkpoint.Expected{Names: names(p.Name()), Shape: p.Shape(), Dst: p.Data})
		}
	}
	used := map[string]bool{}
	for _, e := range exp {
		for _, n := range e.Names {
			used[n] = true
		}
	}
	for _, n := range sf.Names() {
		if !used[n] {
			unused = append(unused, n)
		}
	}
	_, err = sf.LoadInto(exp, func(n string) bool { return !used[n] })
	return unused, err
}

// headRange returns the arena range covered by the parameters whose name
// has one of the prefixes (they must be contiguous).
func headRange(ps *nn.Params, prefixes ...string) (lo, hi int) {
	lo, hi = -1, -1
	for i, p := range ps.List() {
		for _, pre := range prefixes {
			if strings.HasPrefix(p.Name(), pre) {
				if lo < 0 {
					lo = ps.Offset(i)
				}
				hi = ps.Offset(i) + p.Len()
			}
		}
	}
	if lo < 0 {
		return 0, 0
	}
	return lo, hi
}
