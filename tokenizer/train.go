package tokenizer

import (
	"container/heap"
	"errors"
	"fmt"
	"iter"
	"sort"
	"strings"
	"unicode/utf8"
)

// BPETrainer learns a byte-level BPE vocabulary from a corpus.
//
// Training splits each text as GPT-2 does, counts the distinct pieces, and
// then repeatedly merges the most frequent adjacent pair of tokens. A tie
// between pairs of equal count goes to the pair whose left token's bytes
// sort first, then whose right token's bytes sort first, so training is
// deterministic. Counts are updated incrementally, and only in the pieces
// that contain the merged pair.
type BPETrainer struct {
	// VocabSize is the size of the vocabulary to reach, special tokens
	// included. The vocabulary always holds the 256 byte tokens.
	VocabSize int
	// MinFrequency stops training when the best pair occurs fewer times
	// than this (at least 2 is used: a pair seen once is not merged).
	MinFrequency int
	// SpecialTokens are added after the learned tokens, in order, as
	// special added tokens ("<|endoftext|>" for GPT-2 style models).
	SpecialTokens []string
}

// Train learns a tokenizer from texts. The ids are laid out as GPT-2's:
// the 256 byte tokens in GPT-2's order, then one token per merge, then the
// special tokens.
func (tr BPETrainer) Train(texts iter.Seq[string]) (*BPE, error) {
	if tr.VocabSize < 256+len(tr.SpecialTokens) {
		return nil, fmt.Errorf("vocab size %d is below the 256 byte tokens plus %d special tokens", tr.VocabSize, len(tr.SpecialTokens))
	}
	counts := make(map[string]int64)
	for text := range texts {
		for i := 0; i < len(text); {
			e := gpt2PieceEnd(text, i)
			p := text[i:e]
			if c, ok := counts[p]; ok {
				counts[p] = c + 1
			} else {
				counts[strings.Clone(p)] = 1
			}
			i = e
		}
	}
	symbols := make([]string, 256) // raw bytes of each symbol
	var byteSym [256]int32
	for i, b := range byteOrder {
		symbols[i] = string([]byte{b})
		byteSym[b] = int32(i)
	}
	words := make([]trainWord, 0, len(counts))
	for w, c := range counts {
		syms := make([]int32, len(w))
		for i := 0; i < len(w); i++ {
			syms[i] = byteSym[w[i]]
		}
		words = append(words, trainWord{syms: syms, count: c})
	}
	maxSymbols := tr.VocabSize - len(tr.SpecialTokens)
	symbols, merges := learnMerges(words, symbols, maxSymbols, int64(tr.MinFrequency),
		func(a, b string) string { return a + b })

	vocab := make(map[string]int32, len(symbols))
	for id, s := range symbols {
		vocab[byteLevelString(s)] = int32(id)
	}
	pairs := make([][2]string, len(merges))
	for i, m := range merges {
		pairs[i] = [2]string{byteLevelString(symbols[m[0]]), byteLevelString(symbols[m[1]])}
	}
	added, err := specialTokens(tr.SpecialTokens, vocab)
	if err != nil {
		return nil, err
	}
	return NewBPE(vocab, pairs, added, BPEOptions{})
}

// specialTokens gives each of names a new id after those of vocab, or the
// id it has in vocab.
func specialTokens(names []string, vocab map[string]int32) ([]AddedToken, error) {
	var added []AddedToken
	next := int32(len(vocab))
	seen := make(map[string]bool)
	for _, s := range names {
		if s == "" {
			return nil, errors.New("empty special token")
		}
		if seen[s] {
			return nil, fmt.Errorf("special token %q listed twice", s)
		}
		seen[s] = true
		id, ok := vocab[s]
		if !ok {
			id = next
			next++
		}
		added = append(added, AddedToken{ID: id, Content: s, Special: true})
	}
	return added, nil
}

