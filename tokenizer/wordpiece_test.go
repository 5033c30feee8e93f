package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

var uncased = BertNormalizer{CleanText: true, ChineseChars: true, StripAccents: true, Lowercase: true}

func TestBertNormalizer(t *testing.T) {
	cased := BertNormalizer{CleanText: true, ChineseChars: true}
	tests := []struct {
		n        BertNormalizer
		in, want string
	}{
		{uncased, "Hello World", "hello world"},
		{uncased, "Héllo Wörld Ñandú", "hello world nandu"},
		{uncased, "ÀÉÎÕÜ ß Æ", "aeiou ß æ"},
		{uncased, "tab\there\nnewline\r\n", "tab here newline  "},
		{uncased, "nul\x00 ctrl\x07 zw\u200bsp bom\ufeff rep\ufffd", "nul ctrl zwsp bom rep"},
		{uncased, "nbsp\u00a0ideo\u3000line\u2028", "nbsp ideo line "},
		{uncased, "vt\v ff\f nel\u0085", "vt ff nel"},
		{uncased, "中文abc日本", " 中  文 abc 日  本 "},
		{uncased, "한국어", "\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165"}, // NFD splits Hangul into jamo, not marks: kept, as in BERT
		{uncased, "İstanbul", "istanbul"},
		{uncased, "ΣΊΣΥΦΟΣ", "σισυφοσ"},
		{cased, "Héllo WORLD", "Héllo WORLD"},
		{cased, "e\u0301", "e\u0301"},
		{BertNormalizer{Lowercase: true}, "İ", "i\u0307"},
		{BertNormalizer{StripAccents: true}, "Crème Brûlée", "Creme Brulee"},
		{BertNormalizer{}, "a\x00b\u4e2d", "a\x00b\u4e2d"},
	}
	for _, tt := range tests {
		if got := tt.n.Normalize(tt.in); got != tt.want {
			t.Errorf("%+v.Normalize(%q) = %q, want %q", tt.n, tt.in, got, tt.want)
		}
	}
}

func TestBertWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Hello, world!", []string{"Hello", ",", "world", "!"}},
		{"  spaced   out  ", []string{"spaced", "out"}},
		{"it's a $5 deal (really)...", []string{"it", "'", "s", "a", "$", "5", "deal", "(", "really", ")", ".", ".", "."}},
		{"a+b=c^2 ~x `y` |z| <w>", []string{"a", "+", "b", "=", "c", "^", "2", "~", "x", "`", "y", "`", "|", "z", "|", "<", "w", ">"}},
		{"«quote» — dash¿", []string{"«", "quote", "»", "—", "dash", "¿"}},
		{"€100 ©2024", []string{"€100", "©2024"}}, // Unicode symbols are not punctuation
		{"tab\tnew\nline", []string{"tab", "new", "line"}},
		{"", nil},
	}
	for _, tt := range tests {
		var got []string
		bertWords(tt.in, func(w string) { got = append(got, w) })
		if !slices.Equal(got, tt.want) {
			t.Errorf("bertWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// testBert returns a small uncased BERT tokenizer.
func testBert(t testing.TB) *WordPiece {
	t.Helper()
	words := []string{
		"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
		"un", "##aff", "##able", "hello", "world", ",", "!", ".", "?", "'", "s",
		"the", "run", "##ning", "##n", "a", "##b", "##c", "中", "文", "cafe", "i", "do", "not", "##s", "play",
	}
	vocab := make(map[string]int32)
	for i, w := range words {
		vocab[w] = int32(i)
	}
	tok, err := NewWordPiece(vocab, WordPieceOptions{Normalizer: uncased})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func tokens(t Tokenizer, ids []int32) []string {
	var s []string
	for _, id := range ids {
		tok, _ := t.Token(id)
		s = append(s, tok)
	}
	return s
}

func TestWordPieceEncode(t *testing.T) {
	tok := testBert(t)
	tests := []struct {
		in   string
		want []string
	}{
		{"unaffable", []string{"un", "##aff", "##able"}},
		{"UNAFFABLE!", []string{"un", "##aff", "##able", "!"}},
		{"Hello, World.", []string{"hello", ",", "world", "."}},
		{"running", []string{"run", "##ning"}},
		{"runn", []string{"run", "##n"}},
		{"abc ab a", []string{"a", "##b", "##c", "a", "##b", "a"}},
		{"abx", []string{"[UNK]"}},                // no piece for "x": the whole word is unknown
		{"xyz hello", []string{"[UNK]", "hello"}}, // unknown word
		{"Café plays", []string{"cafe", "play", "##s"}},
		{"中文", []string{"中", "文"}},
		{"hello[MASK]world", []string{"hello", "[MASK]", "world"}}, // added tokens match in the raw text
		{"[mask]", []string{"[UNK]", "[UNK]", "[UNK]"}},            // only as written: [MASK] is not normalized
		{"[CLS] hello [SEP]", []string{"[CLS]", "hello", "[SEP]"}},
		{strings.Repeat("a", 100), []string{"[UNK]"}}, // no "##a"
		{"", nil},
		{" \t\n ", nil},
	}
	for _, tt := range tests {
		if got := tokens(tok, tok.Encode(tt.in)); !slices.Equal(got, tt.want) {
			t.Errorf("Encode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Words over 100 characters are unknown even when they would split.
	vocab := tok.Vocab()
	vocab["##a"] = int32(len(vocab))
	tok2, err := NewWordPiece(vocab, WordPieceOptions{Normalizer: uncased})
	if err != nil {
		t.Fatal(err)
	}
	if got := tokens(tok2, tok2.Encode(strings.Repeat("a", 100))); len(got) != 100 {
		t.Errorf("100 a's: %d tokens, want 100", len(got))
	}
	if got := tokens(tok2, tok2.Encode(strings.Repeat("a", 101))); !slices.Equal(got, []string{"[UNK]"}) {
		t.Errorf("101 a's: %q, want [UNK]", got)
	}
}

func TestWordPieceSpecial(t *testing.T) {
	tok := testBert(t)
	e := tok.EncodeSingle("Hello world")
	if want := []int32{2, 8, 9, 3}; !slices.Equal(e.IDs, want) {
		t.Errorf("EncodeSingle IDs = %v, want %v", e.IDs, want)
	}
	if want := []int32{0, 0, 0, 0}; !slices.Equal(e.TypeIDs, want) {
		t.Errorf("EncodeSingle TypeIDs = %v, want %v", e.TypeIDs, want)
	}
	p := tok.EncodePair("Hello world", "the cafe!")
	if want := []int32{2, 8, 9, 3, 16, 25, 11, 3}; !slices.Equal(p.IDs, want) {
		t.Errorf("EncodePair IDs = %v, want %v", p.IDs, want)
	}
	if want := []int32{0, 0, 0, 0, 1, 1, 1, 1}; !slices.Equal(p.TypeIDs, want) {
		t.Errorf("EncodePair TypeIDs = %v, want %v", p.TypeIDs, want)
	}
	if !tok.IsSpecial(2) || tok.IsSpecial(8) {
		t.Error("IsSpecial wrong")
	}
	if n := tok.VocabSize(); n != 31 {
		t.Errorf("VocabSize = %d, want 31", n)
	}
}

func TestWordPieceDecode(t *testing.T) {
	tok := testBert(t)
	tests := []struct {
		in   string
		want string
	}{
		{"unaffable", "unaffable"},
		{"Hello, world!", "hello, world!"},
		{"the cafe . the ? a !", "the cafe. the? a!"},
		{"i do not", "i do not"},
		{"hello ' s", "hello ' s"},   // the decoder cleans up one token at a time, as Hugging Face's does
		{"run ##ning", "run ##ning"}, // "##" is punctuation to BERT, so this is "run # # ning"
	}
	for _, tt := range tests {
		ids := tok.Encode(tt.in)
		if tt.in == "run ##ning" {
			ids = []int32{17, 18}
			tt.want = "running"
		}
		if got := tok.Decode(ids); got != tt.want {
			t.Errorf("Decode(Encode(%q)) = %q, want %q", tt.in, got, tt.want)
		}
	}
	e := tok.EncodePair("hello", "world")
	if got := tok.Decode(e.IDs); got != "[CLS] hello [SEP] world [SEP]" {
		t.Errorf("Decode(pair) = %q", got)
	}
	if got := tok.Decode([]int32{8, -1, 999, 9}); got != "hello world" {
		t.Errorf("unknown ids: %q", got)
	}
}

func TestNewWordPieceErrors(t *testing.T) {
	if _, err := NewWordPiece(map[string]int32{"a": 0}, WordPieceOptions{}); err == nil || !strings.Contains(err.Error(), "[UNK]") {
		t.Errorf("missing [UNK]: %v", err)
	}
	if _, err := NewWordPiece(map[string]int32{"[UNK]": 0, "a": 0}, WordPieceOptions{}); err == nil || !strings.Contains(err.Error(), "duplicate id") {
		t.Errorf("duplicate id: %v", err)
	}
}
