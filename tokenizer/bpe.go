package tokenizer

import (
	"container/heap"
	"fmt"
	"strings"
	"sync"
)

// BPE is a byte-level byte-pair-encoding tokenizer in the style of GPT-2:
// text is split by GPT-2's pre-tokenization pattern, each piece is taken as
// bytes, each byte as the vocabulary's token for it, and adjacent tokens
// are merged by rank, lowest first, until no merge applies.
//
// Tokens are stored in their byte-level form, as in Hugging Face's
// vocab.json and tokenizer.json: a space is "Ġ", a newline "Ċ", so the
// GPT-2 token for " hello" is "Ġhello".
//
// A BPE is safe for concurrent use.
type BPE struct {
	voc     *vocabulary
	byteID  [256]int32         // token for each byte, -1 if none
	merges  map[uint64]merge   // (left<<32 | right) -> merge
	pairs   [][2]int32         // merges in rank order, for writing
	raw     [][]byte           // id -> bytes it decodes to
	added   *matcher           // added tokens, matched in the raw text
	post    *template          // nil: add nothing (GPT-2)
	unk     int32              // -1: drop bytes without a token
	opts    BPEOptions         // options as given
	cacheMu sync.RWMutex       // guards cache
	cache   map[string][]int32 // piece -> ids
}

type merge struct {
	rank int32
	id   int32
}

// BPEOptions holds the less common settings of a BPE tokenizer. The zero
// value is GPT-2's.
type BPEOptions struct {
	// AddPrefixSpace puts a space before text that does not start with
	// one, so that the first word is encoded like the others (RoBERTa
	// checkpoints are sometimes used this way).
	AddPrefixSpace bool
	// NoRegex encodes text without GPT-2's pre-tokenization, as a single
	// piece (Hugging Face's use_regex=false).
	NoRegex bool
	// UnkToken, if set, stands for bytes that have no token of their own;
	// otherwise such bytes are dropped. Byte-level vocabularies have a
	// token for every byte, so this matters only for odd files.
	UnkToken string
	// FuseUnk merges consecutive UnkTokens into one.
	FuseUnk bool
	// IgnoreMerges encodes a piece that is itself a token as that token,
	// without applying merges.
	IgnoreMerges bool
}

const cacheLimit = 1 << 16 // pieces held by the encoder cache

