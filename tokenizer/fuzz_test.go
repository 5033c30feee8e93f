package tokenizer

import (
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that no input makes Parse panic, and that whatever it
// accepts can be used, written, and read back to a tokenizer that encodes
// and decodes the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		tinyGPT2JSON, tinyGPT2PairsJSON, tinyBertJSON, tinyBertProcessingJSON,
		`{}`, `null`, `{"model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}}`,
		`{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "pre_tokenizer": {"type": "BertPreTokenizer"}}`,
		`{"model": {"vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}, "pre_tokenizer": {"type": "ByteLevel", "use_regex": false},
		  "post_processor": {"type": "Sequence", "processors": [{"type": "ByteLevel"}, {"type": "RobertaProcessing", "cls": ["a", 0], "sep": ["b", 1]}]}}`,
		`{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0], ["▁", -2], ["▁a", -1], ["a", -1.5], ["b", -1]]},
		  "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Strip", "strip_left": false, "strip_right": true}, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "▁"}]},
		  "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true},
		  "decoder": {"type": "Metaspace", "replacement": "▁", "add_prefix_space": true},
		  "post_processor": {"type": "RobertaProcessing", "cls": ["a", 3], "sep": ["b", 4]}}`,
	} {
		f.Add([]byte(s))
	}
	trained, _ := BPETrainer{VocabSize: 300, SpecialTokens: []string{"<|endoftext|>"}}.Train(slices.Values(oracleCorpus))
	data, _ := trained.MarshalJSON()
	f.Add(data)
	for _, name := range []string{"unigram_xlmr", "unigram_bytes"} {
		if data, err := os.ReadFile("testdata/" + name + ".json"); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := Parse(data)
		if err != nil {
			return
		}
		probe := "Hello, wörld! <|endoftext|> [MASK] 日本 😀\n  x"
		ids := tok.Encode(probe)
		text := tok.Decode(ids)
		pair := tok.EncodePair(probe, "b")
		for _, id := range ids {
			if _, ok := tok.Token(id); !ok {
				t.Fatalf("Encode gave id %d, which has no token", id)
			}
		}
		out, err := tok.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("reading back what was written: %v\n%s", err, out)
		}
		if got := back.Encode(probe); !slices.Equal(got, ids) {
			t.Fatalf("after writing, Encode = %v, was %v", got, ids)
		}
		if got := back.Decode(ids); got != text {
			t.Fatalf("after writing, Decode = %q, was %q", got, text)
		}
		if got := back.EncodePair(probe, "b"); !slices.Equal(got.IDs, pair.IDs) || !slices.Equal(got.TypeIDs, pair.TypeIDs) {
			t.Fatalf("after writing, EncodePair = %v, was %v", got, pair)
		}
		if back.VocabSize() != tok.VocabSize() {
			t.Fatalf("after writing, VocabSize = %d, was %d", back.VocabSize(), tok.VocabSize())
		}
	})
}

var fuzzToks struct {
	once sync.Once
	bpe  *BPE
	wp   *WordPiece
}

// FuzzRoundTrip checks the pre-tokenizer against GPT-2's regular
// expression, encoding against tiktoken, and that decoding gives the text
// back, for any input.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range oracleCorpus {
		f.Add(s)
	}
	f.Add("\xff\xfe bad \xe2\x82 bytes\xc3")
	f.Add(strings.Repeat("ab", 50) + " " + strings.Repeat("\u3000", 70))
	gpt, oracle := gpt2Tokenizers(f)
	fuzzToks.once.Do(func() {
		fuzzToks.bpe, _ = BPETrainer{VocabSize: 400, SpecialTokens: []string{"<|endoftext|>"}}.Train(slices.Values(oracleCorpus))
		fuzzToks.wp, _ = WordPieceTrainer{VocabSize: 300, Options: WordPieceOptions{Normalizer: uncased}}.Train(slices.Values(oracleCorpus))
	})
	f.Fuzz(func(t *testing.T, s string) {
		ps := pieces(s)
		if strings.Join(ps, "") != s || slices.Contains(ps, "") {
			t.Fatalf("pieces(%q) = %q", s, ps)
		}
		valid := utf8.ValidString(s)
		if valid {
			if want := regexpPieces(s); !slices.Equal(ps, want) {
				t.Fatalf("pieces(%q)\n got %q\nwant %q", s, ps, want)
			}
		}
		for _, bpe := range []*BPE{gpt, fuzzToks.bpe} {
			if got := bpe.DecodeBytes(bpe.EncodeOrdinary(s)); string(got) != s {
				t.Fatalf("DecodeBytes(EncodeOrdinary(%q)) = %q", s, got)
			}
			if valid {
				if got := bpe.Decode(bpe.Encode(s)); got != s {
					t.Fatalf("Decode(Encode(%q)) = %q", s, got)
				}
			} else if got := bpe.Decode(bpe.Encode(s)); !utf8.ValidString(got) {
				t.Fatalf("Decode gave invalid UTF-8 %q", got)
			}
		}
		if valid {
			want := oracle.Encode(s, []string{"all"}, nil)
			if got := gpt.Encode(s); !equalIDs(got, want) {
				t.Fatalf("Encode(%q)\n got %v\ntiktoken %v", s, got, want)
			}
		}
		wp := fuzzToks.wp
		ids := wp.Encode(s)
		for _, id := range ids {
			if _, ok := wp.Token(id); !ok {
				t.Fatalf("WordPiece gave id %d, which has no token", id)
			}
		}
		if got := wp.Decode(ids); !utf8.ValidString(got) {
			t.Fatalf("WordPiece Decode gave invalid UTF-8 %q", got)
		}
	})
}
