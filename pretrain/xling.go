package pretrain

import (
	"fmt"
	"path/filepath"
	"slices"

	dataxling "github.com/tramlab/tram/data/xling"
	"github.com/tramlab/tram/models/bert"
	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/tokenizer"
	"github.com/tramlab/tram/train"
)

// Xling recipe: a BERT-layout multilingual encoder with a WordPiece
// vocabulary, masked-LM on GetText-X's multilingual corpus and
// translation-pair MLM (TLM: an English message and its translation in one
// sequence, types 0 and 1) on the train-split pairs, half of each.
const (
	xlVocab     = 8192
	xlContext   = 64
	xlHidden    = 256
	xlLayers    = 4
	xlHeads     = 4
	xlInter     = 1024
	xlDropout   = 0.1 // as XLM-R was pretrained
	xlSteps     = 2500
	xlBatch     = 32
	xlLR        = 5e-4
	xlWarmup    = 150
	xlWD        = 0.01
	xlTokSample = 12 << 20 // bytes of text the tokenizer learns from
	xlRun       = 32       // documents are taken in runs of consecutive ones (mostly one language)
	xlHeldOut   = 100      // every 100th run is held out
	xlEvalSeqs  = 512
)

// XlingNormalizer is the text normalization of the xling tokenizer:
// lower-cased, accents kept (they carry meaning in the test languages),
// CJK ideographs split.
var XlingNormalizer = tokenizer.BertNormalizer{CleanText: true, ChineseChars: true, Lowercase: true}