// NewBPE returns a byte-level BPE tokenizer. vocab maps tokens (in
// byte-level form) to ids; merges lists the merges, highest priority
// first, each a pair of tokens whose concatenation is also a token. added
// lists the added tokens, which may or may not be in vocab ("<|endoftext|>"
// is in GPT-2's).
func NewBPE(vocab map[string]int32, merges [][2]string, added []AddedToken, opts BPEOptions) (*BPE, error) {
	voc, err := newVocabulary(vocab, added)
	if err != nil {
		return nil, err
	}
	t := &BPE{
		voc:    voc,
		merges: make(map[uint64]merge, len(merges)),
		pairs:  make([][2]int32, 0, len(merges)),
		added:  newMatcher(voc.added),
		unk:    -1,
		opts:   opts,
		cache:  make(map[string][]int32),
	}
	for b := range t.byteID {
		t.byteID[b] = -1
		if id, ok := vocab[string(byteRune[b])]; ok {
			t.byteID[b] = id
		}
	}
	if opts.UnkToken != "" {
		id, ok := voc.tokenID(opts.UnkToken)
		if !ok {
			return nil, fmt.Errorf("unk_token %q is not in the vocabulary", opts.UnkToken)
		}
		t.unk = id
	}
	for i, m := range merges {
		a, okA := vocab[m[0]]
		b, okB := vocab[m[1]]
		c, okC := vocab[m[0]+m[1]]
		switch {
		case !okA:
			return nil, fmt.Errorf("merge %d (%q %q): %q is not in the vocabulary", i, m[0], m[1], m[0])
		case !okB:
			return nil, fmt.Errorf("merge %d (%q %q): %q is not in the vocabulary", i, m[0], m[1], m[1])
		case !okC:
			return nil, fmt.Errorf("merge %d (%q %q): the result %q is not in the vocabulary", i, m[0], m[1], m[0]+m[1])
		}
		k := pairKey(a, b)
		if old, dup := t.merges[k]; dup {
			return nil, fmt.Errorf("merge %d (%q %q) repeats merge %d", i, m[0], m[1], old.rank)
		}
		t.merges[k] = merge{rank: int32(i), id: c}
		t.pairs = append(t.pairs, [2]int32{a, b})
	}
	t.raw = make([][]byte, len(voc.tokens))
	for id, tok := range voc.tokens {
		if !voc.valid[id] {
			continue
		}
		if _, inModel := vocab[tok]; inModel {
			if raw, ok := byteLevelBytes(tok); ok {
				t.raw[id] = raw
				continue
			}
		}
		// Added tokens, and tokens that are not in byte-level form,
		// decode to their text.
		t.raw[id] = []byte(tok)
	}
	return t, nil
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// Encode returns the token ids of text. Added tokens such as
// "<|endoftext|>" that occur literally in text become their ids, as they do
// in Hugging Face's tokenizers; no other special tokens are added.
func (t *BPE) Encode(text string) []int32 {
	ids := []int32{}
	t.added.split(text,
		func(s string) { ids = t.encodeText(ids, s) },
		func(id int32) { ids = append(ids, id) })
	return ids
}

// EncodeOrdinary returns the token ids of text, treating added tokens as
// plain text: "<|endoftext|>" becomes "<", "|", "endoftext", "|>".
func (t *BPE) EncodeOrdinary(text string) []int32 {
	return t.encodeText([]int32{}, text)
}

// EncodeSingle encodes text as Encode does and adds the special tokens of
// the tokenizer's template, if it has one (GPT-2's has none).
func (t *BPE) EncodeSingle(text string) Encoding {
	return t.post.apply(t.Encode(text), nil, false)
}

// EncodePair encodes a pair of texts and lays them out by the tokenizer's
// template; without one, the ids of b follow those of a, with type id 1.
func (t *BPE) EncodePair(a, b string) Encoding {
	return t.post.apply(t.Encode(a), t.Encode(b), true)
}

func (t *BPE) encodeText(ids []int32, s string) []int32 {
	if s == "" {
		return ids
	}
	if t.opts.AddPrefixSpace && s[0] != ' ' {
		s = " " + s
	}
	if t.opts.NoRegex {
		return t.encodePiece(ids, s)
	}
	for i := 0; i < len(s); {
		e := gpt2PieceEnd(s, i)
		ids = t.encodePiece(ids, s[i:e])
		i = e
	}
	return ids
}

// encodePiece appends the ids of one pre-token.
func (t *BPE) encodePiece(ids []int32, piece string) []int32 {
	cacheable := len(piece) <= 64
	if cacheable {
		t.cacheMu.RLock()
		c, ok := t.cache[piece]
		t.cacheMu.RUnlock()
		if ok {
			return append(ids, c...)
		}
	}
	n := len(ids)
	ids = t.bpe(ids, piece)
	if cacheable {
		c := append([]int32(nil), ids[n:]...)
		t.cacheMu.Lock()
		if len(t.cache) >= cacheLimit {
			clear(t.cache)
		}
		t.cache[strings.Clone(piece)] = c
		t.cacheMu.Unlock()
	}
	return ids
}

// bpe appends the ids of piece, merging as the merges say.
func (t *BPE) bpe(dst []int32, piece string) []int32 {
	if t.opts.IgnoreMerges {
		if id, ok := t.voc.ids[byteLevelString(piece)]; ok {
			return append(dst, id)
		}
	}
	syms := make([]int32, 0, len(piece))
	for i := 0; i < len(piece); i++ {
		id := t.byteID[piece[i]]
		if id < 0 {
			if t.unk < 0 || t.opts.FuseUnk && len(syms) > 0 && syms[len(syms)-1] == t.unk {
				continue
			}
			id = t.unk
		}
		syms = append(syms, id)
	}
	if len(syms) < 64 {
		syms = t.mergeSmall(syms)
	} else {
		syms = t.mergeLarge(syms)
	}
	return append(dst, syms...)
}

// mergeSmall applies merges to syms by rescanning for the best pair, which
// is fastest for the short pieces of ordinary text.
func (t *BPE) mergeSmall(syms []int32) []int32 {
	const none = int32(1<<31 - 1)
	rank := func(i int) (int32, int32) {
		if m, ok := t.merges[pairKey(syms[i], syms[i+1])]; ok {
			return m.rank, m.id
		}
		return none, 0
	}
	var ranks [64]int32
	var ids [64]int32
	for i := 0; i+1 < len(syms); i++ {
		ranks[i], ids[i] = rank(i)
	}
	for len(syms) > 1 {
		best := 0
		for i := 1; i+1 < len(syms); i++ {
			if ranks[i] < ranks[best] {
				best = i
			}
		}
		if ranks[best] == none {
			break
		}
		syms[best] = ids[best]
		copy(syms[best+1:], syms[best+2:])
		copy(ranks[best+1:], ranks[best+2:len(syms)])
		copy(ids[best+1:], ids[best+2:len(syms)])
		syms = syms[:len(syms)-1]
		if best > 0 {
			ranks[best-1], ids[best-1] = rank(best - 1)
		}
		if best+1 < len(syms) {
			ranks[best], ids[best] = rank(best)
		}
	}
	return syms
}

// mergeLarge applies merges with a priority queue of candidate pairs, in
// O(n log n) for pieces of n bytes.
func (t *BPE) mergeLarge(syms []int32) []int32 {
	n := len(syms)
	next := make([]int, n) // index of the next live symbol, n at the end
	prev := make([]int, n) // index of the previous live symbol, -1 at the start
	for i := range syms {
		next[i], prev[i] = i+1, i-1
	}
	q := make(mergeQueue, 0, n)
	push := func(i int) {
		if i < 0 || next[i] >= n {
			return
		}
		if m, ok := t.merges[pairKey(syms[i], syms[next[i]])]; ok {
			heap.Push(&q, queued{rank: m.rank, pos: i, id: m.id})
		}
	}
	for i := 0; i+1 < n; i++ {
		push(i)
	}
	dead := make([]bool, n)
	for len(q) > 0 {
		c := heap.Pop(&q).(queued)
		i := c.pos
		if dead[i] || next[i] >= n {
			continue
		}
		j := next[i]
		m, ok := t.merges[pairKey(syms[i], syms[j])]
		if !ok || m.rank != c.rank {
			continue // stale: one side has changed since
		}
		syms[i] = m.id
		dead[j] = true
		next[i] = next[j]
		if next[j] < n {
			prev[next[j]] = i
		}
		push(prev[i])
		push(i)
	}
	out := syms[:0]
	for i := 0; i < n; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}

type queued struct {
	rank int32
	pos  int
	id   int32
}

// mergeQueue orders candidate merges by rank, then leftmost first.
type mergeQueue []queued

func (q mergeQueue) Len() int { return len(q) }
func (q mergeQueue) Less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].pos < q[j].pos
}
func (q mergeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *mergeQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *mergeQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// Decode returns the text of ids. Bytes that do not form valid UTF-8 (as
// when ids end inside a multi-byte character) become U+FFFD, one for each
// maximal ill-formed sequence, as in Python and Hugging Face. Ids not in
// the vocabulary are skipped.
func (t *BPE) Decode(ids []int32) string {
	return string(appendLossy(nil, t.DecodeBytes(ids)))
}

// DecodeBytes returns the bytes of ids, which need not be valid UTF-8.
// For any bytes s, DecodeBytes(EncodeOrdinary(s)) == s when every byte has
// a token, as in all byte-level vocabularies.
func (t *BPE) DecodeBytes(ids []int32) []byte {
	var b []byte
	for _, id := range ids {
		if id >= 0 && int(id) < len(t.raw) {
			b = append(b, t.raw[id]...)
		}
	}
	return b
}

// VocabSize returns the number of tokens, added tokens included.
func (t *BPE) VocabSize() int { return t.voc.size }

// TokenID returns the id of a token, given in byte-level form ("Ġhello")
// or, for an added token, as its content ("<|endoftext|>").
func (t *BPE) TokenID(tok string) (int32, bool) { return t.voc.tokenID(tok) }

// Token returns the token with the given id, in byte-level form.
func (t *BPE) Token(id int32) (string, bool) { return t.voc.token(id) }

// IsSpecial reports whether id is a special added token.
func (t *BPE) IsSpecial(id int32) bool { return t.voc.isSpecial(id) }

// AddedTokens returns the added tokens, ordered by id.
func (t *BPE) AddedTokens() []AddedToken { return t.voc.addedTokens() }

// Merges returns the merges, highest priority first.
func (t *BPE) Merges() [][2]string {
	m := make([][2]string, len(t.pairs))
	for i, p := range t.pairs {
		m[i] = [2]string{t.voc.tokens[p[0]], t.voc.tokens[p[1]]}
	}
	return m
}

// Vocab returns a copy of the model vocabulary (added tokens that are not
// in it excluded), token to id.
func (t *BPE) Vocab() map[string]int32 {
	m := make(map[string]int32, len(t.voc.ids))
	for k, v := range t.voc.ids {
		m[k] = v
	}
	return m
}
