// Package tokenizer turns text into token ids and back, with the
// tokenizers of the models tram fine-tunes: GPT-2's byte-level BPE,
// BERT's WordPiece, and SentencePiece's Unigram (XLM-R).
//
// All read and write Hugging Face's tokenizer.json, so a tokenizer moves
// between tram and Python unchanged:
//
//	tok, err := tokenizer.Load("gpt2/tokenizer.json")
//	...
//	ids := tok.Encode("Hello world<|endoftext|>")  // [15496 995 50256]
//	text := tok.Decode(ids)
//
// # Byte-level BPE
//
// [BPE] splits text as GPT-2 does, with the pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// (implemented by hand, as Go's regexp has no lookahead), maps each byte
// of a piece to a printable rune, and merges adjacent tokens by rank. Any
// byte sequence can be encoded, and decoding gives it back. Its encoding
// of GPT-2's vocabulary matches OpenAI's tiktoken token for token; the
// tests check this on a corpus of scripts, emoji and whitespace runs.
// [BPETrainer] learns merges from a corpus.
//
// # WordPiece
//
// [WordPiece] is BERT's tokenizer: BERT's text normalization
// ([BertNormalizer]), splitting at whitespace and punctuation, and greedy
// longest-match-first pieces with the "##" continuation prefix. Its
// EncodeSingle and EncodePair add [CLS] and [SEP] and give token type
// ids. [WordPieceTrainer] learns a vocabulary from a corpus.
//
// # Unigram
//
// [Unigram] is SentencePiece's unigram model as Hugging Face's
// tokenizer.json holds it (XLM-RoBERTa's, for one): SentencePiece's
// normalization table (the Precompiled normalizer, a double-array trie
// applied longest match first, as SentencePiece applies it), spaces
// turned into "▁" (Metaspace), and the segmentation of each piece into
// vocabulary tokens with the largest sum of scores, found by Viterbi.
// Unknown characters become the unk token, or their bytes with
// byte_fallback. EncodeSingle and EncodePair add <s> and </s> as XLM-R
// does. Its ids match SentencePiece's on the tests' multilingual strings
// (testdata/gen_unigram.py).
//
// # Added tokens
//
// Added tokens, such as "<|endoftext|>" or "[MASK]", are matched in the
// text before anything else, as Hugging Face's tokenizers match them:
// Encode("a<|endoftext|>b") gives the id of "<|endoftext|>" between those
// of "a" and "b". [BPE.EncodeOrdinary] treats them as plain text.
package tokenizer