func xlingRecipe(o Options) (*recipe, error) {
	dir := filepath.Join(o.Data, "xling")
	docs, err := dataxling.LoadPretrain(dir)
	if err != nil {
		return nil, fmt.Errorf("pretrain xling: %w (run `tram data fetch && tram data build xling`)", err)
	}
	pairs, err := dataxling.LoadPairs(dir)
	if err != nil {
		return nil, fmt.Errorf("pretrain xling: %w", err)
	}
	// Leakage guard on top of the builder's: no pair whose English or
	// translation equals a test message of any language.
	test := map[string]bool{}
	for _, lang := range append([]string{"en"}, dataxling.TestLangs...) {
		ex, err := dataxling.Load(dir, "test-"+lang)
		if err != nil {
			return nil, fmt.Errorf("pretrain xling: %w", err)
		}
		for _, e := range ex {
			test[e.Text] = true
		}
	}
	kept := pairs[:0:0]
	for _, p := range pairs {
		if !test[p.En] && !test[p.Text] {
			kept = append(kept, p)
		}
	}
	dropped := len(pairs) - len(kept)
	pairs = kept

	var trainDocs, heldDocs []string
	for i, d := range docs {
		if (i/xlRun)%xlHeldOut == xlHeldOut/2 {
			heldDocs = append(heldDocs, d.Text)
		} else {
			trainDocs = append(trainDocs, d.Text)
		}
	}
	var sample []string
	stride := max(1, (totalLen(trainDocs)+xlTokSample-1)/xlTokSample)
	for i := 0; i < len(trainDocs); i += stride {
		sample = append(sample, trainDocs[i])
	}
	for i := 0; i < len(pairs); i += 4 * stride {
		sample = append(sample, pairs[i].En, pairs[i].Text)
	}
	tok, err := tokenizer.WordPieceTrainer{VocabSize: xlVocab, Options: tokenizer.WordPieceOptions{Normalizer: XlingNormalizer}}.Train(slices.Values(sample))
	if err != nil {
		return nil, err
	}
	steps, batch, lr := pick(o.Steps, xlSteps), pick(o.Batch, xlBatch), pick(o.LR, xlLR)
	need := steps * batch / 2
	id := func(s string) int32 { v, _ := tok.TokenID(s); return v }
	cls, sep, mask, pad := id("[CLS]"), id("[SEP]"), id("[MASK]"), id("[PAD]")

	// MLM: runs of consecutive documents, spread over the corpus, packed
	// into [CLS] … [SEP] chunks.
	mlm := &train.Encoded{}
	runs := (len(trainDocs) + xlRun - 1) / xlRun
	// Visit the runs with a stride that covers the corpus evenly.
	runStride := max(1, runs/max(1, need/8))
	pack := func(texts []string, into *train.Encoded, limit int) {
		var buf []int32
		for _, t := range texts {
			buf = append(buf, tok.Encode(t)...)
			buf = append(buf, sep)
			for len(buf) >= xlContext-2 && into.N() < limit {
				seq := append([]int32{cls}, buf[:xlContext-2]...)
				into.IDs = append(into.IDs, append(seq, sep))
				buf = buf[xlContext-2:]
			}
		}
	}
	for pass := 0; mlm.N() < need && pass < runStride; pass++ {
		for r := pass; r < runs && mlm.N() < need; r += runStride {
			pack(trainDocs[r*xlRun:min((r+1)*xlRun, len(trainDocs))], mlm, need)
		}
	}
	held := &train.Encoded{}
	pack(heldDocs, held, xlEvalSeqs)
	// TLM: English message and translation, each cut to fit.
	tlm := &train.Encoded{}
	half := (xlContext - 3) / 2
	for i := 0; i < len(pairs) && tlm.N() < need; i += max(1, len(pairs)/need) {
		a, b := tok.Encode(pairs[i].En), tok.Encode(pairs[i].Text)
		la, lb := len(a), len(b)
		for la+lb > xlContext-3 {
			if la >= lb && la > half {
				la--
			} else {
				lb--
			}
		}
		ids := append(append(append(append([]int32{cls}, a[:la]...), sep), b[:lb]...), sep)
		types := make([]int32, len(ids))
		for j := la + 2; j < len(ids); j++ {
			types[j] = 1
		}
		tlm.IDs, tlm.Types = append(tlm.IDs, ids), append(tlm.Types, types)
	}
	data := &train.Encoded{IDs: append(slices.Clone(mlm.IDs), tlm.IDs...)}
	data.Types = make([][]int32, mlm.N(), data.N())
	data.Types = append(data.Types, tlm.Types...)

	cfg := bert.Config{ModelType: "bert", VocabSize: tok.VocabSize(), HiddenSize: xlHidden, NumLayers: xlLayers, NumHeads: xlHeads,
		IntermediateSize: xlInter, HiddenAct: "gelu", HiddenDropout: xlDropout, AttnDropout: xlDropout, MaxPositions: xlContext,
		TypeVocabSize: 2, LayerNormEps: 1e-12, PadTokenID: int(pad), InitRange: 0.02, Architectures: []string{"BertForMaskedLM"}}
	model, err := bert.New(cfg, bert.MaskedLM, o.Seed)
	if err != nil {
		return nil, err
	}
	base := optim.NewAdamW(lr, xlWD)
	base.Beta1, base.Beta2 = 0.9, 0.98
	warm := min(xlWarmup, steps/10)
	sched, err := optim.ParseSchedule("linear", lr, warm, steps)
	if err != nil {
		return nil, err
	}
	special := func(id int32) bool { return tok.IsSpecial(id) }
	task := train.NewMLMTask(model, data, xlContext, batch, o.Seed, mask, pad, special)
	trainSample := &train.Encoded{IDs: mlm.IDs[:min(mlm.N(), xlEvalSeqs)]}
	return &recipe{
		family: "xling", model: model, base: base, sched: sched, task: task, steps: steps, clip: 1, dataDir: dir,
		settings: [][2]string{{"steps", fmt.Sprint(steps)}, {"batch", fmt.Sprint(batch)}, {"lr", fmt.Sprint(lr)},
			{"schedule", fmt.Sprintf("warmup %d + linear decay", warm)}, {"optimizer", "AdamW β (0.9, 0.98), weight decay 0.01, clip 1"},
			{"model", fmt.Sprintf("BERT layout (post-LN), %d layers, hidden %d, %d heads, intermediate %d, context %d, dropout %.1f, masked-LM head", xlLayers, xlHidden, xlHeads, xlInter, xlContext, xlDropout)},
			{"tokenizer", fmt.Sprintf("WordPiece, vocabulary %d, lower-cased, accents kept, trained on %.1f MB", tok.VocabSize(), float64(totalLen(sample))/1e6)},
			{"objective", "MLM (15% of tokens; 80% [MASK], 10% random, 10% kept) on corpus chunks and TLM on translation pairs, one half each"}},
		notes: []string{
			fmt.Sprintf("MLM: GetText-X's pretrain.jsonl (%d texts in 22 languages: man pages, fortunes, Debian Reference, train-split catalogue messages), taken in runs of %d consecutive texts spread evenly over the corpus, packed into %d chunks of %d tokens; every %dth run is held out.", len(docs), xlRun, mlm.N(), xlContext, xlHeldOut),
			fmt.Sprintf("TLM: %d train-split pairs (English msgid + translation, segment types 0/1) of pairs-train.jsonl; %d pairs equal to a test message of any language were dropped on top of the builder's guards. No dev or test message is in either objective.", tlm.N(), dropped),
			fmt.Sprintf("Held-out: %d MLM chunks of held-out runs; train metrics on the first %d MLM chunks; fixed masks, evaluation mode. Accuracy is of the masked-token predictions.", held.N(), trainSample.N()),
		},
		evaluate: func(r *Result) {
			v := task.Evaluate(held, 32, 7)
			t := task.Evaluate(trainSample, 32, 7)
			r.ValidLoss, r.ValidAcc, r.TrainLoss, r.TrainAcc = v.Loss, v.Accuracy, t.Loss, t.Accuracy
		},
		save: func(dir string) error {
			if err := model.Save(dir); err != nil {
				return err
			}
			return tokenizer.Save(filepath.Join(dir, "tokenizer.json"), tok)
		},
	}, nil
}
