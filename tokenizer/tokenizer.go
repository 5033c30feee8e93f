package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
)

// Tokenizer is implemented by *BPE, *WordPiece and *Unigram.
type Tokenizer interface {
	// Encode returns the token ids of text. Added tokens that occur
	// literally in text ("<|endoftext|>", "[MASK]") become their ids, as
	// in Hugging Face's tokenizers; no special tokens are added.
	Encode(text string) []int32
	// EncodeSingle encodes text and adds the special tokens of the
	// tokenizer's template ([CLS] text [SEP] for BERT; nothing for GPT-2).
	EncodeSingle(text string) Encoding
	// EncodePair encodes a pair of texts laid out by the template, with
	// token type ids.
	EncodePair(a, b string) Encoding
	// Decode returns the text of ids, special tokens included.
	Decode(ids []int32) string
	// VocabSize returns the number of tokens, added tokens included.
	VocabSize() int
	// TokenID returns the id of a token, spelled as in the vocabulary.
	TokenID(tok string) (int32, bool)
	// Token returns the token with the given id.
	Token(id int32) (string, bool)
	// IsSpecial reports whether id is a special added token.
	IsSpecial(id int32) bool
	// MarshalJSON returns the tokenizer in Hugging Face's tokenizer.json
	// format.
	MarshalJSON() ([]byte, error)
}

var (
	_ Tokenizer = (*BPE)(nil)
	_ Tokenizer = (*WordPiece)(nil)
)

// Load reads a Hugging Face tokenizer.json file. It returns a *BPE, a
// *WordPiece or a *Unigram according to the file's model.type.
func Load(path string) (Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

// Save writes t to path in Hugging Face's tokenizer.json format. The file
// is replaced atomically: it is written to a temporary file in the same
// directory, synced, and renamed over path, so readers see the old file or
// the new one and never a part.
func Save(path string, t Tokenizer) error {
	data, err := t.MarshalJSON()
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	if err := writeFileAtomic(path, data, 0o644); err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	return nil
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename durable. Not every system can sync a directory.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Parse reads a tokenizer from the bytes of a Hugging Face tokenizer.json
// file. It reads
//
//   - model "BPE" (merges as "a b" strings or as [a, b] pairs) with
//     normalizer null, pre_tokenizer ByteLevel and decoder ByteLevel or
//     null;
//   - model "WordPiece" with normalizer BertNormalizer or null,
//     pre_tokenizer BertPreTokenizer and decoder WordPiece or null;
//   - model "Unigram" (SentencePiece: XLM-R, T5, ALBERT) with unk_id,
//     byte_fallback, a normalizer that is null or a Sequence of
//     Precompiled (SentencePiece's precompiled_charsmap), Strip, Replace,
//     Prepend, NFC, NFD, NFKC, NFKD and Lowercase, pre_tokenizer
//     Metaspace (optionally after WhitespaceSplit) or null, and decoder
//     Metaspace or null;
//   - post_processor null, ByteLevel, TemplateProcessing, BertProcessing,
//     RobertaProcessing, or a Sequence of these;
//   - added_tokens, with their single_word, lstrip, rstrip and normalized
//     flags.
//
// Anything else (another model or component type, BPE dropout, merges or
// added tokens that do not fit the vocabulary, duplicate tokens or ids) is
// an error. Truncation and padding settings are ignored.
func Parse(data []byte) (Tokenizer, error) {
	return parse(data)
}
