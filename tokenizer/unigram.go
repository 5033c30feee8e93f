package tokenizer

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Unigram is SentencePiece's unigram language-model tokenizer, as
// XLM-RoBERTa, T5, ALBERT and mBART use it, read from a Hugging Face
// tokenizer.json: text is normalized (SentencePiece's precompiled charsmap,
// usually nmt_nfkc, and the normalizers that come with it), spaces become
// "▁" (the Metaspace pre-tokenizer), and each piece is split into the
// vocabulary tokens whose scores (log-probabilities) have the largest sum:
// the Viterbi path through the lattice of all tokens that occur in it.
// Characters that no token covers become the unk token, a run of them one
// unk token, or, if the model has byte_fallback, the <0xXX> tokens of their
// UTF-8 bytes.
//
// A Unigram is made by [Parse] or [Load]. It is safe for concurrent use.
type Unigram struct {
	voc          *vocabulary
	pieces       []string  // id -> piece
	scores       []float64 // id -> score
	unk          int32
	unkScore     float64 // min score - 10, as SentencePiece
	byteFallback bool
	byteIDs      [256]int32 // <0xXX> -> id, -1 if missing
	trie         pieceTrie

	norm    []normalizer // applied in order
	pre     preTokenizer
	dec     *metaspace // nil: tokens are concatenated
	post    *template
	raw     *matcher // added tokens matched in the raw text
	normed  *matcher // added tokens matched in the normalized text
	rawJSON struct{ normalizer, preTokenizer, decoder []byte }
}

var _ Tokenizer = (*Unigram)(nil)

// unkPenalty is what SentencePiece subtracts from the lowest score to score
// an unknown character.
const unkPenalty = 10.0

// newUnigram builds the model part of a Unigram.
func newUnigram(pieces []string, scores []float64, unk int32, byteFallback bool, added []AddedToken) (*Unigram, error) {
	if len(pieces) == 0 {
		return nil, fmt.Errorf("empty vocabulary")
	}
	if unk < 0 || int(unk) >= len(pieces) {
		return nil, fmt.Errorf("unk_id %d is not in the vocabulary of %d pieces", unk, len(pieces))
	}
	ids := make(map[string]int32, len(pieces))
	minScore := scores[0]
	for i, p := range pieces {
		if _, dup := ids[p]; dup {
			return nil, fmt.Errorf("vocab lists piece %q twice", p)
		}
		ids[p] = int32(i)
		minScore = min(minScore, scores[i])
	}
	voc, err := newVocabulary(ids, added)
	if err != nil {
		return nil, err
	}
	t := &Unigram{
		voc:          voc,
		pieces:       pieces,
		scores:       scores,
		unk:          unk,
		unkScore:     minScore - unkPenalty,
		byteFallback: byteFallback,
		trie:         buildPieceTrie(pieces),
	}
	for b := range t.byteIDs {
		t.byteIDs[b] = -1
		if id, ok := ids[fmt.Sprintf("<0x%02X>", b)]; ok {
			t.byteIDs[b] = id
		}
	}
	return t, nil
}

// setAdded builds the matchers for the added tokens: those marked
// Normalized are matched, normalized, in the normalized text.
func (t *Unigram) setAdded() {
	var raw, normed []AddedToken
	for _, a := range t.voc.added {
		if a.Normalized && len(t.norm) > 0 {
			a.Content = t.normalize(a.Content)
			if a.Content == "" {
				continue
			}
			normed = append(normed, a)
		} else {
			raw = append(raw, a)
		}
	}
	t.raw, t.normed = newMatcher(raw), newMatcher(normed)
}

func (t *Unigram) normalize(s string) string {
	for _, n := range t.norm {
		s = n.normalize(s)
	}
	return s
}

// Encode returns the token ids of text. Added tokens that occur in text
// ("<mask>") become their ids; <s> and </s> are not added (see
// EncodeSingle).
func (t *Unigram) Encode(text string) []int32 {
	ids := []int32{}
	add := func(id int32) { ids = append(ids, id) }
	first := true // the next piece starts the text (Metaspace's "first")
	t.raw.split(text, func(s string) {
		atStart := first
		first = false
		s = t.normalize(s)
		t.normed.split(s, func(s string) {
			t.pre.split(s, atStart, func(w string) { ids = t.appendPiece(ids, w) })
			atStart = false
		}, func(id int32) { atStart = false; add(id) })
	}, func(id int32) { first = false; add(id) })
	return ids
}

// EncodeSingle encodes text and adds the special tokens of the template:
// <s> text </s> for XLM-R.
func (t *Unigram) EncodeSingle(text string) Encoding {
	return t.post.apply(t.Encode(text), nil, false)
}

// EncodePair encodes a pair of texts laid out by the template: <s> a </s>
// </s> b </s> for XLM-R.
func (t *Unigram) EncodePair(a, b string) Encoding {
	return t.post.apply(t.Encode(a), t.Encode(b), true)
}

