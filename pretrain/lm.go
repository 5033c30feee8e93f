package pretrain

import (
	"cmp"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	datalm "github.com/tramlab/tram/data/lm"
	"github.com/tramlab/tram/eval"
	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/tokenizer"
	"github.com/tramlab/tram/train"
)

// LM recipe: a GPT-2-layout decoder and its byte-level BPE, on general
// English (GCIDE + WordNet glosses). Sizes follow a pilot that reached
// held-out perplexity 37 in 11 minutes at 4 layers × 192.
const (
	lmVocab     = 4096
	lmContext   = 128
	lmWidth     = 192
	lmLayers    = 4
	lmHeads     = 4
	lmDropout   = 0.1 // as GPT-2 was pretrained
	lmSteps     = 2500
	lmBatch     = 16
	lmLR        = 1e-3
	lmWarmup    = 100
	lmWD        = 0.01
	lmTokSample = 10 << 20 // bytes of text the tokenizer is trained on
	lmHeldOut   = 100      // every 100th document is held out
	lmEvalSeqs  = 256      // held-out and train-sample sequences evaluated at the end
)

// EOT is the separator appended after every document.
const EOT = "<|endoftext|>"

// lmSplit separates the pretraining corpus into training and held-out
// documents (every lmHeldOut-th document is held out).
func lmSplit(docs []datalm.Doc) (trainTexts, heldOut []string) {
	for i, d := range docs {
		if i%lmHeldOut == lmHeldOut-1 {
			heldOut = append(heldOut, d.Text)
		} else {
			trainTexts = append(trainTexts, d.Text)
		}
	}
	return trainTexts, heldOut
}

func lmRecipe(o Options) (*recipe, error) {
	dir := filepath.Join(o.Data, "lm")
	docs, err := datalm.LoadPretrain(dir)
	if err != nil {
		return nil, fmt.Errorf("pretrain lm: %w (run `tram data fetch && tram data build lm`)", err)
	}
	texts, held := lmSplit(docs)
	corpus := fmt.Sprintf("LM-Register's pretrain.jsonl (GCIDE entries and WordNet glosses), %d documents; every %dth is held out.", len(docs), lmHeldOut)
	switch o.Corpus {
	case "", "dictionary":
	case "broad":
		var regs []string
		var counts []string
		for _, d := range datalm.Domains {
			ds, err := datalm.Load(dir, d, "train")
			if err != nil {
				return nil, fmt.Errorf("pretrain lm --corpus broad: %w", err)
			}
			counts = append(counts, fmt.Sprintf("%s %d", d, len(ds)))
			for _, doc := range ds {
				regs = append(regs, doc.Text)
			}
		}
		texts = interleave(texts, regs)
		corpus = fmt.Sprintf("broad: LM-Register's pretrain.jsonl (GCIDE entries and WordNet glosses, %d documents, every %dth held out) "+
			"interleaved evenly with the training splits of the eight registers (%s documents; their validation and test documents are never read), "+
			"so that every stretch of the stream mixes them in proportion. The held-out loss is on dictionary documents, as for the dictionary corpus.",
			len(docs), lmHeldOut, strings.Join(counts, ", "))
	default:
		return nil, fmt.Errorf("pretrain lm: --corpus %q: valid: dictionary, broad", o.Corpus)
	}
	// The tokenizer learns from an evenly spaced sample of the training
	// documents.
	var sample []string
	stride := max(1, totalLen(texts)/lmTokSample)
	for i := 0; i < len(texts); i += stride {
		sample = append(sample, texts[i])
	}
	tok, err := tokenizer.BPETrainer{VocabSize: lmVocab, SpecialTokens: []string{EOT}}.Train(slices.Values(sample))
	if err != nil {
		return nil, err
	}
	eot := tok.Encode(EOT)[0]
	steps, batch := pick(o.Steps, lmSteps), pick(o.Batch, lmBatch)
	lr := pick(o.LR, lmLR)
	data := train.Pack(tok, texts, lmContext, eot, steps*batch)
	valid := train.Pack(tok, held, lmContext, eot, lmEvalSeqs)
	if data.N() == 0 || valid.N() == 0 {
		return nil, fmt.Errorf("pretrain lm: corpus too small (%d training, %d held-out sequences of %d tokens)", data.N(), valid.N(), lmContext)
	}
	cfg := gpt2.Small(tok.VocabSize(), lmContext, lmWidth, lmLayers, lmHeads)
	cfg.ResidPdrop, cfg.EmbdPdrop, cfg.AttnPdrop = lmDropout, lmDropout, lmDropout
	bos, eos := int(eot), int(eot)
	cfg.BOSTokenID, cfg.EOSTokenID = &bos, &eos
	model, err := gpt2.New(cfg, o.Seed)
	if err != nil {
		return nil, err
	}
	base := optim.NewAdamW(lr, lmWD)
	base.Beta1, base.Beta2 = 0.9, 0.99
	sched, err := optim.ParseSchedule("cosine", lr, min(lmWarmup, steps/10), steps)
	if err != nil {
		return nil, err
	}
	task := train.NewLMTask(model, data, batch, true, o.Seed)
	return &recipe{
		family: "lm", model: model, base: base, sched: sched, task: task, steps: steps, clip: 1, dataDir: dir,
		settings: [][2]string{{"corpus", cmp.Or(o.Corpus, "dictionary")}, {"steps", fmt.Sprint(steps)}, {"batch", fmt.Sprint(batch)}, {"lr", fmt.Sprint(lr)},
			{"schedule", fmt.Sprintf("warmup %d + cosine", min(lmWarmup, steps/10))}, {"optimizer", "AdamW β (0.9, 0.99), weight decay 0.01, clip 1"},
			{"model", fmt.Sprintf("GPT-2 layout, %d layers, width %d, %d heads, context %d, dropout %.1f", lmLayers, lmWidth, lmHeads, lmContext, lmDropout)},
			{"tokenizer", fmt.Sprintf("byte-level BPE, vocabulary %d, trained on %.1f MB", tok.VocabSize(), float64(totalLen(sample))/1e6)}},
		notes: []string{
			"Corpus: " + corpus,
			fmt.Sprintf("Documents are encoded, joined with %s and cut into %d-token sequences; the run reads %d of them (%d tokens), reshuffled each pass.", EOT, lmContext, data.N(), data.N()*lmContext),
			fmt.Sprintf("Held-out loss: %d sequences of held-out documents; train loss: the first %d training sequences; both in evaluation mode (dropout off).", valid.N(), lmEvalSeqs),
		},
		evaluate: func(r *Result) {
			r.ValidLoss = eval.LMLoss(model, valid, 16)
			r.TrainLoss = eval.LMLoss(model, &train.Sequences{T: data.T, IDs: data.IDs[:min(len(data.IDs), lmEvalSeqs*data.T)]}, 16)
			r.ValidPPL = math.Exp(r.ValidLoss)
		},
		save: func(dir string) error {
			if err := model.Save(dir); err != nil {
				return err
			}
			return tokenizer.Save(filepath.Join(dir, "tokenizer.json"), tok)
		},
	}, nil
}

// interleave merges b into a evenly, keeping each one's order: the
// document at position i of a list of n lands at about i/n of the way
// through the result, so any stretch of the stream holds both in
// proportion.
func interleave(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		// Take from a while it is ahead of b in relative position.
		if j >= len(b) || i < len(a) && float64(i)*float64(len(b)) <= float64(j)*float64(len(a)) {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	return out
}

func totalLen(texts []string) int {
	n := 0
	for _, t := range texts {
		n += len(t)
	}
	return n
}
