package family

// This file measures and applies models on the user's own files: the
// test sets of `tram eval --test NAME=PATH` and the inputs of `tram
// predict`.

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/data/userdata"
	"github.com/tramlab/tram/eval"
	"github.com/tramlab/tram/models/bert"
	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/models/vision"
	"github.com/tramlab/tram/models/vit"
	"github.com/tramlab/tram/tokenizer"
	"github.com/tramlab/tram/train"
)

// modelLabels returns a classifier's label names: its id2label in id
// order, or the ids themselves when it names none.
func modelLabels(id2label map[string]string, n int) []string {
	if l := LabelList(id2label); len(l) == n {
		return l
	}
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

// loadImageClassifier loads the image classifier in dir and its labels.
func loadImageClassifier(dir string) (vision.Model, []string, error) {
	var cfg struct {
		ModelType string            `json:"model_type"`
		ID2Label  map[string]string `json:"id2label"`
	}
	if err := checkpoint.ReadConfig(dir, &cfg); err != nil {
		return nil, nil, err
	}
	var m vision.Model
	var err error
	if cfg.ModelType == "vit" {
		m, err = vit.Load(dir)
	} else {
		m, err = vision.Load(dir)
	}
	if err != nil {
		return nil, nil, err
	}
	return m, modelLabels(cfg.ID2Label, m.NumClasses()), nil
}

// loadTextClassifier loads the encoder classifier in dir, its tokenizer
// and its labels.
func loadTextClassifier(dir string) (*bert.Model, tokenizer.Tokenizer, []string, error) {
	sf, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, nil, nil, err
	}
	head := false
	for _, n := range sf.Names() {
		head = head || strings.HasPrefix(n, "classifier.")
	}
	sf.Close()
	if !head {
		return nil, nil, nil, fmt.Errorf("%s has no classification head (no classifier.* tensors: a pretrained encoder): fine-tune it first, e.g. tram finetune --model %s --train FILE …", dir, dir)
	}
	m, err := bert.Load(dir, bert.Classification)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w (is %s a fine-tuned classifier? fine-tune it first with tram finetune)", err, dir)
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: an encoder needs its tokenizer: %w", dir, err)
	}
	return m, tok, modelLabels(m.Config.ID2Label, m.Config.NumLabels()), nil
}

// evalUser measures the model in dir on the user's test sets (o.Tests).
func evalUser(dir, fam string, o EvalOptions, r *Report) error {
	r.Split = "user"
	switch fam {
	case "vision":
		m, labels, err := loadImageClassifier(dir)
		if err != nil {
			return err
		}
		var ref vision.Model
		if o.CKARef != "" {
			if ref, err = loadVisionBody(o.CKARef); err != nil {
				return err
			}
		}
		pre, err := imagePreprocess(dir)
		if err != nil {
			return err
		}
		for _, t := range o.Tests {
			set, err := LoadImageFolder(t.Path, labels, pre)
			if err != nil {
				return err
			}
			r.Domains = append(r.Domains, scoreImages(t.Name, m, ref, set, o))
		}
	case "lm":
		m, tok, err := loadLM(dir)
		if err != nil {
			return err
		}
		var ref *gpt2.Model
		if o.CKARef != "" {
			if ref, err = gpt2.Load(o.CKARef); err != nil {
				return err
			}
		}
		for _, t := range o.Tests {
			docs, err := userdata.ReadDocuments(t.Path, o.Columns.Text)
			if err != nil {
				return err
			}
			res, err := scoreLM(t.Name, m, ref, tok, docs, o)
			if err != nil {
				return fmt.Errorf("%s: %w", t.Path, err)
			}
			r.Domains = append(r.Domains, res)
		}
	default:
		m, tok, labels, err := loadTextClassifier(dir)
		if err != nil {
			return err
		}
		var ref *bert.Model
		if o.CKARef != "" {
			if ref, err = loadEncoder(o.CKARef); err != nil {
				return err
			}
		}
		for _, t := range o.Tests {
			ex, y, err := readLabelledTexts(t.Path, o.Columns, labels)
			if err != nil {
				return err
			}
			set := EncodeExamples(tok, ex, y, o.Columns.Pair != "", maxTextLen(m.Config), int32(m.Config.PadTokenID))
			r.Domains = append(r.Domains, scoreTexts(t.Name, m, ref, set, o))
		}
	}
	return nil
}