// WordPieceTrainer learns a WordPiece vocabulary from a corpus, as Hugging
// Face's trainer does: words (normalized and split as the tokenizer will
// split them) are spelled as their first character followed by "##"
// characters, and the most frequent adjacent pair is merged until the
// vocabulary is full, ties going to the pair whose tokens sort first.
type WordPieceTrainer struct {
	// VocabSize is the size of the vocabulary to reach, special tokens
	// included. All characters seen are kept, even if that exceeds it.
	VocabSize int
	// MinFrequency stops training when the best pair occurs fewer times
	// than this (at least 2 is used).
	MinFrequency int
	// SpecialTokens get ids 0, 1, ...; nil means BertSpecialTokens.
	SpecialTokens []string
	// Options configure the tokenizer; Options.Normalizer is also used
	// to prepare the corpus.
	Options WordPieceOptions
}

// Train learns a tokenizer from texts. Ids are the special tokens first,
// then the characters (sorted), then one token per merge.
func (tr WordPieceTrainer) Train(texts iter.Seq[string]) (*WordPiece, error) {
	specials := tr.SpecialTokens
	if specials == nil {
		specials = BertSpecialTokens
	}
	opts := tr.Options
	if opts.UnkToken == "" {
		opts.UnkToken = "[UNK]"
	}
	if opts.Prefix == "" {
		opts.Prefix = "##"
	}
	if opts.MaxInputCharsPerWord <= 0 {
		opts.MaxInputCharsPerWord = 100
	}
	if !contains(specials, opts.UnkToken) {
		return nil, fmt.Errorf("special tokens %q lack the unk token %q", specials, opts.UnkToken)
	}
	counts := make(map[string]int64)
	for text := range texts {
		text = opts.Normalizer.Normalize(text)
		bertWords(text, func(w string) {
			if utf8.RuneCountInString(w) > opts.MaxInputCharsPerWord {
				return
			}
			if c, ok := counts[w]; ok {
				counts[w] = c + 1
			} else {
				counts[strings.Clone(w)] = 1
			}
		})
	}
	// The alphabet: every first character and every "##" character.
	alpha := make(map[string]bool)
	for w := range counts {
		for i, r := range w {
			if i == 0 {
				alpha[string(r)] = true
			} else {
				alpha[opts.Prefix+string(r)] = true
			}
		}
	}
	symbols := make([]string, 0, len(alpha))
	for s := range alpha {
		symbols = append(symbols, s)
	}
	sort.Strings(symbols)
	symID := make(map[string]int32, len(symbols))
	for i, s := range symbols {
		symID[s] = int32(i)
	}
	words := make([]trainWord, 0, len(counts))
	for w, c := range counts {
		var syms []int32
		for i, r := range w {
			s := string(r)
			if i > 0 {
				s = opts.Prefix + s
			}
			syms = append(syms, symID[s])
		}
		words = append(words, trainWord{syms: syms, count: c})
	}
	symbols, _ = learnMerges(words, symbols, tr.VocabSize-len(specials), int64(tr.MinFrequency),
		func(a, b string) string { return a + strings.TrimPrefix(b, opts.Prefix) })

	vocab := make(map[string]int32, len(specials)+len(symbols))
	for _, s := range specials {
		if _, dup := vocab[s]; dup {
			return nil, fmt.Errorf("special token %q listed twice", s)
		}
		vocab[s] = int32(len(vocab))
	}
	for _, s := range symbols {
		if _, ok := vocab[s]; !ok {
			vocab[s] = int32(len(vocab))
		}
	}
	var added []AddedToken
	for _, s := range specials {
		added = append(added, AddedToken{ID: vocab[s], Content: s, Special: true})
	}
	t, err := newWordPiece(vocab, added, opts)
	if err != nil {
		return nil, err
	}
	cls, okC := vocab["[CLS]"]
	sep, okS := vocab["[SEP]"]
	if okC && okS {
		t.post = bertTemplate("[CLS]", cls, "[SEP]", sep)
	}
	return t, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A trainWord is a distinct piece of the corpus, as symbols, and how many
// times it occurs.
type trainWord struct {
	syms  []int32
	count int64
}

// learnMerges merges the most frequent pairs of symbols in words until
// there are maxSymbols symbols or no pair occurs minFreq times. symbols
// holds the initial symbols' text; join gives a merged symbol's text. A
// merge whose text is already a symbol reuses that symbol. It returns the
// symbols and the merges, in order.
func learnMerges(words []trainWord, symbols []string, maxSymbols int, minFreq int64, join func(a, b string) string) ([]string, [][2]int32) {
	minFreq = max(minFreq, 2)
	symID := make(map[string]int32, len(symbols))
	for i, s := range symbols {
		symID[s] = int32(i)
	}
	counts := make(map[uint64]int64)
	where := make(map[uint64][]int32) // pair -> words that have (had) it
	for wi, w := range words {
		for i := 0; i+1 < len(w.syms); i++ {
			k := pairKey(w.syms[i], w.syms[i+1])
			counts[k] += w.count
			if l := where[k]; len(l) == 0 || l[len(l)-1] != int32(wi) {
				where[k] = append(l, int32(wi))
			}
		}
	}
	q := &pairQueue{symbols: &symbols}
	for k, c := range counts {
		q.items = append(q.items, pairCount{pair: k, count: c})
	}
	heap.Init(q)

	var merges [][2]int32
	stamp := make([]int32, len(words)) // last merge that visited each word
	for i := range stamp {
		stamp[i] = -1
	}
	var changed []uint64
	for len(symbols) < maxSymbols && q.Len() > 0 {
		top := heap.Pop(q).(pairCount)
		if cur := counts[top.pair]; cur != top.count {
			if cur > 0 {
				heap.Push(q, pairCount{pair: top.pair, count: cur})
			}
			continue
		}
		if top.count < minFreq {
			break
		}
		a, b := int32(top.pair>>32), int32(uint32(top.pair))
		text := join(symbols[a], symbols[b])
		c, ok := symID[text]
		if !ok {
			c = int32(len(symbols))
			symbols = append(symbols, text)
			symID[text] = c
		}
		merges = append(merges, [2]int32{a, b})
		mi := int32(len(merges) - 1)

		changed = changed[:0]
		for _, wi := range where[top.pair] {
			if stamp[wi] == mi {
				continue
			}
			stamp[wi] = mi
			w := &words[wi]
			w.syms = mergeWord(w.syms, a, b, c, func(k uint64, d int64) {
				counts[k] += d * w.count
				if d > 0 {
					if l := where[k]; len(l) == 0 || l[len(l)-1] != wi {
						where[k] = append(l, wi)
					}
					changed = append(changed, k)
				}
			})
		}
		delete(counts, top.pair)
		delete(where, top.pair)
		sort.Slice(changed, func(i, j int) bool { return changed[i] < changed[j] })
		for i, k := range changed {
			if i > 0 && changed[i-1] == k {
				continue
			}
			if n := counts[k]; n > 0 {
				heap.Push(q, pairCount{pair: k, count: n})
			}
		}
	}
	return symbols, merges
}

// mergeWord replaces each occurrence of a b in syms, left to right, with
// c, and reports the changes in the counts of the word's other pairs.
func mergeWord(syms []int32, a, b, c int32, delta func(pair uint64, d int64)) []int32 {
	out := syms[:0]
	for i := 0; i < len(syms); i++ {
		if i+1 < len(syms) && syms[i] == a && syms[i+1] == b {
			if len(out) > 0 {
				p := out[len(out)-1]
				delta(pairKey(p, a), -1)
				delta(pairKey(p, c), +1)
			}
			if i+2 < len(syms) {
				n := syms[i+2]
				delta(pairKey(b, n), -1)
				delta(pairKey(c, n), +1)
			}
			out = append(out, c)
			i++
			continue
		}
		out = append(out, syms[i])
	}
	return out
}

type pairCount struct {
	pair  uint64
	count int64
}

// pairQueue orders pairs by count, highest first, then by the text of the
// left and right symbols.
type pairQueue struct {
	items   []pairCount
	symbols *[]string
}

func (q *pairQueue) Len() int { return len(q.items) }
func (q *pairQueue) Less(i, j int) bool {
	x, y := q.items[i], q.items[j]
	if x.count != y.count {
		return x.count > y.count
	}
	s := *q.symbols
	xa, xb := s[x.pair>>32], s[uint32(x.pair)]
	ya, yb := s[y.pair>>32], s[uint32(y.pair)]
	if xa != ya {
		return xa < ya
	}
	return xb < yb
}
func (q *pairQueue) Swap(i, j int) { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *pairQueue) Push(x any)    { q.items = append(q.items, x.(pairCount)) }
func (q *pairQueue) Pop() any {
	x := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return x
}
