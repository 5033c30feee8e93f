package tokenizer

import (
	"math/rand/v2"
	"strings"
)

// pieces of text from which randomTexts builds strings: scripts, digits,
// punctuation, whitespace of all kinds, contractions, emoji sequences.
var textPieces = []string{
	"a", "b", "Z", "hello", "World", "the", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'", "'S",
	" ", " ", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2028", "\u0085", "\u200b", "\v", "\f",
	"0", "7", "42", "3.14", "٣", "½", "Ⅻ",
	".", ",", "!", "?", "...", "-", "—", "(", ")", "\"", "#", "$", "%", "&", "*", "+", "/", ":", ";", "<", ">", "@", "[", "]", "_", "{", "}", "|", "~", "`", "^", "\\",
	"é", "e\u0301", "ß", "ø", "İ", "ı", "Σ",
	"日本", "語", "中文", "한국", "Привет", "мир", "مرحبا", "שלום", "नमस्ते", "สวัสดี", "Γειά",
	"😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵", "1️⃣", "❤️",
	"<|endoftext|>", "<|", "|>", "\x00", "\x1b",
}

// randomTexts returns n strings of random pieces, the same for the same
// seed.
func randomTexts(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 42))
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for k := r.IntN(12); k >= 0; k-- {
			b.WriteString(textPieces[r.IntN(len(textPieces))])
		}
		out[i] = b.String()
	}
	return out
}
