package family

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/checkpoint"
	datalm "github.com/tramlab/tram/data/lm"
	"github.com/tramlab/tram/data/userdata"
	datavision "github.com/tramlab/tram/data/vision"
	"github.com/tramlab/tram/eval"
	"github.com/tramlab/tram/models/bert"
	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/models/vision"
	"github.com/tramlab/tram/models/vit"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/sharp"
	"github.com/tramlab/tram/tokenizer"
	"github.com/tramlab/tram/train"
)

// EvalOptions configure Evaluate.
type EvalOptions struct {
	// Data is the directory `tram data build` wrote.
	Data string
	// Domains to evaluate (vision: digit domains; lm: LM-Register domains;
	// xling: languages); nil means all.
	Domains []string
	// Split is the split to score ("test" by default; lm also has "valid").
	Split string
	// Task selects the xling task (gettext or mansec).
	Task string
	// MaxExamples caps each domain (classification: examples evenly spaced
	// over the split; lm: whole documents in order until MaxTokens); 0 is
	// no cap.
	MaxExamples int
	// MaxTokens caps each lm domain at the documents, in order, whose
	// tokens fit (0: no cap; the document that crosses it is included).
	MaxTokens int
	// Sharpness computes ε-sharpness per domain on SharpExamples examples
	// (sequences for lm) with SharpOptions.
	Sharpness     bool
	SharpOptions  eval.SharpnessOptions
	SharpExamples int
	// CKARef, when set, is the directory of the reference model (the
	// pretrained one) whose representations are compared with linear CKA,
	// on CKAExamples examples per domain.
	CKARef      string
	CKAExamples int
	// Tests, when set, are the user's test sets (labelled-text files,
	// image folders or text files, as the model takes them; package
	// userdata), each a domain of the report, instead of the family's
	// built-in domains; Columns name their fields.
	Tests   []userdata.Named
	Columns userdata.Columns
}

// DomainResult holds one domain's metrics.
type DomainResult struct {
	Domain   string   `json:"domain"`
	Examples int      `json:"examples"`
	Loss     *float64 `json:"loss,omitempty"`
	Accuracy *float64 `json:"accuracy,omitempty"`
	// AccuracyCI is the 95% Wilson interval of the accuracy.
	AccuracyCI *[2]float64 `json:"accuracy_ci95,omitempty"`
	// Language modelling: documents, predicted tokens, NLL and perplexity.
	Documents  int      `json:"documents,omitempty"`
	Tokens     int      `json:"tokens,omitempty"`
	NLL        *float64 `json:"nll,omitempty"`
	Perplexity *float64 `json:"perplexity,omitempty"`
	// Sharpness is ε-sharpness ×100 relative to 1 + loss.
	Sharpness *float64 `json:"eps_sharpness,omitempty"`
	// CKA is linear CKA against the reference model.
	CKA *float64 `json:"cka,omitempty"`
}

// Report is the outcome of Evaluate.
type Report struct {
	Model   string         `json:"model"`
	Family  string         `json:"family"`
	Task    string         `json:"task,omitempty"`
	Split   string         `json:"split"`
	Domains []DomainResult `json:"domains"`
	// Settings records what was measured and how.
	Settings map[string]any `json:"settings"`
	Seconds  float64        `json:"seconds"`
}

