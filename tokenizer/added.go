package tokenizer

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// An AddedToken is a token matched in the raw text before the model sees it,
// as Hugging Face's added_tokens are: "<|endoftext|>" for GPT-2, "[CLS]" or
// "[MASK]" for BERT.
type AddedToken struct {
	ID      int32
	Content string
	// Special marks tokens that a model's template adds ([CLS], [SEP]) or
	// that delimit documents (<|endoftext|>).
	Special bool
	// SingleWord restricts matches to those not inside a word.
	SingleWord bool
	// LStrip and RStrip make a match swallow the whitespace on its left
	// or right.
	LStrip, RStrip bool
	// Normalized means the token is matched in the normalized text
	// (lower-cased, for uncased BERT) rather than the raw text.
	Normalized bool
}

// A matcher finds added tokens in text: leftmost match first, and the
// longest of those starting at the same place.
type matcher struct {
	byFirst [256][]int // indices into toks, longest content first
	toks    []AddedToken
}

func newMatcher(toks []AddedToken) *matcher {
	m := &matcher{toks: toks}
	for i, t := range toks {
		if t.Content == "" {
			continue
		}
		c := t.Content[0]
		m.byFirst[c] = append(m.byFirst[c], i)
	}
	for c := range m.byFirst {
		l := m.byFirst[c]
		sort.SliceStable(l, func(i, j int) bool { return len(toks[l[i]].Content) > len(toks[l[j]].Content) })
	}
	return m
}

// next finds the first match in s[from:]. It returns the span the match
// covers (whitespace taken by LStrip and RStrip included) and the token id.
func (m *matcher) next(s string, from int) (start, end int, id int32, ok bool) {
	if m == nil || len(m.toks) == 0 {
		return 0, 0, 0, false
	}
	for p := from; p < len(s); p++ {
		for _, k := range m.byFirst[s[p]] {
			t := &m.toks[k]
			if !strings.HasPrefix(s[p:], t.Content) {
				continue
			}
			e := p + len(t.Content)
			if t.SingleWord && (endsWithWordChar(s[from:p]) || startsWithWordChar(s[e:])) {
				continue
			}
			b := p
			if t.LStrip {
				for b > from {
					r, w := utf8.DecodeLastRuneInString(s[from:b])
					if !unicode.IsSpace(r) {
						break
					}
					b -= w
				}
			}
			if t.RStrip {
				for e < len(s) {
					r, w := utf8.DecodeRuneInString(s[e:])
					if !unicode.IsSpace(r) {
						break
					}
					e += w
				}
			}
			return b, e, t.ID, true
		}
	}
	return 0, 0, 0, false
}

func isWordChar(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

func endsWithWordChar(s string) bool {
	r, w := utf8.DecodeLastRuneInString(s)
	return w > 0 && isWordChar(r)
}

func startsWithWordChar(s string) bool {
	r, w := utf8.DecodeRuneInString(s)
	return w > 0 && isWordChar(r)
}

// split calls text for each stretch of s between added tokens and token for
// each added token found, in order.
func (m *matcher) split(s string, text func(string), token func(int32)) {
	from := 0
	for {
		b, e, id, ok := m.next(s, from)
		if !ok {
			break
		}
		if b > from {
			text(s[from:b])
		}
		token(id)
		from = e
	}
	if from < len(s) {
		text(s[from:])
	}
}

// vocabulary is the id space shared by a model's vocabulary and its added
// tokens.
type vocabulary struct {
	ids    map[string]int32 // model vocabulary
	tokens []string         // id -> token, model and added
	valid  []bool           // whether an id is in use
	size   int              // number of ids in use
	added  []AddedToken
	addID  map[string]int32 // added tokens
	// special[id] reports whether id is a special added token.
	special map[int32]bool
}

// maxIDFor bounds how sparse ids may be: with n tokens every id must be
// below 4n+1024, so that a malformed file cannot make us allocate an
// enormous table.
func maxIDFor(n int) int64 { return 4*int64(n) + 1024 }

// newVocabulary checks vocab and added and builds the id tables. Added
// tokens whose content is in vocab must carry the same id; the others must
// use ids no model token uses.
func newVocabulary(vocab map[string]int32, added []AddedToken) (*vocabulary, error) {
	v := &vocabulary{
		ids:     vocab,
		added:   append([]AddedToken(nil), added...),
		addID:   make(map[string]int32, len(added)),
		special: make(map[int32]bool),
	}
	maxID := int32(-1)
	limit := maxIDFor(len(vocab) + len(added))
	check := func(tok string, id int32) error {
		if id < 0 || int64(id) >= limit {
			return fmt.Errorf("token %q: id %d out of range [0, %d)", tok, id, limit)
		}
		maxID = max(maxID, id)
		return nil
	}
	for tok, id := range vocab {
		if err := check(tok, id); err != nil {
			return nil, err
		}
	}
	for _, a := range added {
		if err := check(a.Content, a.ID); err != nil {
			return nil, fmt.Errorf("added %w", err)
		}
	}
	v.tokens = make([]string, maxID+1)
	v.valid = make([]bool, maxID+1)
	for tok, id := range vocab {
		if v.valid[id] {
			a, b := min(tok, v.tokens[id]), max(tok, v.tokens[id])
			return nil, fmt.Errorf("duplicate id %d for tokens %q and %q", id, a, b)
		}
		v.tokens[id], v.valid[id] = tok, true
		v.size++
	}
	for _, a := range added {
		if a.Content == "" {
			return nil, fmt.Errorf("added token with id %d is empty", a.ID)
		}
		if _, dup := v.addID[a.Content]; dup {
			return nil, fmt.Errorf("added token %q listed twice", a.Content)
		}
		if id, ok := vocab[a.Content]; ok {
			if id != a.ID {
				return nil, fmt.Errorf("added token %q has id %d but the vocabulary gives it id %d", a.Content, a.ID, id)
			}
		} else {
			if v.valid[a.ID] {
				return nil, fmt.Errorf("added token %q has id %d, already used by %q", a.Content, a.ID, v.tokens[a.ID])
			}
			v.tokens[a.ID], v.valid[a.ID] = a.Content, true
			v.size++
		}
		v.addID[a.Content] = a.ID
		if a.Special {
			v.special[a.ID] = true
		}
	}
	return v, nil
}

func (v *vocabulary) tokenID(tok string) (int32, bool) {
	if id, ok := v.ids[tok]; ok {
		return id, true
	}
	id, ok := v.addID[tok]
	return id, ok
}

func (v *vocabulary) token(id int32) (string, bool) {
	if id < 0 || int(id) >= len(v.tokens) || !v.valid[id] {
		return "", false
	}
	return v.tokens[id], true
}

func (v *vocabulary) isSpecial(id int32) bool { return v.special[id] }

// addedTokens returns a copy of the added tokens, ordered by id.
func (v *vocabulary) addedTokens() []AddedToken {
	a := append([]AddedToken(nil), v.added...)
	sort.SliceStable(a, func(i, j int) bool { return a[i].ID < a[j].ID })
	return a
}