// PredictOptions configure Predict.
type PredictOptions struct {
	// Columns name the text fields of labelled-text input (a label column
	// is not needed) and the text field of a language model's JSONL.
	Columns userdata.Columns
	// Batch is the number of examples per forward (0: 64).
	Batch int
}

// Prediction is one line of Predict's output.
type Prediction struct {
	// Path is the image's path (image input).
	Path string `json:"path,omitempty"`
	// Label is the predicted class's id2label name; Probabilities and
	// Logits are in id order (classifiers).
	Label         string    `json:"label,omitempty"`
	Probabilities []float64 `json:"probabilities,omitempty"`
	Logits        []float32 `json:"logits,omitempty"`
	// Tokens, NLL and Perplexity score a document (language models):
	// the predicted tokens, their mean negative log-likelihood in nats,
	// and exp(NLL). A document of fewer than two tokens has no score.
	Tokens     *int     `json:"tokens,omitempty"`
	NLL        *float64 `json:"nll,omitempty"`
	Perplexity *float64 `json:"perplexity,omitempty"`
}

// Predict applies the model in dir to input and writes one JSON object
// (a Prediction) per example, in input order, to w: a classifier's label,
// probabilities and logits for each text of a .jsonl/.csv/.tsv file or
// each image of a file or folder (sorted path order); a language model's
// tokens and perplexity for each document of a .txt or .jsonl file.
func Predict(dir, input string, o PredictOptions, w io.Writer) error {
	fam, err := Detect(dir)
	if err != nil {
		return err
	}
	if o.Batch <= 0 {
		o.Batch = 64
	}
	enc := json.NewEncoder(w)
	switch fam {
	case "lm":
		m, tok, err := loadLM(dir)
		if err != nil {
			return err
		}
		docs, err := userdata.ReadDocuments(input, o.Columns.Text)
		if err != nil {
			return err
		}
		for i, d := range docs {
			p, err := eval.LMPerplexity(m, tok, []string{d}, o.Batch)
			if err != nil {
				return fmt.Errorf("%s: document %d: %w", input, i+1, err)
			}
			if err := enc.Encode(Prediction{Tokens: &p.Tokens, NLL: p.NLL, Perplexity: p.PPL}); err != nil {
				return err
			}
		}
		return nil
	case "vision":
		m, labels, err := loadImageClassifier(dir)
		if err != nil {
			return err
		}
		pre, err := imagePreprocess(dir)
		if err != nil {
			return err
		}
		files, err := userdata.ImageFiles(input)
		if err != nil {
			return err
		}
		for i := 0; i < len(files); i += o.Batch {
			part := files[i:min(i+o.Batch, len(files))]
			set := &train.Images{Channels: pre.Channels, Size: pre.Size, Y: make([]int32, len(part))}
			for _, f := range part {
				if set.X, err = pre.Load(set.X, f); err != nil {
					return err
				}
			}
			c := eval.Images(m, set, o.Batch)
			for j, f := range part {
				p := classPrediction(c, j, labels)
				p.Path = f
				if err := enc.Encode(p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	m, tok, labels, err := loadTextClassifier(dir)
	if err != nil {
		return err
	}
	ex, err := userdata.ReadTexts(input, o.Columns, false)
	if err != nil {
		return err
	}
	set := EncodeExamples(tok, ex, nil, o.Columns.Pair != "", maxTextLen(m.Config), int32(m.Config.PadTokenID))
	c := eval.Texts(m, set, o.Batch)
	for j := range ex {
		if err := enc.Encode(classPrediction(c, j, labels)); err != nil {
			return err
		}
	}
	return nil
}

// classPrediction returns example j's prediction: the label of its
// largest logit, its softmax probabilities and its logits.
func classPrediction(c eval.Classification, j int, labels []string) Prediction {
	row := c.Logits[j*c.Classes : (j+1)*c.Classes]
	best, top := 0, math.Inf(-1)
	for k, v := range row {
		if float64(v) > top {
			best, top = k, float64(v)
		}
	}
	probs := make([]float64, len(row))
	var sum float64
	for k, v := range row {
		probs[k] = math.Exp(float64(v) - top)
		sum += probs[k]
	}
	for k := range probs {
		probs[k] /= sum
	}
	return Prediction{Label: labels[best], Probabilities: probs, Logits: append([]float32(nil), row...)}
}