// Evaluate measures the model in dir on every requested domain of its
// family.
func Evaluate(dir string, o EvalOptions) (*Report, error) {
	start := time.Now()
	fam, err := Detect(dir)
	if err != nil {
		return nil, err
	}
	if o.CKARef != "" {
		ref, err := Detect(o.CKARef)
		if err != nil {
			return nil, fmt.Errorf("--cka: %w", err)
		}
		if ref != fam {
			return nil, fmt.Errorf("--cka %s: a %s model cannot be compared with a %s model", o.CKARef, ref, fam)
		}
	}
	if o.Split == "" {
		o.Split = "test"
	}
	if o.SharpExamples <= 0 {
		o.SharpExamples = 256
	}
	if o.CKAExamples <= 0 {
		o.CKAExamples = 512
	}
	r := &Report{Model: dir, Family: fam, Split: o.Split, Settings: map[string]any{}}
	if o.Sharpness {
		steps := o.SharpOptions.Steps
		if steps == 0 {
			steps = 10
		}
		r.Settings["sharpness"] = map[string]any{"eps": o.SharpOptions.Eps, "steps": steps, "examples": o.SharpExamples,
			"method": "projected sign-gradient ascent in C_eps = {z: |z_i| <= eps(|theta_i|+1)}, evaluation mode"}
	}
	if o.CKARef != "" {
		r.Settings["cka"] = map[string]any{"reference": o.CKARef, "examples": o.CKAExamples, "representation": reprName(fam)}
	}
	if o.MaxExamples > 0 {
		r.Settings["max_examples"] = o.MaxExamples
	}
	if o.MaxTokens > 0 {
		r.Settings["max_tokens"] = o.MaxTokens
	}
	switch {
	case len(o.Tests) > 0:
		err = evalUser(dir, fam, o, r)
	case fam == "vision":
		err = evalVision(dir, o, r)
	case fam == "lm":
		err = evalLM(dir, o, r)
	default:
		err = evalXling(dir, o, r)
	}
	if err != nil {
		return nil, err
	}
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

func reprName(fam string) string {
	switch fam {
	case "vision":
		return "globally pooled features before the head"
	case "lm":
		return "final hidden state (after ln_f), mean over the positions of each sequence"
	}
	return "final hidden state of the first ([CLS]) token"
}

// domains validates the requested domains against the valid ones.
func domains(fam string, want, valid []string) ([]string, error) {
	if len(want) == 0 || len(want) == 1 && want[0] == "all" {
		return valid, nil
	}
	for _, d := range want {
		if !slices.Contains(valid, d) {
			return nil, fmt.Errorf("unknown %s domain %q; valid: %s", fam, d, strings.Join(valid, ", "))
		}
	}
	return want, nil
}

func ptr[T any](v T) *T { return &v }

// spread returns n indices evenly spaced over [0, total).
func spread(total, n int) []int {
	if n <= 0 || n >= total {
		return seqRange(0, total)
	}
	idx := make([]int, n)
	for k := range idx {
		idx[k] = k * total / n
	}
	return idx
}

func classResult(d string, c eval.Classification) DomainResult {
	lo, hi := eval.Wilson(c.Correct, c.N)
	return DomainResult{Domain: d, Examples: c.N, Loss: ptr(c.Loss), Accuracy: ptr(c.Accuracy()), AccuracyCI: &[2]float64{lo, hi}}
}

func evalVision(dir string, o EvalOptions, r *Report) error {
	dd, err := dataDir(o.Data, "vision")
	if err != nil {
		return err
	}
	valid, err := digitDomains(dd)
	if err != nil {
		return err
	}
	ds, err := domains("vision", o.Domains, valid)
	if err != nil {
		return err
	}
	m, err := vision.Load(dir)
	if err != nil {
		return err
	}
	switch n := m.NumClasses(); n {
	case len(DigitLabels):
	case len(datavision.Classes):
		// A pretrained glyph model: score it zero-shot on its digit rows.
		if m, err = digitHead(dir); err != nil {
			return err
		}
		r.Settings["head"] = fmt.Sprintf("zero-shot: the pretrained %d-way glyph head's rows of the digits 0-9 (argmax and loss over those ten)", n)
	default:
		return fmt.Errorf("%s: the head has %d classes, the digit domains %d (fine-tune it first: tram finetune --model %s --domain D …)", dir, n, len(DigitLabels), dir)
	}
	var ref vision.Model
	if o.CKARef != "" {
		if ref, err = loadVisionBody(o.CKARef); err != nil {
			return err
		}
	}
	for _, d := range ds {
		set, err := LoadImages(dd, "digits-"+d+"-"+o.Split)
		if err != nil {
			return err
		}
		r.Domains = append(r.Domains, scoreImages(d, m, ref, set, o))
	}
	return nil
}

// scoreImages measures an image classifier on one domain's images: loss
// and accuracy, and ε-sharpness and CKA against ref when o asks.
func scoreImages(d string, m, ref vision.Model, set *train.Images, o EvalOptions) DomainResult {
	if o.MaxExamples > 0 {
		set = set.Subset(spread(set.N(), o.MaxExamples))
	}
	res := classResult(d, eval.Images(m, set, 256))
	if o.Sharpness {
		task := train.NewImageTask(m, set.Subset(spread(set.N(), o.SharpExamples)), min(o.SharpExamples, set.N()), false, 0)
		task.Micro = microsFor(task.Batch, 128)
		task.Next()
		res.Sharpness = ptr(eval.EpsSharpness(m, task, o.SharpOptions))
	}
	if ref != nil {
		sub := set.Subset(spread(set.N(), o.CKAExamples))
		a, da := imageFeatures(m, sub)
		b, db := imageFeatures(ref, sub)
		res.CKA = ptr(eval.CKA(a, da, b, db))
	}
	return res
}

// microsFor returns the number of micro-batches that keeps each at most
// size examples and divides batch.
func microsFor(batch, size int) int {
	for k := max(1, (batch+size-1)/size); k < batch; k++ {
		if batch%k == 0 {
			return k
		}
	}
	return max(batch, 1)
}

// loadVisionBody loads a vision model for its features, whatever its head.
func loadVisionBody(dir string) (vision.Model, error) {
	fam, err := Detect(dir)
	if err != nil {
		return nil, err
	}
	if fam != "vision" {
		return nil, fmt.Errorf("--cka %s: a %s model cannot be compared with a vision model", dir, fam)
	}
	var cfg struct {
		ModelType string `json:"model_type"`
	}
	if err := checkpoint.ReadConfig(dir, &cfg); err != nil {
		return nil, err
	}
	if cfg.ModelType == "vit" {
		return vit.LoadWith(dir, vit.LoadOptions{Fresh: vit.IsHead}) // the head is not compared
	}
	return vision.Load(dir)
}

func imageFeatures(m vision.Model, s *train.Images) ([]float32, int) {
	g := autograd.NewGraph[float32]()
	var out []float32
	d, dim := s.Dim(), 0
	for i := 0; i < s.N(); i += 256 {
		b := min(256, s.N()-i)
		g.Reset()
		g.NoGrad(func() {
			f := m.Features(&nn.Pass{G: g}, g.Constant(s.X[i*d:(i+b)*d], b, s.Channels, s.Size, s.Size))
			dim = f.Dim(-1)
			out = append(out, f.Data...)
		})
	}
	return out, dim
}

func evalLM(dir string, o EvalOptions, r *Report) error {
	dd, err := dataDir(o.Data, "lm")
	if err != nil {
		return err
	}
	ds, err := domains("lm", o.Domains, datalm.Domains)
	if err != nil {
		return err
	}
	m, tok, err := loadLM(dir)
	if err != nil {
		return err
	}
	var ref *gpt2.Model
	if o.CKARef != "" {
		if f, err := Detect(o.CKARef); err != nil {
			return err
		} else if f != "lm" {
			return fmt.Errorf("--cka %s: a %s model cannot be compared with a language model", o.CKARef, f)
		}
		if ref, err = gpt2.Load(o.CKARef); err != nil {
			return err
		}
	}
	for _, d := range ds {
		texts, err := LMTexts(dd, d, o.Split)
		if err != nil {
			return err
		}
		res, err := scoreLM(d, m, ref, tok, texts, o)
		if err != nil {
			return fmt.Errorf("lm domain %s: %w", d, err)
		}
		r.Domains = append(r.Domains, res)
	}
	return nil
}

// scoreLM measures a language model on one domain's documents: perplexity,
// and ε-sharpness and CKA against ref when o asks.
func scoreLM(d string, m, ref *gpt2.Model, tok tokenizer.Tokenizer, texts []string, o EvalOptions) (DomainResult, error) {
	texts = capTokens(texts, tok, o.MaxExamples, o.MaxTokens)
	p, err := eval.LMPerplexity(m, tok, texts, 16)
	if err != nil {
		return DomainResult{}, err
	}
	res := DomainResult{Domain: d, Examples: p.Documents, Documents: p.Documents, Tokens: p.Tokens, NLL: p.NLL, Perplexity: p.PPL}
	if o.Sharpness || ref != nil {
		seqs := train.Pack(tok, texts, m.Config.NPositions, eotID(tok), max(o.SharpExamples, o.CKAExamples))
		if o.Sharpness && seqs.N() > 0 {
			n := min(seqs.N(), o.SharpExamples)
			task := train.NewLMTask(m, &train.Sequences{T: seqs.T, IDs: seqs.IDs[:n*seqs.T]}, n, false, 0)
			task.Micro = microsFor(n, 16)
			task.Next()
			res.Sharpness = ptr(eval.EpsSharpness(m, task, o.SharpOptions))
		}
		if ref != nil && seqs.N() > 1 {
			n := min(seqs.N(), o.CKAExamples)
			sub := &train.Sequences{T: seqs.T, IDs: seqs.IDs[:n*seqs.T]}
			a, b := meanHidden(m, sub), meanHidden(ref, sub)
			res.CKA = ptr(eval.CKA(a, m.Config.NEmbd, b, ref.Config.NEmbd))
		}
	}
	return res, nil
}

// capTokens keeps the first documents (at most maxDocs) whose token count
// stays within maxTokens; the document that crosses it is kept.
func capTokens(texts []string, tok tokenizer.Tokenizer, maxDocs, maxTokens int) []string {
	if maxDocs > 0 && len(texts) > maxDocs {
		texts = texts[:maxDocs]
	}
	if maxTokens <= 0 {
		return texts
	}
	n := 0
	for i, t := range texts {
		n += len(tok.Encode(t))
		if n >= maxTokens {
			return texts[:i+1]
		}
	}
	return texts
}

// meanHidden returns each sequence's final hidden state averaged over its
// positions, [N, n_embd].
func meanHidden(m *gpt2.Model, s *train.Sequences) []float32 {
	g := autograd.NewGraph[float32]()
	D, T := m.Config.NEmbd, s.T
	out := make([]float32, 0, s.N()*D)
	for i := 0; i < s.N(); i += 16 {
		b := min(16, s.N()-i)
		g.Reset()
		g.NoGrad(func() {
			h := m.Hidden(&nn.Pass{G: g}, s.IDs[i*T:(i+b)*T], b, T)
			for r := 0; r < b; r++ {
				for j := 0; j < D; j++ {
					var sum float64
					for t := 0; t < T; t++ {
						sum += float64(h.Data[(r*T+t)*D+j])
					}
					out = append(out, float32(sum/float64(T)))
				}
			}
		})
	}
	return out
}

func evalXling(dir string, o EvalOptions, r *Report) error {
	xt, err := xlingTask(o.Task)
	if err != nil {
		return err
	}
	r.Task = xt.Name
	dd, err := dataDir(o.Data, xt.Sub)
	if err != nil {
		return err
	}
	ds, err := domains("xling", o.Domains, xt.Langs)
	if err != nil {
		return err
	}
	m, err := bert.Load(dir, bert.Classification)
	if err != nil {
		return fmt.Errorf("%w (is %s a fine-tuned classifier? fine-tune it first with tram finetune)", err, dir)
	}
	if n := m.Config.NumLabels(); n != len(xt.Labels) {
		return fmt.Errorf("%s: the head has %d labels, the %s task %d (%s)", dir, n, xt.Name, len(xt.Labels), strings.Join(xt.Labels, ", "))
	}
	for i, l := range xt.Labels {
		if got := m.Config.ID2Label[fmt.Sprint(i)]; got != "" && got != l {
			return fmt.Errorf("%s: label %d of the head is %q, the %s task's is %q", dir, i, got, xt.Name, l)
		}
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return fmt.Errorf("%s: an encoder needs its tokenizer: %w", dir, err)
	}
	var ref *bert.Model
	if o.CKARef != "" {
		if ref, err = loadEncoder(o.CKARef); err != nil {
			return err
		}
	}
	T := m.Config.MaxPositions
	if m.Config.IsRoBERTa() {
		T -= m.Config.PadTokenID + 1
	}
	for _, d := range ds {
		set, err := EncodeTexts(dd, "test-"+d, tok, xt.Labels, T)
		if err != nil {
			return err
		}
		r.Domains = append(r.Domains, scoreTexts(d, m, ref, set, o))
	}
	return nil
}

// scoreTexts measures a text classifier on one domain's texts: loss and
// accuracy, and ε-sharpness and CKA against ref when o asks.
func scoreTexts(d string, m, ref *bert.Model, set *train.Texts, o EvalOptions) DomainResult {
	if o.MaxExamples > 0 && set.N() > o.MaxExamples {
		set = subsetTexts(set, o.MaxExamples)
	}
	res := classResult(d, eval.Texts(m, set, 64))
	if o.Sharpness {
		sub := subsetTexts(set, min(set.N(), o.SharpExamples))
		task := &train.TextClassTask{Model: m, Data: sub, Batch: sub.N(), Order: train.Order{N: sub.N()}}
		task.Micro = microsFor(sub.N(), 64)
		task.Next()
		res.Sharpness = ptr(eval.EpsSharpness(m, task, o.SharpOptions))
	}
	if ref != nil {
		sub := subsetTexts(set, min(set.N(), o.CKAExamples))
		a, b := clsHidden(m, sub), clsHidden(ref, sub)
		res.CKA = ptr(eval.CKA(a, m.Config.HiddenSize, b, ref.Config.HiddenSize))
	}
	return res
}

// loadEncoder loads the encoder of a BERT-family directory, whatever head
// it was saved with.
func loadEncoder(dir string) (*bert.Model, error) {
	fam, err := Detect(dir)
	if err != nil {
		return nil, err
	}
	if fam != "xling" {
		return nil, fmt.Errorf("--cka %s: a %s model cannot be compared with an encoder", dir, fam)
	}
	var cfg bert.Config
	if err := checkpoint.ReadConfig(dir, &cfg); err != nil {
		return nil, err
	}
	m, err := bert.New(cfg, bert.NoHead, 0)
	if err != nil {
		return nil, err
	}
	fresh, err := xlingHead(dir) // the pooler, when the file has none, is unused here
	if err != nil {
		return nil, err
	}
	_, err = transplant(dir, m, m.FileNames, fresh)
	return m, err
}

// clsHidden returns the final hidden state of each text's first token.
func clsHidden(m *bert.Model, s *train.Texts) []float32 {
	g := autograd.NewGraph[float32]()
	D := m.Config.HiddenSize
	var out []float32
	for i := 0; i < s.N(); i += 64 {
		b, _ := s.Batch(seqRange(i, min(i+64, s.N())))
		g.Reset()
		g.NoGrad(func() {
			h := m.Hidden(&nn.Pass{G: g}, b)
			for r := 0; r < b.B; r++ {
				out = append(out, h.Data[r*b.T*D:r*b.T*D+D]...)
			}
		})
	}
	return out
}

// seqRange returns lo, lo+1, …, hi−1.
func seqRange(lo, hi int) []int {
	s := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		s = append(s, i)
	}
	return s
}

var _ sharp.Task = (*train.ImageTask)(nil)
