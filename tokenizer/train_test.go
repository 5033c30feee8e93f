package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

// naiveMerges is a slow reference trainer: it recounts every pair before
// each merge. It returns the merges (as raw-byte strings) that the
// incremental trainer must reproduce.
func naiveMerges(texts []string, maxMerges int) [][2]string {
	counts := make(map[string]int64)
	for _, text := range texts {
		for i := 0; i < len(text); {
			e := gpt2PieceEnd(text, i)
			counts[text[i:e]]++
			i = e
		}
	}
	type word struct {
		syms  []string
		count int64
	}
	var words []word
	for w, c := range counts {
		var syms []string
		for i := 0; i < len(w); i++ {
			syms = append(syms, w[i:i+1])
		}
		words = append(words, word{syms, c})
	}
	var merges [][2]string
	for len(merges) < maxMerges {
		pairs := make(map[[2]string]int64)
		for _, w := range words {
			for i := 0; i+1 < len(w.syms); i++ {
				pairs[[2]string{w.syms[i], w.syms[i+1]}] += w.count
			}
		}
		var best [2]string
		var bestCount int64
		for p, c := range pairs {
			if c > bestCount || c == bestCount && (p[0] < best[0] || p[0] == best[0] && p[1] < best[1]) {
				best, bestCount = p, c
			}
		}
		if bestCount < 2 {
			break
		}
		merges = append(merges, best)
		for wi := range words {
			syms := words[wi].syms
			var out []string
			for i := 0; i < len(syms); i++ {
				if i+1 < len(syms) && syms[i] == best[0] && syms[i+1] == best[1] {
					out = append(out, best[0]+best[1])
					i++
				} else {
					out = append(out, syms[i])
				}
			}
			words[wi].syms = out
		}
	}
	return merges
}

func rawMerges(t *BPE) [][2]string {
	var out [][2]string
	for _, m := range t.Merges() {
		a, _ := byteLevelBytes(m[0])
		b, _ := byteLevelBytes(m[1])
		out = append(out, [2]string{string(a), string(b)})
	}
	return out
}

func TestBPETrainerMatchesNaive(t *testing.T) {
	corpora := map[string][]string{
		"english":  {"the cat sat on the mat", "the dog sat on the log", "that's the thing, isn't it?"},
		"repeats":  {"aaaaaaaaaa aaaa aaa aa a", "abababab baba abab", "aaabaaabaaab"},
		"unicode":  {"日本語 日本 本語", "Привет привет мир", "😀😀 😀😀😀 👍🏽👍🏽"},
		"random":   randomTexts(300, 11),
		"oracle":   oracleCorpus,
		"overlaps": {"aaa aaaa aaaaa", "a a a a", "abcabcabc abcabc"},
	}
	for name, texts := range corpora {
		t.Run(name, func(t *testing.T) {
			want := naiveMerges(texts, 300)
			tok, err := BPETrainer{VocabSize: 256 + 300}.Train(slices.Values(texts))
			if err != nil {
				t.Fatal(err)
			}
			got := rawMerges(tok)
			if !slices.Equal(got, want) {
				n := 0
				for n < min(len(got), len(want)) && got[n] == want[n] {
					n++
				}
				t.Fatalf("merges differ from the reference at %d of %d/%d: got %q, want %q",
					n, len(got), len(want), got[n:min(n+3, len(got))], want[n:min(n+3, len(want))])
			}
			for _, text := range texts {
				if got := tok.Decode(tok.Encode(text)); got != text {
					t.Errorf("round trip %q -> %q", text, got)
				}
			}
		})
	}
}

