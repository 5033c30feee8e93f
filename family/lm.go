package family

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/tramlab/tram/checkpoint"
	datalm "github.com/tramlab/tram/data/lm"
	"github.com/tramlab/tram/eval"
	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/tokenizer"
	"github.com/tramlab/tram/train"
)

// lmValidSeqs is the default size of an lm validation set, in sequences.
const lmValidSeqs = 192

// EOT is the document separator of tram's GPT-2 tokenizers.
const EOT = "<|endoftext|>"

// LMTexts returns the texts of an LM-Register split.
func LMTexts(dd, domain, split string) ([]string, error) {
	docs, err := datalm.Load(dd, domain, split)
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(docs))
	for i, d := range docs {
		texts[i] = d.Text
	}
	return texts, nil
}

// eotID returns the id of EOT in tok, or −1.
func eotID(tok tokenizer.Tokenizer) int32 {
	if id, ok := tok.TokenID(EOT); ok {
		return id
	}
	return -1
}

func openLM(dir string, o Options) (*Setup, error) {
	dd, err := dataDir(o.Data, "lm")
	if err != nil {
		return nil, err
	}
	if err := checkDomain("lm", o.Domain, datalm.Domains); err != nil {
		return nil, err
	}
	s, m, tok, err := openLMModel(dir, o)
	if err != nil {
		return nil, err
	}
	s.Domain = o.Domain
	T, eot := m.Config.NPositions, eotID(tok)
	texts, err := LMTexts(dd, o.Domain, "train")
	if err != nil {
		return nil, err
	}
	data := train.Pack(tok, texts, T, eot, 0)
	vt, err := LMTexts(dd, o.Domain, "valid")
	if err != nil {
		return nil, err
	}
	valid := train.Pack(tok, vt, T, eot, max(o.ValidMax, lmValidSeqs))
	if data.N() == 0 || valid.N() == 0 {
		return nil, fmt.Errorf("lm domain %s: too little text for one %d-token sequence (%d train, %d valid)", o.Domain, T, data.N(), valid.N())
	}
	setLMData(s, m, data, valid, o)
	return s, nil
}

// loadLM loads the language model in dir and its tokenizer.
func loadLM(dir string) (*gpt2.Model, tokenizer.Tokenizer, error) {
	m, err := gpt2.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: a language model needs its tokenizer: %w", dir, err)
	}
	return m, tok, nil
}

