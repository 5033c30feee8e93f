package tokenizer_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"

	"github.com/tramlab/tram/tokenizer"
)

func ExampleBPETrainer() {
	corpus := []string{
		"the cat sat on the mat",
		"the cat ate the rat",
		"that cat, the fat cat, sat",
	}
	trainer := tokenizer.BPETrainer{VocabSize: 270, SpecialTokens: []string{"<|endoftext|>"}}
	tok, err := trainer.Train(slices.Values(corpus))
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("the fat cat<|endoftext|>")
	for _, id := range ids {
		s, _ := tok.Token(id)
		fmt.Printf("%d %q\n", id, s)
	}
	fmt.Printf("%q\n", tok.Decode(ids))
	// Output:
	// 258 "the"
	// 220 "Ġ"
	// 69 "f"
	// 256 "at"
	// 260 "Ġcat"
	// 264 "<|endoftext|>"
	// "the fat cat<|endoftext|>"
}

func ExampleBPE_EncodeOrdinary() {
	tok, err := tokenizer.BPETrainer{VocabSize: 257, SpecialTokens: []string{"<|endoftext|>"}}.Train(slices.Values([]string{}))
	if err != nil {
		log.Fatal(err)
	}
	// Encode matches added tokens; EncodeOrdinary reads them as text.
	fmt.Println(tok.Encode("<|endoftext|>"))
	fmt.Println(len(tok.EncodeOrdinary("<|endoftext|>")))
	// Output:
	// [256]
	// 13
}

func ExampleNewWordPiece() {
	words := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "is", "it", "?", "yes"}
	vocab := make(map[string]int32)
	for i, w := range words {
		vocab[w] = int32(i)
	}
	tok, err := tokenizer.NewWordPiece(vocab, tokenizer.WordPieceOptions{
		Normalizer: tokenizer.BertNormalizer{CleanText: true, ChineseChars: true, StripAccents: true, Lowercase: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	e := tok.EncodePair("Is it unaffable?", "Yes")
	fmt.Println(e.IDs)
	fmt.Println(e.TypeIDs)
	fmt.Println(tok.Decode(e.IDs))
	// Output:
	// [2 8 9 5 6 7 10 3 11 3]
	// [0 0 0 0 0 0 0 0 1 1]
	// [CLS] is it unaffable? [SEP] yes [SEP]
}

func ExampleSave() {
	dir, err := os.MkdirTemp("", "tokenizer")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	corpus := []string{"low lower lowest", "new newer newest"}
	tok, err := tokenizer.BPETrainer{VocabSize: 264}.Train(slices.Values(corpus))
	if err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(dir, "tokenizer.json")
	if err := tokenizer.Save(path, tok); err != nil {
		log.Fatal(err)
	}
	back, err := tokenizer.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%T %d\n", back, back.VocabSize())
	fmt.Println(slices.Equal(back.Encode("lowest newest"), tok.Encode("lowest newest")))
	// Output:
	// *tokenizer.BPE 264
	// true
}

func ExampleUnigram() {
	// A tokenizer.json laid out as XLM-R's, with a tiny vocabulary (XLM-R's
	// normalizer is SentencePiece's Precompiled charsmap; NFKC stands in).
	const js = `{
	  "added_tokens": [
	    {"id": 0, "content": "<s>", "special": true},
	    {"id": 1, "content": "<pad>", "special": true},
	    {"id": 2, "content": "</s>", "special": true},
	    {"id": 3, "content": "<unk>", "special": true}
	  ],
	  "normalizer": {"type": "Sequence", "normalizers": [
	    {"type": "NFKC"},
	    {"type": "Strip", "strip_left": false, "strip_right": true},
	    {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "▁"}
	  ]},
	  "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
	  "post_processor": {"type": "RobertaProcessing", "cls": ["<s>", 0], "sep": ["</s>", 2]},
	  "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
	  "model": {"type": "Unigram", "unk_id": 3, "byte_fallback": false, "vocab": [
	    ["<s>", 0], ["<pad>", 0], ["</s>", 0], ["<unk>", 0],
	    ["▁", -3], ["▁hello", -5], ["▁hell", -4], ["o", -3], ["▁world", -5], ["s", -4], ["!", -4]
	  ]}
	}`
	tok, err := tokenizer.Parse([]byte(js))
	if err != nil {
		log.Fatal(err)
	}
	// Fullwidth letters become ASCII, runs of spaces one, and each word
	// is split into the pieces with the largest sum of scores: "▁hello"
	// (-5) rather than "▁hell" "o" (-7). No piece covers "ä": <unk>.
	e := tok.EncodeSingle("ｈｅｌｌｏ  worlds ä!")
	for _, id := range e.IDs {
		s, _ := tok.Token(id)
		fmt.Printf("%d %q\n", id, s)
	}
	fmt.Printf("%q\n", tok.Decode(e.IDs[1:len(e.IDs)-1]))
	// Output:
	// 0 "<s>"
	// 5 "▁hello"
	// 8 "▁world"
	// 9 "s"
	// 4 "▁"
	// 3 "<unk>"
	// 10 "!"
	// 2 "</s>"
	// "hello worlds <unk>!"
}