func TestBPETrainer(t *testing.T) {
	texts := strings.Split(strings.Repeat("low lower lowest newer wider new low low\n", 20), "\n")
	tr := BPETrainer{VocabSize: 270, SpecialTokens: []string{"<|endoftext|>", "<pad>"}}
	a, err := tr.Train(slices.Values(texts))
	if err != nil {
		t.Fatal(err)
	}
	if got := a.VocabSize(); got != 270 {
		t.Errorf("VocabSize = %d, want 270", got)
	}
	// Ids: bytes in GPT-2 order, merges, then the special tokens.
	if id, _ := a.TokenID("!"); id != 0 {
		t.Errorf(`id of "!" = %d, want 0 as in GPT-2`, id)
	}
	if id, _ := a.TokenID("Ġ"); id != 220 {
		t.Errorf(`id of "Ġ" = %d, want 220 as in GPT-2`, id)
	}
	if id, _ := a.TokenID("<|endoftext|>"); id != 268 || !a.IsSpecial(id) {
		t.Errorf("<|endoftext|> has id %d (special %v), want 268, special", id, a.IsSpecial(id))
	}
	if got := a.Merges()[0]; got != [2]string{"Ġ", "l"} && got != [2]string{"l", "o"} {
		t.Errorf("first merge %q", got)
	}
	// Deterministic.
	b, _ := tr.Train(slices.Values(texts))
	ja, _ := a.MarshalJSON()
	jb, _ := b.MarshalJSON()
	if string(ja) != string(jb) {
		t.Error("two trainings on the same corpus differ")
	}
	ids := a.Encode(" lowest<|endoftext|><pad>")
	if n := len(ids); n > 4 || ids[n-2] != 268 || ids[n-1] != 269 {
		t.Errorf("Encode = %v", ids)
	}

	if _, err := (BPETrainer{VocabSize: 100}).Train(slices.Values(texts)); err == nil {
		t.Error("vocab size below 256 accepted")
	}
	if _, err := (BPETrainer{VocabSize: 300, SpecialTokens: []string{"x", "x"}}).Train(slices.Values(texts)); err == nil {
		t.Error("duplicate special tokens accepted")
	}
	// MinFrequency stops early.
	c, _ := BPETrainer{VocabSize: 1000, MinFrequency: 1000}.Train(slices.Values(texts))
	if n := len(c.Merges()); n != 0 {
		t.Errorf("MinFrequency 1000: %d merges", n)
	}
}

func TestWordPieceTrainer(t *testing.T) {
	texts := []string{
		"Playing players played; the player plays!",
		"Unplayable? Replaying the PLAYS. 中文",
	}
	tr := WordPieceTrainer{VocabSize: 60, Options: WordPieceOptions{Normalizer: BertNormalizer{CleanText: true, ChineseChars: true, Lowercase: true, StripAccents: true}}}
	tok, err := tr.Train(slices.Values(texts))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range BertSpecialTokens {
		if id, ok := tok.TokenID(s); !ok || id != int32(i) {
			t.Errorf("%s has id %d, want %d", s, id, i)
		}
	}
	if _, ok := tok.TokenID("##y"); !ok {
		t.Error(`"##y" not in vocabulary`)
	}
	if _, ok := tok.TokenID("play"); !ok {
		t.Error(`"play" not learned`)
	}
	e := tok.EncodeSingle("players play")
	if e.IDs[0] != 2 || e.IDs[len(e.IDs)-1] != 3 {
		t.Errorf("EncodeSingle = %v, want [CLS] ... [SEP]", e.IDs)
	}
	if got := tok.Decode(tok.Encode("Players played!")); got != "players played!" {
		t.Errorf("round trip = %q", got)
	}
	a, _ := tok.MarshalJSON()
	tok2, _ := tr.Train(slices.Values(texts))
	b, _ := tok2.MarshalJSON()
	if string(a) != string(b) {
		t.Error("two trainings on the same corpus differ")
	}
	if _, err := (WordPieceTrainer{VocabSize: 10, SpecialTokens: []string{"[CLS]"}}).Train(slices.Values(texts)); err == nil {
		t.Error("special tokens without [UNK] accepted")
	}
}
