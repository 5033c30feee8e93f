package family

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tramlab/tram/checkpoint"
	dataxling "github.com/tramlab/tram/data/xling"
	"github.com/tramlab/tram/eval"
	"github.com/tramlab/tram/models/bert"
	"github.com/tramlab/tram/tokenizer"
	"github.com/tramlab/tram/train"
)

// xlValid is the default size of the xling validation (dev) set.
const xlValid = 1000

// XlingTask describes one of the two xling tasks.
type XlingTask struct {
	Name   string // gettext or mansec
	Sub    string // directory under DATA
	Labels []string
	Langs  []string // test languages, English first
}

// XlingTasks are GetText-X and ManSec-X.
var XlingTasks = map[string]XlingTask{
	"gettext": {"gettext", "xling", dataxling.Classes, append([]string{"en"}, dataxling.TestLangs...)},
	"mansec":  {"mansec", "xling/mansec", dataxling.ManSecClasses, append([]string{"en"}, dataxling.ManSecLangs...)},
}

func xlingTask(name string) (XlingTask, error) {
	if name == "" {
		name = "gettext"
	}
	t, ok := XlingTasks[name]
	if !ok {
		return t, fmt.Errorf("unknown xling task %q; valid: gettext, mansec", name)
	}
	return t, nil
}

// EncodeTexts loads an xling split and encodes it for a model of context T.
func EncodeTexts(dd, split string, tok tokenizer.Tokenizer, labels []string, T int) (*train.Texts, error) {
	ex, err := dataxling.Load(dd, split)
	if err != nil {
		return nil, err
	}
	pad, _ := tok.TokenID("[PAD]")
	sep, _ := tok.TokenID("[SEP]")
	index := map[string]int32{}
	for i, l := range labels {
		index[l] = int32(i)
	}
	s := &train.Texts{T: T, Pad: pad}
	for i, e := range ex {
		y, ok := index[e.Label]
		if !ok {
			return nil, fmt.Errorf("%s line %d: label %q is not one of the head's %v", filepath.Join(dd, split+".jsonl"), i+1, e.Label, labels)
		}
		enc := tok.EncodeSingle(e.Text)
		ids := enc.IDs
		if len(ids) > T {
			ids = append(ids[:T-1:T-1], sep)
		}
		s.IDs = append(s.IDs, ids)
		s.Labels = append(s.Labels, y)
	}
	return s, nil
}

// xlingHead names the parameters a fresh classification head consists of:
// the classifier, and the pooler unless the checkpoint has one.
func xlingHead(dir string) (func(string) bool, error) {
	sf, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	hasPooler := false
	for _, n := range sf.Names() {
		if len(n) >= 7 && (n[:7] == "pooler." || (len(n) > 12 && n[:12] == "bert.pooler.")) {
			hasPooler = true
		}
	}
	return func(n string) bool { return isClassifier(n) || !hasPooler && strings.HasPrefix(n, "pooler.") }, nil
}

// headPrefixes are the parameter names of an encoder's classification head
// (and of the pooler BERT's head reads).
var headPrefixes = []string{"classifier.", "pre_classifier.", "pooler."}

// isClassifier reports whether a parameter belongs to an encoder's
// classification head proper (not the pooler).
func isClassifier(n string) bool {
	return strings.HasPrefix(n, "classifier.") || strings.HasPrefix(n, "pre_classifier.")
}

func openXling(dir string, o Options) (*Setup, error) {
	xt, err := xlingTask(o.Task)
	if err != nil {
		return nil, err
	}
	if o.Domain != "" && o.Domain != "en" {
		return nil, fmt.Errorf("xling trains on English (--domain en or none); %q is a test language", o.Domain)
	}
	dd, err := dataDir(o.Data, xt.Sub)
	if err != nil {
		return nil, err
	}
	enc, err := openEncoder(dir, xt.Labels, o)
	if err != nil {
		return nil, err
	}
	s, m := enc.setup, enc.model
	s.Family, s.Domain = "xling", "en"
	tr, err := EncodeTexts(dd, "train", enc.tok, xt.Labels, enc.T)
	if err != nil {
		return nil, err
	}
	va, err := EncodeTexts(dd, "dev", enc.tok, xt.Labels, enc.T)
	if err != nil {
		return nil, err
	}
	if n := max(o.ValidMax, xlValid); va.N() > n {
		va = subsetTexts(va, n)
	}
	s.TrainSize = tr.N()
	task := train.NewTextClassTask(m, tr, o.Batch, o.Seed)
	task.Micro = o.Micro
	s.Task = task
	s.Validate = func() (float64, float64) {
		r := eval.Texts(m, va, 64)
		return r.Loss, r.Accuracy()
	}
	return s, nil
}

