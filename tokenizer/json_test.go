package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A tokenizer.json laid out as Hugging Face writes GPT-2's, with a tiny
// vocabulary. Merges are "a b" strings, as tokenizers before 0.20 wrote.
const tinyGPT2JSON = `{
  "version": "1.0",
  "truncation": null,
  "padding": null,
  "added_tokens": [
    {"id": 9, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": true}
  ],
  "normalizer": null,
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
  "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
  "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
  "model": {
    "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "", "end_of_word_suffix": "",
    "fuse_unk": false, "byte_fallback": false,
    "vocab": {"h": 0, "i": 1, "Ġ": 2, "hi": 3, "Ġh": 4, "Ġhi": 5, "!": 6, "Ċ": 7, "ĠĊ": 8, "<|endoftext|>": 9},
    "merges": ["Ġ h", "Ġh i", "h i"]
  }
}`

// The same with merges as pairs, as tokenizers 0.20 and later write.
var tinyGPT2PairsJSON = strings.Replace(tinyGPT2JSON, `["Ġ h", "Ġh i", "h i"]`, `[["Ġ", "h"], ["Ġh", "i"], ["h", "i"]]`, 1)

// A tokenizer.json laid out as Hugging Face writes bert-base-uncased's.
const tinyBertJSON = `{
  "version": "1.0",
  "truncation": null,
  "padding": null,
  "added_tokens": [
    {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 4, "content": "[MASK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
  ],
  "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {
    "type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
    "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
             {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
    "special_tokens": {
      "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
      "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}
    }
  },
  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
  "model": {
    "type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
    "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "hello": 5, "world": 6, "!": 7, "un": 8, "##aff": 9, "##able": 10, "cafe": 11}
  }
}`

var tinyBertProcessingJSON = strings.Replace(tinyBertJSON,
	tinyBertJSON[strings.Index(tinyBertJSON, `"post_processor": {`):strings.Index(tinyBertJSON, `"decoder"`)],
	`"post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
  `, 1)

