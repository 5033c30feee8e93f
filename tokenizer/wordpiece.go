package tokenizer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// BertNormalizer holds the text clean-up of BERT's BasicTokenizer (Hugging
// Face's BertNormalizer).
type BertNormalizer struct {
	// CleanText drops NUL, U+FFFD and control characters and turns every
	// whitespace character into a space.
	CleanText bool
	// ChineseChars puts spaces around CJK ideographs, so that each is a
	// word of its own.
	ChineseChars bool
	// StripAccents decomposes text (NFD) and drops nonspacing marks:
	// "café" becomes "cafe". Uncased BERT strips accents.
	StripAccents bool
	// Lowercase lower-cases text. Uncased BERT lower-cases.
	Lowercase bool
}

// Normalize returns s normalized.
func (n BertNormalizer) Normalize(s string) string {
	ascii := true
	if n.CleanText || n.ChineseChars {
		var b strings.Builder
		b.Grow(len(s))
		for _, r := range s {
			if r >= utf8.RuneSelf {
				ascii = false
			}
			if n.CleanText {
				if r == 0 || r == utf8.RuneError || isControl(r) {
					continue
				}
				if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r >= utf8.RuneSelf && unicode.IsSpace(r) {
					r = ' '
				}
			}
			if n.ChineseChars && r >= 0x3400 && isCJK(r) {
				b.WriteByte(' ')
				b.WriteRune(r)
				b.WriteByte(' ')
				continue
			}
			b.WriteRune(r)
		}
		s = b.String()
	} else {
		ascii = isASCII(s)
	}
	if n.StripAccents && !ascii {
		s = norm.NFD.String(s)
		var b strings.Builder
		b.Grow(len(s))
		for _, r := range s {
			if !unicode.Is(unicode.Mn, r) {
				b.WriteRune(r)
			}
		}
		s = b.String()
	}
	if n.Lowercase {
		if ascii {
			s = strings.ToLower(s)
		} else {
			s = lower(s)
		}
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// lower lower-cases s rune by rune, with the one multi-rune mapping of
// Unicode's unconditional lower-casing (İ becomes i̇), as Rust does.
func lower(s string) string {
	return strings.Map(unicode.ToLower, strings.ReplaceAll(s, "\u0130", "i\u0307"))
}

// isControl reports whether r is a control or format character other than
// tab, newline and carriage return.
func isControl(r rune) bool {
	switch r {
	case '\t', '\n', '\r':
		return false
	}
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isCJK reports whether r is in the CJK Unified Ideographs blocks that
// BERT splits into single characters.
func isCJK(r rune) bool {
	return 0x4E00 <= r && r <= 0x9FFF ||
		0x3400 <= r && r <= 0x4DBF ||
		0x20000 <= r && r <= 0x2A6DF ||
		0x2A700 <= r && r <= 0x2B73F ||
		0x2B740 <= r && r <= 0x2B81F ||
		0x2B820 <= r && r <= 0x2CEAF ||
		0xF900 <= r && r <= 0xFAFF ||
		0x2F800 <= r && r <= 0x2FA1F
}

// isBertPunct reports whether BERT splits r off as punctuation: ASCII
// punctuation and symbols, and Unicode punctuation (P*).
func isBertPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return '!' <= r && r <= '/' || ':' <= r && r <= '@' || '[' <= r && r <= '`' || '{' <= r && r <= '~'
	}
	return unicode.IsPunct(r)
}

// bertWords calls f for each word of s as BERT's pre-tokenizer splits it:
// at whitespace, which is dropped, and around each punctuation character.
func bertWords(s string, f func(string)) {
	start := -1
	for i, r := range s {
		switch {
		case unicode.IsSpace(r):
			if start >= 0 {
				f(s[start:i])
				start = -1
			}
		case isBertPunct(r):
			if start >= 0 {
				f(s[start:i])
				start = -1
			}
			f(s[i : i+utf8.RuneLen(r)])
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		f(s[start:])
	}
}

// WordPiece is BERT's tokenizer: text is normalized (BertNormalizer), split
// into words at whitespace and punctuation, and each word is split into the
// longest vocabulary tokens from its start, pieces after the first being
// spelled with the "##" prefix. A word that cannot be split, or that is
// longer than 100 characters, becomes [UNK].
//
// A WordPiece is safe for concurrent use.
type WordPiece struct {
	voc      *vocabulary
	norm     *BertNormalizer // nil: none
	unk      int32
	unkToken string
	prefix   string // continuing-subword prefix, "##"
	maxChars int
	raw      *matcher // added tokens matched in the raw text
	normed   *matcher // added tokens matched in the normalized text
	post     *template
	// The decoder: pieces starting with decPrefix are glued to the
	// token before them, others follow a space; cleanup drops spaces
	// before punctuation. Without a prefix, tokens are joined by spaces.
	decPrefix string
	cleanup   bool
}

// WordPieceOptions configures a WordPiece tokenizer.
type WordPieceOptions struct {
	// Normalizer is the text normalization; uncased BERT lower-cases
	// and strips accents, and both clean text and split CJK characters.
	Normalizer BertNormalizer
	// UnkToken defaults to "[UNK]".
	UnkToken string
	// Prefix is the continuing-subword prefix, "##" by default.
	Prefix string
	// MaxInputCharsPerWord defaults to 100.
	MaxInputCharsPerWord int
}

// BertSpecialTokens are the special tokens of BERT, in the order BERT's
// vocabularies and this package's trainer give them ids.
var BertSpecialTokens = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

// NewWordPiece returns a WordPiece tokenizer over vocab. The BERT special
// tokens that vocab holds ([PAD], [UNK], [CLS], [SEP], [MASK]) become
// special added tokens, matched in the raw text, and if [CLS] and [SEP] are
// there, EncodeSingle and EncodePair add them as BERT does.
func NewWordPiece(vocab map[string]int32, opts WordPieceOptions) (*WordPiece, error) {
	var added []AddedToken
	for _, s := range BertSpecialTokens {
		if id, ok := vocab[s]; ok {
			added = append(added, AddedToken{ID: id, Content: s, Special: true})
		}
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

func newWordPiece(vocab map[string]int32, added []AddedToken, opts WordPieceOptions) (*WordPiece, error) {
	voc, err := newVocabulary(vocab, added)
	if err != nil {
		return nil, err
	}
	if opts.UnkToken == "" {
		opts.UnkToken = "[UNK]"
	}
	if opts.Prefix == "" {
		opts.Prefix = "##"
	}
	if opts.MaxInputCharsPerWord <= 0 {
		opts.MaxInputCharsPerWord = 100
	}
	unk, ok := vocab[opts.UnkToken]
	if !ok {
		return nil, fmt.Errorf("unk_token %q is not in the vocabulary", opts.UnkToken)
	}
	t := &WordPiece{
		voc:       voc,
		norm:      &opts.Normalizer,
		unk:       unk,
		unkToken:  opts.UnkToken,
		prefix:    opts.Prefix,
		maxChars:  opts.MaxInputCharsPerWord,
		decPrefix: opts.Prefix,
		cleanup:   true,
	}
	t.setAdded()
	return t, nil
}

// setAdded builds the matchers for the added tokens: those marked
// Normalized are matched, normalized, in the normalized text.
func (t *WordPiece) setAdded() {
	var raw, normed []AddedToken
	for _, a := range t.voc.added {
		if a.Normalized && t.norm != nil {
			a.Content = t.norm.Normalize(a.Content)
			normed = append(normed, a)
		} else {
			raw = append(raw, a)
		}
	}
	t.raw, t.normed = newMatcher(raw), newMatcher(normed)
}

// Encode returns the token ids of text. Added tokens that occur in text
// ("[MASK]") become their ids; [CLS] and [SEP] are not added (see
// EncodeSingle).
func (t *WordPiece) Encode(text string) []int32 {
	ids := []int32{}
	add := func(id int32) { ids = append(ids, id) }
	t.raw.split(text, func(s string) {
		if t.norm != nil {
			s = t.norm.Normalize(s)
		}
		t.normed.split(s, func(s string) {
			bertWords(s, func(w string) { ids = t.appendWord(ids, w) })
		}, add)
	}, add)
	return ids
}

// EncodeSingle encodes text and adds the special tokens of the template:
// [CLS] text [SEP] for BERT, all of type 0.
func (t *WordPiece) EncodeSingle(text string) Encoding {
	return t.post.apply(t.Encode(text), nil, false)
}

// EncodePair encodes a sentence pair as BERT expects it: [CLS] a [SEP] b
// [SEP], type ids 0 up to and including the first [SEP], 1 after.
func (t *WordPiece) EncodePair(a, b string) Encoding {
	return t.post.apply(t.Encode(a), t.Encode(b), true)
}

// appendWord appends the ids of one word: longest match first.
func (t *WordPiece) appendWord(ids []int32, w string) []int32 {
	if utf8.RuneCountInString(w) > t.maxChars {
		return append(ids, t.unk)
	}
	n := len(ids)
	var buf [128]byte
	sub := append(buf[:0], t.prefix...)
	for start := 0; start < len(w); {
		end := len(w)
		found := false
		for end > start {
			var id int32
			var ok bool
			if start == 0 {
				id, ok = t.voc.ids[w[:end]]
			} else {
				sub = append(sub[:len(t.prefix)], w[start:end]...)
				id, ok = t.voc.ids[string(sub)] // no allocation: map lookup
			}
			if ok {
				ids = append(ids, id)
				found = true
				break
			}
			_, size := utf8.DecodeLastRuneInString(w[start:end])
			end -= size
		}
		if !found {
			return append(ids[:n], t.unk)
		}
		start = end
	}
	return ids
}

// Decode returns the text of ids: tokens are joined with spaces, except
// that "##" pieces are glued to the token before them, and spaces before
// . , ! ? are dropped, as Hugging Face's WordPiece decoder does. Special
// tokens are kept; ids not in the vocabulary are skipped.
func (t *WordPiece) Decode(ids []int32) string {
	var b strings.Builder
	first := true
	for _, id := range ids {
		tok, ok := t.voc.token(id)
		if !ok {
			continue
		}
		if !first {
			if rest, ok := strings.CutPrefix(tok, t.decPrefix); ok && t.decPrefix != "" {
				tok = rest
			} else {
				tok = " " + tok
			}
		}
		if t.cleanup {
			tok = cleanup(tok)
		}
		b.WriteString(tok)
		first = false
	}
	return b.String()
}

// cleanup is Hugging Face's clean_up_tokenization, applied to one token.
var cleanup = strings.NewReplacer(
	" .", ".", " ?", "?", " !", "!", " ,", ",", " ' ", "'",
	" n't", "n't", " 'm", "'m", " do not", " don't",
	" 's", "'s", " 've", "'ve", " 're", "'re",
).Replace

// VocabSize returns the number of tokens, added tokens included.
func (t *WordPiece) VocabSize() int { return t.voc.size }

// TokenID returns the id of tok.
func (t *WordPiece) TokenID(tok string) (int32, bool) { return t.voc.tokenID(tok) }

// Token returns the token with the given id.
func (t *WordPiece) Token(id int32) (string, bool) { return t.voc.token(id) }

// IsSpecial reports whether id is a special added token.
func (t *WordPiece) IsSpecial(id int32) bool { return t.voc.isSpecial(id) }

// AddedTokens returns the added tokens, ordered by id.
func (t *WordPiece) AddedTokens() []AddedToken { return t.voc.addedTokens() }

// Vocab returns a copy of the model vocabulary, token to id.
func (t *WordPiece) Vocab() map[string]int32 {
	m := make(map[string]int32, len(t.voc.ids))
	for k, v := range t.voc.ids {
		m[k] = v
	}
	return m
}
