package tokenizer

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

func TestByteLevelMapping(t *testing.T) {
	seen := make(map[rune]bool)
	for b := 0; b < 256; b++ {
		r := byteRune[b]
		if seen[r] {
			t.Fatalf("byte %d maps to %q, already taken", b, r)
		}
		seen[r] = true
		if runeByte[r] != byte(b) {
			t.Fatalf("runeByte[%q] = %d, want %d", r, runeByte[r], b)
		}
	}
	for b, want := range map[byte]rune{' ': 'Ġ', '\n': 'Ċ', '\t': 'ĉ', 'a': 'a', '!': '!', 0: 'Ā', 0x7f: 'ġ', 0xa0: 'ł', 0xad: 'Ń', 0xff: 'ÿ'} {
		if byteRune[b] != want {
			t.Errorf("byteRune[%#x] = %q, want %q", b, byteRune[b], want)
		}
	}
	if got := byteLevelString(" héllo\n"); got != "ĠhÃ©lloĊ" {
		t.Errorf("byteLevelString = %q", got)
	}
	if raw, ok := byteLevelBytes("ĠhÃ©lloĊ"); !ok || string(raw) != " héllo\n" {
		t.Errorf("byteLevelBytes = %q, %v", raw, ok)
	}
	if _, ok := byteLevelBytes("Ġ中"); ok {
		t.Error(`byteLevelBytes("Ġ中") succeeded`)
	}
}

func pieces(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		e := gpt2PieceEnd(s, i)
		out = append(out, s[i:e])
		i = e
	}
	return out
}

func TestPreTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"Hello  world", []string{"Hello", " ", " world"}},
		{"Hello   world", []string{"Hello", "  ", " world"}},
		{"a\n\nb", []string{"a", "\n", "\n", "b"}},
		{"a\n\n b", []string{"a", "\n\n", " b"}},
		{"a \t b", []string{"a", " \t", " b"}},
		{"a\tb", []string{"a", "\t", "b"}},
		{"trailing  ", []string{"trailing", "  "}},
		{"trailing \n", []string{"trailing", " \n"}},
		{"  ", []string{"  "}},
		{" ", []string{" "}},
		{"I'm you'll it's we've they're he'd can't", []string{"I", "'m", " you", "'ll", " it", "'s", " we", "'ve", " they", "'re", " he", "'d", " can", "'t"}},
		{"DON'T 'S 'x", []string{"DON", "'", "T", " '", "S", " '", "x"}}, // contractions are lower case only
		{"'''s", []string{"'''", "s"}},
		{" 's", []string{" '", "s"}},
		{"abc123 456", []string{"abc", "123", " 456"}},
		{"x ½³", []string{"x", " ½³"}},
		{"...!? ,", []string{"...!?", " ,"}},
		{"a—b", []string{"a", "—", "b"}},
		{"日本語 テキスト", []string{"日本語", " テキスト"}},
		{"e\u0301t\u00e9", []string{"e", "\u0301", "t\u00e9"}},
		{"😀 👍🏽", []string{"😀", " 👍🏽"}},
		{"x\u00a0y", []string{"x", "\u00a0", "y"}},
		{"x\u00a0\u00a0y", []string{"x", "\u00a0", "\u00a0", "y"}},
		{"x \u3000y", []string{"x", " ", "\u3000", "y"}},
		{"bad\xffbyte \xfe", []string{"bad", "\xff", "byte", " \xfe"}},
	}
	for _, tt := range tests {
		if got := pieces(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("pieces(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// gpt2Regexp is GPT-2's pattern, in a regexp engine with lookahead.
var gpt2Regexp = regexp2.MustCompile(`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, regexp2.None)

// regexpPieces splits valid UTF-8 s with gpt2Regexp.
func regexpPieces(s string) []string {
	runes := []rune(s)
	var out []string
	m, _ := gpt2Regexp.FindRunesMatch(runes)
	for m != nil {
		out = append(out, string(runes[m.Index:m.Index+m.Length]))
		m, _ = gpt2Regexp.FindNextMatch(m)
	}
	return out
}

// TestPreTokenizeMatchesRegexp checks the hand-written pre-tokenizer
// against GPT-2's regular expression, run by an engine with lookahead.
func TestPreTokenizeMatchesRegexp(t *testing.T) {
	texts := append(randomTexts(3000, 5), oracleCorpus...)
	for _, text := range texts {
		if got, want := pieces(text), regexpPieces(text); !slices.Equal(got, want) {
			t.Errorf("pieces(%q)\n got %q\nwant %q", text, got, want)
		}
	}
}

func TestGPT2KnownIDs(t *testing.T) {
	bpe, _ := gpt2Tokenizers(t)
	tests := []struct {
		in   string
		want []int32
	}{
		{"Hello world", []int32{15496, 995}},
		{"<|endoftext|>", []int32{50256}},
		{" the", []int32{262}},
		{"\n\n", []int32{628}},
	}
	for _, tt := range tests {
		if got := bpe.Encode(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Encode(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := bpe.EncodeOrdinary("<|endoftext|>"); slices.Contains(got, 50256) {
		t.Errorf("EncodeOrdinary made a special token: %v", got)
	}
	if !bpe.IsSpecial(50256) || bpe.IsSpecial(262) {
		t.Error("IsSpecial wrong")
	}
	if tok, _ := bpe.Token(262); tok != "Ġthe" {
		t.Errorf("Token(262) = %q", tok)
	}
}

func TestDecodeInvalidUTF8(t *testing.T) {
	bpe, _ := gpt2Tokenizers(t)
	// GPT-2 has no token for "🤖" (F0 9F A4 96): it takes several, and
	// the first alone is an incomplete character.
	ids := bpe.EncodeOrdinary("🤖")
	if len(ids) < 2 {
		t.Fatalf("🤖 encodes as %v", ids)
	}
	if got := bpe.DecodeBytes(ids[:1]); !strings.HasPrefix("🤖", string(got)) || len(got) >= 4 {
		t.Errorf("DecodeBytes = %q", got)
	}
	if got := bpe.Decode(ids[:1]); got != "\uFFFD" {
		t.Errorf("Decode of a truncated 🤖 = %q, want one U+FFFD", got)
	}
	tests := []struct{ in, want string }{
		{"ok", "ok"},
		{"\xe2\x82", "\uFFFD"},
		{"\xe2\x82A", "\uFFFDA"},
		{"\xff\xfe", "\uFFFD\uFFFD"},
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // a surrogate: each byte ill-formed
		{"\xf0\x9f\x98", "\uFFFD"},
		{"\xf0\x9f\x98\x80\xf0", "😀\uFFFD"},
		{"\xc0\xaf", "\uFFFD\uFFFD"},
		{"\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"\uFFFD", "\uFFFD"},
	}
	for _, tt := range tests {
		if got := string(appendLossy(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("appendLossy(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestMergePaths checks that the two merge loops agree.
func TestMergePaths(t *testing.T) {
	bpe, _ := gpt2Tokenizers(t)
	texts := append(randomTexts(500, 9), oracleCorpus...)
	texts = append(texts, strings.Repeat("ab", 100), strings.Repeat("🤖", 40), strings.Repeat(" ", 200))
	for _, text := range texts {
		for _, p := range append(pieces(text), text) {
			syms := make([]int32, len(p))
			for i := 0; i < len(p); i++ {
				syms[i] = bpe.byteID[p[i]]
			}
			if len(syms) >= 64 {
				continue
			}
			small := bpe.mergeSmall(slices.Clone(syms))
			large := bpe.mergeLarge(slices.Clone(syms))
			if !slices.Equal(small, large) {
				t.Fatalf("piece %q: mergeSmall %v, mergeLarge %v", p, small, large)
			}
		}
	}
}

func TestAddedTokens(t *testing.T) {
	vocab := make(map[string]int32)
	for b := 0; b < 256; b++ {
		vocab[string(byteRune[byteOrder[b]])] = int32(b)
	}
	added := []AddedToken{
		{ID: 256, Content: "<mask>", Special: true, LStrip: true},
		{ID: 257, Content: "<eos>", Special: true, RStrip: true},
		{ID: 258, Content: "word", SingleWord: true},
		{ID: 259, Content: "<mask>x"}, // longer match wins
		{ID: 260, Content: "café"},
	}
	tok, err := NewBPE(vocab, nil, added, BPEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := tok.TokenID("a")
	sp, _ := tok.TokenID("Ġ")
	tests := []struct {
		in   string
		want []int32
	}{
		{"a <mask>", []int32{a, 256}},      // lstrip takes the space
		{"a  <mask>a", []int32{a, 256, a}}, // and all of it
		{"<eos>  a", []int32{257, a}},      // rstrip
		{"a word a", []int32{a, sp, 258, sp, a}},
		{"awordy", append([]int32{a}, tok.EncodeOrdinary("wordy")...)}, // not a single word
		{"<mask>x", []int32{259}},
		{"café", []int32{260}},
	}
	for _, tt := range tests {
		if got := tok.Encode(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Encode(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	// Added tokens that are not in the vocabulary decode to their text.
	if got := tok.Decode([]int32{260, 256, 259}); got != "café<mask><mask>x" {
		t.Errorf("Decode = %q", got)
	}
	if tok.VocabSize() != 261 {
		t.Errorf("VocabSize = %d", tok.VocabSize())
	}
	if got := tok.AddedTokens(); len(got) != 5 || got[0].Content != "<mask>" {
		t.Errorf("AddedTokens = %v", got)
	}
}

func TestBPEOptions(t *testing.T) {
	vocab := make(map[string]int32)
	for b := 0; b < 256; b++ {
		vocab[string(byteRune[byteOrder[b]])] = int32(b)
	}
	vocab["Ġhi"], vocab["Ġh"], vocab["hi"] = 256, 257, 258
	merges := [][2]string{{"Ġ", "h"}, {"Ġh", "i"}}
	plain, _ := NewBPE(vocab, merges, nil, BPEOptions{})
	prefix, _ := NewBPE(vocab, merges, nil, BPEOptions{AddPrefixSpace: true})
	ignore, _ := NewBPE(vocab, merges, nil, BPEOptions{IgnoreMerges: true})
	noRegex, _ := NewBPE(vocab, merges, nil, BPEOptions{NoRegex: true})
	h, _ := plain.TokenID("h")
	i, _ := plain.TokenID("i")
	if got := plain.Encode("hi"); !slices.Equal(got, []int32{h, i}) {
		t.Errorf("plain: %v", got)
	}
	if got := prefix.Encode("hi"); !slices.Equal(got, []int32{256}) {
		t.Errorf("AddPrefixSpace: %v", got)
	}
	if got := ignore.Encode("hi"); !slices.Equal(got, []int32{258}) {
		t.Errorf("IgnoreMerges: %v", got)
	}
	if got := noRegex.Encode("hi hi"); len(got) != 3 {
		t.Errorf("NoRegex: %v", got)
	}
	// A vocabulary without byte tokens: bytes are dropped or become unk.
	small := map[string]int32{"a": 0, "<unk>": 1}
	drop, _ := NewBPE(small, nil, nil, BPEOptions{})
	unk, _ := NewBPE(small, nil, nil, BPEOptions{UnkToken: "<unk>"})
	fuse, _ := NewBPE(small, nil, nil, BPEOptions{UnkToken: "<unk>", FuseUnk: true})
	if got := drop.Encode("abba"); !slices.Equal(got, []int32{0, 0}) {
		t.Errorf("drop: %v", got)
	}
	if got := unk.Encode("abba"); !slices.Equal(got, []int32{0, 1, 1, 0}) {
		t.Errorf("unk: %v", got)
	}
	if got := fuse.Encode("abba"); !slices.Equal(got, []int32{0, 1, 0}) {
		t.Errorf("fuse: %v", got)
	}
}

func TestNewBPEErrors(t *testing.T) {
	vocab := map[string]int32{"a": 0, "b": 1, "ab": 2}
	tests := []struct {
		vocab  map[string]int32
		merges [][2]string
		added  []AddedToken
		opts   BPEOptions
		want   string
	}{
		{vocab, [][2]string{{"a", "c"}}, nil, BPEOptions{}, `"c" is not in the vocabulary`},
		{vocab, [][2]string{{"b", "a"}}, nil, BPEOptions{}, `the result "ba" is not in the vocabulary`},
		{vocab, [][2]string{{"a", "b"}, {"a", "b"}}, nil, BPEOptions{}, "repeats merge 0"},
		{map[string]int32{"a": 0, "b": 0}, nil, nil, BPEOptions{}, "duplicate id 0"},
		{map[string]int32{"a": -1}, nil, nil, BPEOptions{}, "out of range"},
		{vocab, nil, []AddedToken{{ID: 1, Content: "x"}}, BPEOptions{}, `already used by "b"`},
		{vocab, nil, []AddedToken{{ID: 3, Content: "a"}}, BPEOptions{}, "the vocabulary gives it id 0"},
		{vocab, nil, nil, BPEOptions{UnkToken: "<unk>"}, "unk_token"},
	}
	for _, tt := range tests {
		_, err := NewBPE(tt.vocab, tt.merges, tt.added, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewBPE(%v, %q, %v) error %v, want %q", tt.vocab, tt.merges, tt.added, err, tt.want)
		}
	}
}

func TestConcurrentEncode(t *testing.T) {
	bpe, _ := gpt2Tokenizers(t)
	texts := randomTexts(200, 21)
	want := make([][]int32, len(texts))
	for i, s := range texts {
		want[i] = bpe.Encode(s)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, s := range texts {
				if got := bpe.Encode(s); !slices.Equal(got, want[i]) {
					t.Errorf("concurrent Encode(%q) = %v, want %v", s, got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestRoundTripBytes(t *testing.T) {
	bpe, _ := gpt2Tokenizers(t)
	for _, s := range append(randomTexts(300, 13), "\xff\xfe\x00 bad \xe2\x82 bytes", "\xc3") {
		if got := bpe.DecodeBytes(bpe.EncodeOrdinary(s)); string(got) != s {
			t.Errorf("DecodeBytes(EncodeOrdinary(%q)) = %q", s, got)
		}
		if utf8.ValidString(s) {
			if got := bpe.Decode(bpe.Encode(s)); got != s {
				t.Errorf("Decode(Encode(%q)) = %q", s, got)
			}
		}
	}
}