func mustParse(t testing.TB, s string) Tokenizer {
	t.Helper()
	tok, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestParseBPE(t *testing.T) {
	for _, src := range []string{tinyGPT2JSON, tinyGPT2PairsJSON} {
		tok := mustParse(t, src)
		bpe, ok := tok.(*BPE)
		if !ok {
			t.Fatalf("Parse returned %T, want *BPE", tok)
		}
		ids := tok.Encode("hi hi!\n<|endoftext|>")
		if want := []int32{3, 5, 6, 7, 9}; !slices.Equal(ids, want) {
			t.Errorf("Encode = %v, want %v", ids, want)
		}
		if got := bpe.EncodeOrdinary("hi<|endoftext|>"); len(got) != 1 {
			// "<", "|" and so on have no tokens here and are dropped.
			t.Errorf("EncodeOrdinary = %v", got)
		}
		if got := tok.Decode(ids); got != "hi hi!\n<|endoftext|>" {
			t.Errorf("Decode = %q", got)
		}
		if tok.VocabSize() != 10 {
			t.Errorf("VocabSize = %d", tok.VocabSize())
		}
		if id, ok := tok.TokenID("Ġhi"); !ok || id != 5 {
			t.Errorf("TokenID(Ġhi) = %d, %v", id, ok)
		}
		if s, ok := tok.Token(5); !ok || s != "Ġhi" {
			t.Errorf("Token(5) = %q, %v", s, ok)
		}
		if e := tok.EncodePair("hi", " hi"); !slices.Equal(e.IDs, []int32{3, 5}) || !slices.Equal(e.TypeIDs, []int32{0, 1}) {
			t.Errorf("EncodePair = %+v", e)
		}
	}
}

func TestParseWordPiece(t *testing.T) {
	for _, src := range []string{tinyBertJSON, tinyBertProcessingJSON} {
		tok := mustParse(t, src)
		if _, ok := tok.(*WordPiece); !ok {
			t.Fatalf("Parse returned %T, want *WordPiece", tok)
		}
		e := tok.EncodePair("Hello UNAFFABLE Café!", "[MASK] world")
		if want := []int32{2, 5, 8, 9, 10, 11, 7, 3, 4, 6, 3}; !slices.Equal(e.IDs, want) {
			t.Errorf("EncodePair IDs = %v, want %v", e.IDs, want)
		}
		if want := []int32{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1}; !slices.Equal(e.TypeIDs, want) {
			t.Errorf("EncodePair TypeIDs = %v, want %v", e.TypeIDs, want)
		}
		if got := tok.Decode(e.IDs); got != "[CLS] hello unaffable cafe! [SEP] [MASK] world [SEP]" {
			t.Errorf("Decode = %q", got)
		}
	}
}

func TestParseRoberta(t *testing.T) {
	src := strings.Replace(tinyGPT2JSON, `"post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true}`,
		`"post_processor": {"type": "RobertaProcessing", "sep": ["!", 6], "cls": ["<|endoftext|>", 9], "trim_offsets": true, "add_prefix_space": true}`, 1)
	src = strings.Replace(src, `"add_prefix_space": false`, `"add_prefix_space": true`, 1)
	tok := mustParse(t, src)
	e := tok.EncodePair("hi", "hi")
	if want := []int32{9, 5, 6, 6, 5, 6}; !slices.Equal(e.IDs, want) {
		t.Errorf("EncodePair = %v, want %v (prefix space, <s> A </s></s> B </s>)", e.IDs, want)
	}
	// Written back as an equivalent TemplateProcessing.
	data, _ := tok.MarshalJSON()
	tok2 := mustParse(t, string(data))
	if e2 := tok2.EncodePair("hi", "hi"); !slices.Equal(e2.IDs, e.IDs) || !slices.Equal(e2.TypeIDs, e.TypeIDs) {
		t.Errorf("after writing: %+v, want %+v", e2, e)
	}
}

func TestParseErrors(t *testing.T) {
	bpe := func(old, new string) string { return strings.Replace(tinyGPT2JSON, old, new, 1) }
	bert := func(old, new string) string { return strings.Replace(tinyBertJSON, old, new, 1) }
	tests := []struct {
		name, src, want string
	}{
		{"empty", "", "unexpected end"},
		{"not json", "tokenizer", "invalid character"},
		{"array", "[]", "cannot unmarshal"},
		{"no model", `{"version": "1.0"}`, "no model"},
		{"null model", `{"model": null}`, "no model"},
		{"model not object", `{"model": 3}`, "model:"},
		{"unknown type", `{"model": {"type": "WordLevel", "vocab": {}}}`, `unsupported model type "WordLevel"`},
		{"unigram vocab object", `{"model": {"type": "Unigram", "unk_id": 0, "vocab": {}}}`, "model:"},
		{"no type", `{"model": {"vocab": {}}}`, "no type"},
		{"no vocab", `{"model": {"type": "BPE", "merges": []}}`, "no vocab"},
		{"vocab not object", bpe(`"vocab": {`, `"vocab": 5, "x": {`), "vocab is not an object"},
		{"vocab id string", bpe(`"h": 0,`, `"h": "0",`), `vocab entry "h": id is not a number`},
		{"vocab id float", bpe(`"h": 0,`, `"h": 0.5,`), "not a non-negative 32-bit integer"},
		{"vocab id negative", bpe(`"h": 0,`, `"h": -1,`), "not a non-negative 32-bit integer"},
		{"vocab id huge", bpe(`"h": 0,`, `"h": 4294967296,`), "not a non-negative 32-bit integer"},
		{"vocab id sparse", bpe(`"h": 0,`, `"h": 2000000000,`), "out of range"},
		{"duplicate token", bpe(`"h": 0,`, `"h": 0, "h": 11,`), `vocab lists token "h" twice`},
		{"duplicate id", bpe(`"i": 1,`, `"i": 0,`), `duplicate id 0 for tokens "h" and "i"`},
		{"merge token missing", bpe(`"merges": ["Ġ h"`, `"merges": ["Ġ x"`), `merge 0 ("Ġ" "x"): "x" is not in the vocabulary`},
		{"merge left missing", bpe(`"merges": ["Ġ h"`, `"merges": ["y h"`), `merge 0 ("y" "h"): "y" is not in the vocabulary`},
		{"merge result missing", bpe(`"Ġh i",`, `"i h",`), `merge 1 ("i" "h"): the result "ih" is not in the vocabulary`},
		{"merge three parts", bpe(`"h i"]`, `"h i x"]`), `merges[2] "h i x" is not two tokens`},
		{"merge one part", bpe(`"h i"]`, `"hi"]`), `merges[2] "hi" is not two tokens`},
		{"merge pair of three", bpe(`"h i"]`, `["h", "i", "x"]]`), "merges[2] has 3 tokens"},
		{"merge number", bpe(`"h i"]`, `7]`), "merges[2] is neither a string nor a pair"},
		{"duplicate merge", bpe(`"h i"]`, `"h i", "Ġ h"]`), `merge 3 ("Ġ" "h") repeats merge 0`},
		{"merges not array", bpe(`"merges": ["Ġ h", "Ġh i", "h i"]`, `"merges": "h i"`), "cannot unmarshal"},
		{"added id clash", bpe(`{"id": 9, "content": "<|endoftext|>"`, `{"id": 9, "content": "<|end|>"`), `added token "<|end|>" has id 9, already used by "<|endoftext|>"`},
		{"added id mismatch", bpe(`{"id": 9, "content": "<|endoftext|>"`, `{"id": 10, "content": "<|endoftext|>"`), `added token "<|endoftext|>" has id 10 but the vocabulary gives it id 9`},
		{"added twice", bpe(`"added_tokens": [`, `"added_tokens": [{"id": 9, "content": "<|endoftext|>"},`), "listed twice"},
		{"added empty", bpe(`"added_tokens": [`, `"added_tokens": [{"id": 10, "content": ""},`), "empty"},
		{"added no id", bpe(`{"id": 9, "content"`, `{"content"`), "id or content missing"},
		{"added negative", bpe(`{"id": 9, "content"`, `{"id": -9, "content"`), "out of range"},
		{"no pre_tokenizer", bpe(`"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}`, `"pre_tokenizer": null`), "pre_tokenizer: null is not supported with a BPE model"},
		{"other pre_tokenizer", bpe(`"pre_tokenizer": {"type": "ByteLevel"`, `"pre_tokenizer": {"type": "Metaspace"`), `pre_tokenizer: "Metaspace" is not supported`},
		{"pre_tokenizer no type", bpe(`"pre_tokenizer": {"type": "ByteLevel",`, `"pre_tokenizer": {`), "pre_tokenizer has no type"},
		{"bpe normalizer", bpe(`"normalizer": null`, `"normalizer": {"type": "NFC"}`), `normalizer: type "NFC" is not supported`},
		{"bpe decoder", bpe(`"decoder": {"type": "ByteLevel"`, `"decoder": {"type": "Metaspace"`), `decoder: type "Metaspace"`},
		{"dropout", bpe(`"dropout": null`, `"dropout": 0.1`), "dropout is not supported"},
		{"byte fallback", bpe(`"byte_fallback": false`, `"byte_fallback": true`), "byte_fallback is not supported"},
		{"suffix", bpe(`"end_of_word_suffix": ""`, `"end_of_word_suffix": "</w>"`), "end_of_word_suffix are not supported"},
		{"unk missing", bpe(`"unk_token": null`, `"unk_token": "<unk>"`), `unk_token "<unk>" is not in the vocabulary`},
		{"post unknown", bpe(`"post_processor": {"type": "ByteLevel"`, `"post_processor": {"type": "Magic"`), `post_processor: type "Magic" is not supported`},
		{"bert unk missing", bert(`"unk_token": "[UNK]"`, `"unk_token": "[NOPE]"`), `unk_token "[NOPE]" is not in the vocabulary`},
		{"bert pre_tokenizer", bert(`{"type": "BertPreTokenizer"}`, `{"type": "Whitespace"}`), `pre_tokenizer: "Whitespace" is not supported with a WordPiece model`},
		{"bert normalizer", bert(`"type": "BertNormalizer"`, `"type": "Lowercase"`), `normalizer: type "Lowercase" is not supported`},
		{"bert decoder", bert(`"type": "WordPiece", "prefix"`, `"type": "BPEDecoder", "prefix"`), `decoder: type "BPEDecoder"`},
		{"bert max chars", bert(`"max_input_chars_per_word": 100`, `"max_input_chars_per_word": 0`), "max_input_chars_per_word 0 out of range"},
		{"bert empty prefix", bert(`"continuing_subword_prefix": "##"`, `"continuing_subword_prefix": ""`), "empty continuing_subword_prefix"},
		{"template unknown special", bert(`{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],`, `{"SpecialToken": {"id": "<s>", "type_id": 0}}],`), `special token "<s>" is not in special_tokens`},
		{"template B in single", bert(`{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],`, `{"Sequence": {"id": "B", "type_id": 0}}],`), `single[1]: unknown sequence "B"`},
		{"template bad id", bert(`"ids": [2]`, `"ids": [77]`), `special token "[CLS]" has id 77, which is not in the vocabulary`},
		{"template no ids", bert(`"ids": [2]`, `"ids": []`), `special token "[CLS]" has no ids`},
		{"template two keys", bert(`{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence"`, `{"SpecialToken": {"id": "[CLS]", "type_id": 0}, "Sequence": {"id": "A"}}, {"Sequence"`), "must have one key"},
		{"bert processing bad", strings.Replace(tinyBertProcessingJSON, `"sep": ["[SEP]", 3]`, `"sep": ["[SEP]"]`, 1), "cls and sep must be [token, id] pairs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.src == tinyGPT2JSON || tt.src == tinyBertJSON {
				t.Fatal("test case did not change the file")
			}
			_, err := Parse([]byte(tt.src))
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestSaveLoad writes tokenizers and reads them back.
func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	trained, err := BPETrainer{VocabSize: 400, SpecialTokens: []string{"<|endoftext|>"}}.Train(slices.Values(oracleCorpus))
	if err != nil {
		t.Fatal(err)
	}
	wp, err := WordPieceTrainer{VocabSize: 200, Options: WordPieceOptions{Normalizer: uncased}}.Train(slices.Values(oracleCorpus))
	if err != nil {
		t.Fatal(err)
	}
	toks := map[string]Tokenizer{
		"tiny-gpt2": mustParse(t, tinyGPT2JSON),
		"tiny-bert": mustParse(t, tinyBertJSON),
		"bpe":       trained,
		"wordpiece": wp,
	}
	if g, _ := gpt2Tokenizers(t); g != nil {
		toks["gpt2"] = g
	}
	texts := append(randomTexts(100, 3), oracleCorpus...)
	for name, tok := range toks {
		path := filepath.Join(dir, name, "tokenizer.json")
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := Save(path, tok); err != nil {
			t.Fatal(err)
		}
		back, err := Load(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if back.VocabSize() != tok.VocabSize() {
			t.Errorf("%s: VocabSize %d, was %d", name, back.VocabSize(), tok.VocabSize())
		}
		for _, text := range texts {
			a, b := tok.EncodePair(text, text), back.EncodePair(text, text)
			if !slices.Equal(a.IDs, b.IDs) || !slices.Equal(a.TypeIDs, b.TypeIDs) {
				t.Errorf("%s: %q encodes as %v, after Save and Load as %v", name, text, a, b)
				break
			}
		}
		// Writing is stable: what is read back writes the same bytes.
		first, _ := os.ReadFile(path)
		again, _ := back.MarshalJSON()
		if string(first) != string(again) {
			t.Errorf("%s: writing the loaded tokenizer gives different bytes", name)
		}
		entries, _ := os.ReadDir(filepath.Dir(path))
		if len(entries) != 1 {
			t.Errorf("%s: %d files in the directory after Save, want 1", name, len(entries))
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
	if err := Save(filepath.Join(dir, "no", "such", "dir", "t.json"), trained); err == nil {
		t.Error("Save into a missing directory succeeded")
	}
}

func TestMarshalMergePairs(t *testing.T) {
	// A token holding a space (possible outside byte-level vocabularies)
	// forces merges to be written as pairs.
	vocab := map[string]int32{"a": 0, "b c": 1, "ab c": 2}
	tok, err := NewBPE(vocab, [][2]string{{"a", "b c"}}, nil, BPEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := tok.MarshalJSON()
	if !strings.Contains(string(data), `["a", "b c"]`) {
		t.Errorf("merges not written as pairs:\n%s", data)
	}
	back := mustParse(t, string(data)).(*BPE)
	if got := back.Merges(); !slices.Equal(got, [][2]string{{"a", "b c"}}) {
		t.Errorf("merges read back as %q", got)
	}
}
