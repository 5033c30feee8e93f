package tokenizer

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

// unigramRef is a reference file written by testdata/gen_unigram.py:
// SentencePiece's ids for test strings.
type unigramRef struct {
	SentencePiece string `json:"sentencepiece"`
	Cases         []struct {
		Text   string  `json:"text"`
		IDs    []int32 `json:"ids"`
		SPMIDs []int32 `json:"spm_ids"`
	} `json:"cases"`
}

func loadUnigram(t testing.TB, name string) (*Unigram, unigramRef) {
	t.Helper()
	tok, err := Load("testdata/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	u, ok := tok.(*Unigram)
	if !ok {
		t.Fatalf("Load gave a %T", tok)
	}
	data, err := os.ReadFile("testdata/" + name + "_ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref unigramRef
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 50 {
		t.Fatalf("%d reference cases", len(ref.Cases))
	}
	return u, ref
}

// TestUnigramMatchesSentencePiece checks Encode against SentencePiece on a
// model trained by SentencePiece (nmt_nfkc normalization) and written as
// transformers writes XLM-R's tokenizer.json, with XLM-R's fairseq ids:
// SentencePiece's id i is i+1 for i >= 3 and <unk> (0) is 3.
func TestUnigramMatchesSentencePiece(t *testing.T) {
	tok, ref := loadUnigram(t, "unigram_xlmr")
	bos, _ := tok.TokenID("<s>")
	eos, _ := tok.TokenID("</s>")
	if bos != 0 || eos != 2 || tok.unk != 3 {
		t.Fatalf("<s> %d, </s> %d, unk %d; want 0, 2, 3", bos, eos, tok.unk)
	}
	fails := 0
	for _, c := range ref.Cases {
		// The reference's own mapping from SentencePiece's ids.
		for i, id := range c.SPMIDs {
			want := id + 1
			if id == 0 {
				want = 3
			}
			if c.IDs[i] != want {
				t.Fatalf("%q: reference ids %v do not map spm_ids %v", c.Text, c.IDs, c.SPMIDs)
			}
		}
		got := tok.Encode(c.Text)
		if !slices.Equal(got, c.IDs) {
			fails++
			t.Errorf("Encode(%q)\n got %v %q\nwant %v %q", c.Text, got, tokens(tok, got), c.IDs, tokens(tok, c.IDs))
			continue
		}
		e := tok.EncodeSingle(c.Text)
		want := append(append([]int32{0}, c.IDs...), 2)
		if !slices.Equal(e.IDs, want) || len(e.TypeIDs) != len(want) || slices.ContainsFunc(e.TypeIDs, func(x int32) bool { return x != 0 }) {
			t.Errorf("EncodeSingle(%q) = %v, want %v", c.Text, e, want)
		}
	}
	t.Logf("%d of %d strings match SentencePiece %s", len(ref.Cases)-fails, len(ref.Cases), ref.SentencePiece)
}

// TestUnigramByteFallback checks a model with byte_fallback and no
// charsmap against SentencePiece: unknown characters become their UTF-8
// bytes.
func TestUnigramByteFallback(t *testing.T) {
	tok, ref := loadUnigram(t, "unigram_bytes")
	if !tok.byteFallback {
		t.Fatal("byte_fallback not read")
	}
	bytesSeen := false
	for _, c := range ref.Cases {
		got := tok.Encode(c.Text)
		if !slices.Equal(got, c.IDs) {
			t.Errorf("Encode(%q)\n got %v %q\nwant %v %q", c.Text, got, tokens(tok, got), c.IDs, tokens(tok, c.IDs))
		}
		for _, id := range got {
			if s, _ := tok.Token(id); strings.HasPrefix(s, "<0x") {
				bytesSeen = true
			}
		}
	}
	if !bytesSeen {
		t.Error("no case used byte fallback")
	}
	// Decoding gives the text back, normalized as SentencePiece does.
	for _, s := range []string{"Hello world", "emoji 😀 and ☃"} {
		ids := tok.Encode(s)
		if got := tok.Decode(ids); !strings.Contains(got, "Hello") && !strings.Contains(got, "emoji") {
			t.Errorf("Decode(Encode(%q)) = %q", s, got)
		}
	}
}

func TestUnigramSpecialAndDecode(t *testing.T) {
	tok, _ := loadUnigram(t, "unigram_xlmr")
	mask, ok := tok.TokenID("<mask>")
	if !ok || !tok.IsSpecial(mask) || mask != int32(tok.VocabSize()-1) {
		t.Fatalf("<mask> = %d, %v", mask, ok)
	}
	hello := tok.Encode("Hello")
	world := tok.Encode("world")
	// <mask> swallows the space on its left (lstrip), as in XLM-R.
	got := tok.Encode("Hello <mask>world")
	want := append(append(slices.Clone(hello), mask), world...)
	if !slices.Equal(got, want) {
		t.Errorf("Encode with <mask> = %v, want %v", got, want)
	}
	e := tok.EncodePair("Hello", "world")
	want = append(append(append([]int32{0}, hello...), 2, 2), append(world, 2)...)
	if !slices.Equal(e.IDs, want) {
		t.Errorf("EncodePair = %v, want %v", e.IDs, want)
	}
	if got := tok.Decode(tok.Encode(" Hello  world ")); got != "Hello world" {
		t.Errorf("Decode = %q", got)
	}
	if got := tok.Decode(e.IDs); got != "<s> Hello</s></s> world</s>" {
		t.Errorf("Decode(pair) = %q", got)
	}
	if got := tok.Encode(""); got == nil || len(got) != 0 {
		t.Errorf("Encode(\"\") = %#v", got)
	}
}

// TestUnigramViterbi checks the segmentation on a hand-made vocabulary:
// the best sum of scores, ties broken as SentencePiece breaks them, and
// unknown characters fused into one unk.
func TestUnigramViterbi(t *testing.T) {
	tok := mustParse(t, `{"model": {"type": "Unigram", "unk_id": 0, "vocab": [
		["<unk>", 0], ["a", -1], ["b", -1], ["c", -1], ["d", -1], ["cd", -1.5], ["ab", -3], ["abc", -2.5], ["abcd", -10]]}}`)
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"abc", []string{"abc"}},
		// a b cd and abc d both score -3.5: the path reaching the end
		// first (from the earlier start) is kept, as in SentencePiece.
		{"abcd", []string{"a", "b", "cd"}},
		{"ab", []string{"a", "b"}},
		{"cd", []string{"cd"}},
		{"xxab", []string{"<unk>", "a", "b"}},
		{"axyzb", []string{"a", "<unk>", "b"}},
		{"", nil},
	} {
		got := tokens(tok, tok.Encode(c.in))
		if !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestUnigramMetaspace(t *testing.T) {
	vocab := `"vocab": [["<unk>", 0], ["▁", -2], ["▁a", -1], ["a", -1.5], ["▁b", -1], ["b", -1.5], ["<x>", 0]]`
	for _, c := range []struct {
		pre  string
		in   string
		want []string
	}{
		{`{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}`, "a b", []string{"▁a", "▁b"}},
		{`{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": true}`, "a b", []string{"a", "▁b"}},
		{`{"type": "Metaspace", "replacement": "▁", "add_prefix_space": false}`, "a b", []string{"a", "▁b"}},
		{`{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}`, "a<x>b", []string{"▁a", "<x>", "▁b"}},
		{`{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"}`, "a<x>b", []string{"▁a", "<x>", "b"}},
		{`{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"}`, "<x>b", []string{"<x>", "b"}},
		{`{"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"}]}`, "a  b", []string{"▁a", "b"}},
		{`null`, "a b", []string{"a", "<unk>", "b"}},
	} {
		js := `{"added_tokens": [{"id": 6, "content": "<x>", "special": true}], "pre_tokenizer": ` + c.pre +
			`, "decoder": ` + strings.ReplaceAll(c.pre, "WhitespaceSplit", "Metaspace") + `, "model": {"type": "Unigram", "unk_id": 0, ` + vocab + `}}`
		if strings.HasPrefix(c.pre, `{"type": "Sequence"`) || c.pre == "null" {
			js = strings.Replace(js, `"decoder": `+strings.ReplaceAll(c.pre, "WhitespaceSplit", "Metaspace"), `"decoder": null`, 1)
		}
		tok := mustParse(t, js)
		if got := tokens(tok, tok.Encode(c.in)); !slices.Equal(got, c.want) {
			t.Errorf("%s: Encode(%q) = %q, want %q", c.pre, c.in, got, c.want)
		}
		// What is written reads back the same.
		out, err := tok.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		back := mustParse(t, string(out))
		if got := back.Encode(c.in); !slices.Equal(got, tok.Encode(c.in)) {
			t.Errorf("%s: after MarshalJSON, Encode(%q) = %v", c.pre, c.in, got)
		}
	}
}

func TestUnigramNormalizers(t *testing.T) {
	for _, c := range []struct {
		norm, in, want string
	}{
		{`{"type": "Strip", "strip_left": true, "strip_right": false}`, "  a  ", "a  "},
		{`{"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "▁"}`, "a  b   c d", "a▁b▁c d"},
		{`{"type": "Replace", "pattern": {"String": "."}, "content": "!"}`, "a.b", "a!b"},
		{`{"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}, {"type": "Prepend", "prepend": "▁"}]}`, "ＡＢ", "▁ab"},
		{`{"type": "Precompiled", "precompiled_charsmap": ""}`, "ＡＢ", "ＡＢ"},
	} {
		ns, err := parseNormalizer(json.RawMessage(c.norm))
		if err != nil {
			t.Fatalf("%s: %v", c.norm, err)
		}
		s := c.in
		for _, n := range ns {
			s = n.normalize(s)
		}
		if s != c.want {
			t.Errorf("%s(%q) = %q, want %q", c.norm, c.in, s, c.want)
		}
	}
}

func TestPrecompiledCharsmap(t *testing.T) {
	tok, _ := loadUnigram(t, "unigram_xlmr")
	var pc *precompiled
	for _, n := range tok.norm {
		if p, ok := n.(*precompiled); ok {
			pc = p
		}
	}
	if pc == nil {
		t.Fatal("no Precompiled normalizer")
	}
	// nmt_nfkc's rules for the characters of the test strings.
	for in, want := range map[string]string{
		"ＡＢＣ": "ABC", "ﬁ": "fi", "①": "1", "\u3000": " ", "e\u0301": "é", "abc": "abc",
		"\xff": "\uFFFD", "": "",
	} {
		if got := pc.normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
	// A malformed charsmap is an error, not a panic.
	for _, b := range []string{"", "AAAA", "/////w=="} {
		js := `{"normalizer": {"type": "Precompiled", "precompiled_charsmap": "` + b + `"}, "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0]]}}`
		if tok, err := Parse([]byte(js)); err == nil {
			tok.Encode("abc")
		}
	}
}

func TestUnigramErrors(t *testing.T) {
	for _, js := range []string{
		`{"model": {"type": "Unigram", "vocab": [["<unk>", 0]]}}`,
		`{"model": {"type": "Unigram", "unk_id": 1, "vocab": [["<unk>", 0]]}}`,
		`{"model": {"type": "Unigram", "unk_id": 0, "vocab": []}}`,
		`{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0], ["<unk>", 1]]}}`,
		`{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>"]]}}`,
		`{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0]]}, "normalizer": {"type": "BertNormalizer"}}`,
		`{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0]]}, "normalizer": {"type": "Replace", "pattern": {"Regex": "("}, "content": ""}}`,
		`{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0]]}, "pre_tokenizer": {"type": "ByteLevel"}}`,
		`{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0]]}, "pre_tokenizer": {"type": "Metaspace", "replacement": "ab"}}`,
		`{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0]]}, "pre_tokenizer": {"type": "Metaspace", "replacement": "_", "add_prefix_space": false, "prepend_scheme": "always"}}`,
		`{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0]]}, "decoder": {"type": "ByteLevel"}}`,
	} {
		if _, err := Parse([]byte(js)); err == nil {
			t.Errorf("Parse(%s) succeeded", js)
		}
	}
}

func BenchmarkEncodeUnigram(b *testing.B) {
	tok, ref := loadUnigram(b, "unigram_xlmr")
	var texts []string
	n := 0
	for _, c := range ref.Cases {
		texts = append(texts, c.Text)
		n += len(c.Text)
	}
	b.SetBytes(int64(n))
	for b.Loop() {
		for _, s := range texts {
			tok.Encode(s)
		}
	}
}