// encoder is a BERT-family classifier being set up for fine-tuning.
type encoder struct {
	model *bert.Model
	tok   tokenizer.Tokenizer
	// T is the longest text the model takes.
	T     int
	setup *Setup // Model, Labels, Dropout, Notices, HeadLo/HeadHi and Save set
}

// openEncoder loads the encoder in dir with a classification head for
// labels: a fresh one initialized from o.Seed (o.Head "new"), or the
// checkpoint's own when o.Head is "keep" and its labels are these.
func openEncoder(dir string, labels []string, o Options) (*encoder, error) {
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("%s: an encoder needs its tokenizer: %w", dir, err)
	}
	var cfg bert.Config
	if err := checkpoint.ReadConfig(dir, &cfg); err != nil {
		return nil, err
	}
	orig := cfg
	cfg.ID2Label, cfg.Label2ID = labelMaps(labels)
	cfg.SpectralHead = o.SpectralHead
	cfg.Architectures = []string{cfg.ClassificationArchitecture()}
	if o.Dropout != nil {
		cfg.HiddenDropout, cfg.AttnDropout = *o.Dropout, *o.Dropout
		cfg.ClassifierDropout = nil
	}
	m, err := bert.New(cfg, bert.Classification, o.Seed)
	if err != nil {
		return nil, err
	}
	fresh, err := xlingHead(dir)
	if err != nil {
		return nil, err
	}
	if o.Head == "keep" {
		if err := sameLabels(dir, orig.ID2Label, labels); err != nil {
			return nil, err
		}
		keepFresh := fresh
		fresh = func(n string) bool { return !isClassifier(n) && keepFresh(n) }
	}
	unused, err := transplant(dir, m, func(n string) []string {
		return []string{m.FileName(n), "bert." + n, "roberta." + n, "distilbert." + n, n}
	}, fresh)
	if err != nil {
		return nil, err
	}
	s := &Setup{Model: m, Labels: labels,
		Dropout: map[string]float64{"hidden_dropout_prob": cfg.HiddenDropout, "attention_probs_dropout_prob": cfg.AttnDropout}}
	if cfg.ClassifierDropout != nil {
		s.Dropout["classifier_dropout"] = *cfg.ClassifierDropout
	}
	if len(unused) > 0 {
		s.Notices = append(s.Notices, fmt.Sprintf("head: the pretrained head (%d tensors) was dropped; a new %d-way classification head is initialized from seed %d", len(unused), len(labels), o.Seed))
	}
	if cfg.HiddenDropout > 0 || cfg.AttnDropout > 0 {
		s.Notices = append(s.Notices, fmt.Sprintf("dropout on (hidden %.2g, attention %.2g): d_t measures dropout noise too", cfg.HiddenDropout, cfg.AttnDropout))
	}
	s.HeadLo, s.HeadHi = headRange(m.Params(), headPrefixes...)
	tokPath := filepath.Join(dir, "tokenizer.json")
	s.Save = func(out string, meta map[string]string) error {
		// config.json keeps the pretrained model's dropout.
		tuned := m.Config
		m.Config.HiddenDropout, m.Config.AttnDropout, m.Config.ClassifierDropout = orig.HiddenDropout, orig.AttnDropout, orig.ClassifierDropout
		defer func() { m.Config = tuned }()
		m.Metadata = meta
		if err := m.Save(out); err != nil {
			return err
		}
		return copyFile(tokPath, filepath.Join(out, "tokenizer.json"))
	}
	return &encoder{model: m, tok: tok, T: maxTextLen(cfg), setup: s}, nil
}

// maxTextLen is the longest text, in tokens, an encoder takes.
func maxTextLen(cfg bert.Config) int {
	if cfg.IsRoBERTa() {
		return cfg.MaxPositions - (cfg.PadTokenID + 1)
	}
	return cfg.MaxPositions
}

// subsetTexts keeps n texts spread evenly over s (every class stays
// represented when s is grouped by class).
func subsetTexts(s *train.Texts, n int) *train.Texts {
	out := &train.Texts{T: s.T, Pad: s.Pad}
	for k := 0; k < n; k++ {
		i := k * s.N() / n
		out.IDs = append(out.IDs, s.IDs[i])
		out.Labels = append(out.Labels, s.Labels[i])
	}
	return out
}