// openLMModel loads the language model in dir for fine-tuning: o's
// dropout applied, and a Setup with the model, its dropout, notices and
// Save set (the data are the caller's).
func openLMModel(dir string, o Options) (*Setup, *gpt2.Model, tokenizer.Tokenizer, error) {
	m, tok, err := loadLM(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	s := &Setup{Family: "lm", Model: m}
	cfg := m.Config
	if o.Dropout != nil {
		m.Config.ResidPdrop, m.Config.EmbdPdrop, m.Config.AttnPdrop = *o.Dropout, *o.Dropout, *o.Dropout
	}
	s.Dropout = gptDropout(m.Config)
	if c := m.Config; c.ResidPdrop > 0 || c.EmbdPdrop > 0 || c.AttnPdrop > 0 {
		s.Notices = append(s.Notices, fmt.Sprintf("dropout on (resid %.2g, embd %.2g, attn %.2g): d_t measures dropout noise too", c.ResidPdrop, c.EmbdPdrop, c.AttnPdrop))
	}
	tokPath := filepath.Join(dir, "tokenizer.json")
	s.Save = func(out string, meta map[string]string) error {
		// config.json keeps the pretrained model's dropout: fine-tuning
		// settings are recorded in the metadata, not in the architecture.
		tuned := m.Config
		m.Config = cfg
		defer func() { m.Config = tuned }()
		m.Metadata = meta
		if err := m.Save(out); err != nil {
			return err
		}
		return copyFile(tokPath, filepath.Join(out, "tokenizer.json"))
	}
	return s, m, tok, nil
}

// setLMData makes s train on data and validate on valid (when not nil).
func setLMData(s *Setup, m *gpt2.Model, data, valid *train.Sequences, o Options) {
	s.TrainSize = data.N()
	task := train.NewLMTask(m, data, o.Batch, true, o.Seed)
	task.Micro = o.Micro
	s.Task = task
	if valid != nil {
		s.Validate = func() (float64, float64) { return eval.LMLoss(m, valid, 16), math.NaN() }
	}
}

func copyFile(src, dst string) error {
	raw, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return checkpoint.WriteAtomic(dst, func(w io.Writer) error { _, err := w.Write(raw); return err })
}

// SequencesOptions describe fine-tuning a GPT-2 model on pre-tokenized
// sequences (JSONL lines {"input_ids": [...]}, all of one length).
type SequencesOptions struct {
	File         string
	Batch, Micro int
	Seed         uint64
	// NoShuffle takes the sequences in file order: batch i row j is
	// sequence (i·B + j) mod N.
	NoShuffle bool
	// Dropout, when non-nil, replaces resid_pdrop, embd_pdrop and
	// attn_pdrop.
	Dropout *float64
}

// OpenSequences loads the GPT-2 model in dir for fine-tuning on
// pre-tokenized sequences. The written model's config.json and
// tokenizer.json are byte-for-byte copies of the input's (fine-tuning
// changes no configuration; dropout is recorded in the metadata).
func OpenSequences(dir string, o SequencesOptions) (*Setup, error) {
	if fam, err := Detect(dir); err != nil {
		return nil, err
	} else if fam != "lm" {
		return nil, fmt.Errorf("--train takes token sequences for a GPT-2 language model; %s is a %s model (use --data and --domain)", dir, fam)
	}
	m, err := gpt2.Load(dir)
	if err != nil {
		return nil, err
	}
	// Read config.json and tokenizer.json now, so that an unreadable one
	// stops the run before its steps.
	configRaw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	tokRaw, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	data, err := train.ReadJSONL(o.File, m.Config.VocabSize)
	if err != nil {
		return nil, err
	}
	if data.T > m.Config.NPositions {
		return nil, fmt.Errorf("%s: sequences of length %d exceed n_positions %d", o.File, data.T, m.Config.NPositions)
	}
	if o.Batch > data.N() {
		return nil, fmt.Errorf("--batch-size %d exceeds the %d sequences in %s (valid: 1 … %d)", o.Batch, data.N(), o.File, data.N())
	}
	cfg := m.Config
	if o.Dropout != nil {
		m.Config.ResidPdrop, m.Config.EmbdPdrop, m.Config.AttnPdrop = *o.Dropout, *o.Dropout, *o.Dropout
	}
	s := &Setup{Family: "lm", Model: m, TrainSize: data.N(), Dropout: gptDropout(m.Config)}
	task := train.NewLMTask(m, data, o.Batch, !o.NoShuffle, o.Seed)
	task.Micro = o.Micro
	s.Task = task
	s.Save = func(out string, meta map[string]string) error {
		tuned := m.Config
		m.Config, m.Metadata = cfg, meta
		defer func() { m.Config = tuned }()
		if err := m.Save(out); err != nil {
			return err
		}
		files := map[string][]byte{"config.json": configRaw}
		if tokRaw != nil {
			files["tokenizer.json"] = tokRaw
		}
		for name, raw := range files {
			if err := checkpoint.WriteAtomic(filepath.Join(out, name), func(w io.Writer) error { _, err := w.Write(raw); return err }); err != nil {
				return err
			}
		}
		return nil
	}
	return s, nil
}

func gptDropout(c gpt2.Config) map[string]float64 {
	return map[string]float64{"resid_pdrop": c.ResidPdrop, "embd_pdrop": c.EmbdPdrop, "attn_pdrop": c.AttnPdrop}
}