// appendPiece appends the ids of the best segmentation of w.
func (t *Unigram) appendPiece(ids []int32, w string) []int32 {
	if w == "" {
		return ids
	}
	// best[i]: the best path over w[:i]; from < 0 where none reaches i.
	type node struct {
		score float64
		from  int32
		id    int32
	}
	var buf [64]node
	var best []node
	if len(w)+1 <= len(buf) {
		best = buf[:len(w)+1]
	} else {
		best = make([]node, len(w)+1)
	}
	for i := range best {
		best[i].from = -1
	}
	best[0].from = 0
	for start := 0; start < len(w); {
		_, size := utf8.DecodeRuneInString(w[start:])
		here := best[start].score
		single := false
		t.trie.prefixes(w[start:], func(n int, id int32) {
			if n == size {
				single = true
			}
			c := here + t.scores[id]
			if nd := &best[start+n]; nd.from < 0 || c > nd.score {
				*nd = node{c, int32(start), id}
			}
		})
		if !single {
			c := here + t.unkScore
			if nd := &best[start+size]; nd.from < 0 || c > nd.score {
				*nd = node{c, int32(start), t.unk}
			}
		}
		start += size
	}
	// Backtrack; a run of unknown characters is one unk token.
	n := len(ids)
	for end := len(w); end > 0; {
		nd := best[end]
		start := int(nd.from)
		if nd.id == t.unk {
			for start > 0 && best[start].id == t.unk {
				start = int(best[start].from)
			}
			ids = t.appendUnk(ids, w[start:end])
		} else {
			ids = append(ids, nd.id)
		}
		end = start
	}
	reverse(ids[n:])
	return ids
}

// appendUnk appends, reversed, the ids of a run of unknown characters: its
// bytes if the model has byte fallback and all of them have tokens, or the
// unk token.
func (t *Unigram) appendUnk(ids []int32, s string) []int32 {
	if t.byteFallback {
		ok := true
		for i := 0; i < len(s) && ok; i++ {
			ok = t.byteIDs[s[i]] >= 0
		}
		if ok {
			for i := len(s) - 1; i >= 0; i-- {
				ids = append(ids, t.byteIDs[s[i]])
			}
			return ids
		}
	}
	return append(ids, t.unk)
}

func reverse(s []int32) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// Decode returns the text of ids, special tokens included: with a
// Metaspace decoder "▁" becomes a space, and the first token loses its "▁"
// when the pre-tokenizer prepends one. Ids not in the vocabulary are
// skipped.
func (t *Unigram) Decode(ids []int32) string {
	var b strings.Builder
	i := 0
	for _, id := range ids {
		tok, ok := t.voc.token(id)
		if !ok {
			continue
		}
		if t.dec == nil {
			b.WriteString(tok)
		} else {
			for _, r := range tok {
				switch {
				case r != t.dec.replacement:
					b.WriteRune(r)
				case i > 0 || t.dec.prepend == prependNever:
					b.WriteByte(' ')
				}
			}
		}
		i++
	}
	return b.String()
}

// VocabSize returns the number of tokens, added tokens included.
func (t *Unigram) VocabSize() int { return t.voc.size }

// TokenID returns the id of tok.
func (t *Unigram) TokenID(tok string) (int32, bool) { return t.voc.tokenID(tok) }

// Token returns the token with the given id.
func (t *Unigram) Token(id int32) (string, bool) { return t.voc.token(id) }

// IsSpecial reports whether id is a special added token.
func (t *Unigram) IsSpecial(id int32) bool { return t.voc.isSpecial(id) }

// AddedTokens returns the added tokens, ordered by id.
func (t *Unigram) AddedTokens() []AddedToken { return t.voc.addedTokens() }

// Score returns the score (log-probability) of the piece with the given id.
func (t *Unigram) Score(id int32) (float64, bool) {
	if id < 0 || int(id) >= len(t.scores) {
		return 0, false
	}
	return t.scores[id], true
}

// pieceTrie is a byte trie over the vocabulary's pieces, for finding every
// piece that starts a string, shortest first.
type pieceTrie struct {
	nodes  []trieNode
	labels []byte  // edges, each node's contiguous and sorted
	next   []int32 // edge targets
}

type trieNode struct {
	id        int32 // piece ending here, -1 if none
	edgeStart int32 // edges [edgeStart, edgeEnd) of labels and next
	edgeEnd   int32
}

func buildPieceTrie(pieces []string) pieceTrie {
	order := make([]int32, 0, len(pieces))
	for i, p := range pieces {
		if p != "" {
			order = append(order, int32(i))
		}
	}
	sort.Slice(order, func(a, b int) bool { return pieces[order[a]] < pieces[order[b]] })
	var t pieceTrie
	// build makes the node for order[lo:hi], which share their first
	// depth bytes, and returns its index.
	var build func(lo, hi, depth int) int32
	build = func(lo, hi, depth int) int32 {
		me := int32(len(t.nodes))
		t.nodes = append(t.nodes, trieNode{id: -1})
		if lo < hi && len(pieces[order[lo]]) == depth {
			t.nodes[me].id = order[lo]
			lo++
		}
		// Children: groups of equal byte at depth.
		type group struct {
			c      byte
			lo, hi int
		}
		var groups []group
		for i := lo; i < hi; {
			c := pieces[order[i]][depth]
			j := i + 1
			for j < hi && pieces[order[j]][depth] == c {
				j++
			}
			groups = append(groups, group{c, i, j})
			i = j
		}
		start := int32(len(t.labels))
		for _, g := range groups {
			t.labels = append(t.labels, g.c)
			t.next = append(t.next, 0)
		}
		t.nodes[me].edgeStart, t.nodes[me].edgeEnd = start, start+int32(len(groups))
		for k, g := range groups {
			t.next[int(start)+k] = build(g.lo, g.hi, depth+1)
		}
		return me
	}
	build(0, len(order), 0)
	return t
}

// prefixes calls f with the length and id of each piece that s starts
// with, shortest first.
func (t *pieceTrie) prefixes(s string, f func(n int, id int32)) {
	node := int32(0)
	for i := 0; i < len(s); i++ {
		nd := &t.nodes[node]
		labels := t.labels[nd.edgeStart:nd.edgeEnd]
		k := sort.Search(len(labels), func(k int) bool { return labels[k] >= s[i] })
		if k == len(labels) || labels[k] != s[i] {
			return
		}
		node = t.next[int(nd.edgeStart)+k]
		if id := t.nodes[node].id; id >= 0 {
			f(i+1, id)
		}
	}
}
