package tokenizer

import (
	"sync"
	"testing"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// GPT-2's vocabulary is not shipped with this package. The tests rebuild it
// from the GPT-2 ranks that github.com/pkoukk/tiktoken-go-loader embeds
// (tiktoken's r50k_base, which is GPT-2's encoder.json and vocab.bpe in
// another form), offline, and compare this package's encoder with
// tiktoken-go's on the same ranks.

var gpt2 struct {
	once    sync.Once
	bpe     *BPE
	oracle  *tiktoken.Tiktoken
	err     error
	unsplit int // tokens no merge can produce
}

// gpt2Tokenizers returns this package's GPT-2 tokenizer and tiktoken-go's.
func gpt2Tokenizers(tb testing.TB) (*BPE, *tiktoken.Tiktoken) {
	tb.Helper()
	gpt2.once.Do(func() {
		ranks, err := tiktoken_loader.NewOfflineLoader().LoadTiktokenBpe("r50k_base.tiktoken")
		if err != nil {
			gpt2.err = err
			return
		}
		var merges [][2]string
		merges, gpt2.unsplit = mergesFromRanks(ranks)
		vocab := make(map[string]int32, len(ranks)+1)
		for tok, r := range ranks {
			vocab[byteLevelString(tok)] = int32(r)
		}
		vocab["<|endoftext|>"] = 50256
		added := []AddedToken{{ID: 50256, Content: "<|endoftext|>", Special: true, Normalized: true}}
		gpt2.bpe, gpt2.err = NewBPE(vocab, merges, added, BPEOptions{})
		if gpt2.err != nil {
			return
		}
		tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
		gpt2.oracle, gpt2.err = tiktoken.GetEncoding(tiktoken.MODEL_R50K_BASE)
	})
	if gpt2.err != nil {
		tb.Skipf("GPT-2 ranks unavailable offline: %v", gpt2.err)
	}
	return gpt2.bpe, gpt2.oracle
}

// mergesFromRanks recovers GPT-2's merge list from tiktoken ranks. The
// token of rank r >= 256 was made by the merge of rank r-256; its two
// halves are what byte-pair encoding of its bytes, using only ranks below
// r, leaves. It returns the merges in rank order (in byte-level form) and
// how many tokens did not split into two.
func mergesFromRanks(ranks map[string]int) ([][2]string, int) {
	byRank := make([]string, len(ranks))
	for tok, r := range ranks {
		byRank[r] = tok
	}
	var merges [][2]string
	unsplit := 0
	for r := 256; r < len(byRank); r++ {
		tok := byRank[r]
		parts := make([]string, len(tok))
		for i := 0; i < len(tok); i++ {
			parts[i] = tok[i : i+1]
		}
		for len(parts) > 2 {
			best, bestRank := -1, r
			for i := 0; i+1 < len(parts); i++ {
				if pr, ok := ranks[parts[i]+parts[i+1]]; ok && pr < bestRank {
					best, bestRank = i, pr
				}
			}
			if best < 0 {
				break
			}
			parts[best] += parts[best+1]
			parts = append(parts[:best+1], parts[best+2:]...)
		}
		if len(parts) != 2 {
			unsplit++
			continue
		}
		merges = append(merges, [2]string{byteLevelString(parts[0]), byteLevelString(parts[1])})
	}
	return merges, unsplit
}

func TestGPT2Build(t *testing.T) {
	bpe, _ := gpt2Tokenizers(t)
	if gpt2.unsplit != 0 {
		t.Errorf("%d GPT-2 tokens do not split into a merge", gpt2.unsplit)
	}
	if got := bpe.VocabSize(); got != 50257 {
		t.Errorf("VocabSize = %d, want 50257", got)
	}
	if got := len(bpe.Merges()); got != 50000 {
		t.Errorf("%d merges, want 50000", got)
	}
}

// oracleCorpus is text on which the tokenizer must agree with tiktoken.
var oracleCorpus = []string{
	"",
	" ",
	"  ",
	"\n",
	"Hello world",
	"Hello, world!",
	"hello world ",
	"hello world  ",
	"hello world\n",
	"hello world \n",
	"  leading spaces",
	"trailing spaces   ",
	"tabs\tand\t\tmore\ttabs\t",
	"line one\nline two\n\nline four\r\nwindows line\r\n",
	"mixed \t \n whitespace \n\t runs   \t\n",
	"I'm sure you'll see it's what they've done, I'd say we're fine.",
	"DON'T SHOUT, I'M HERE. You'Re ODD'S",
	"'s 't 're 've 'm 'll 'd ''s '''",
	"rock'n'roll o'clock y'all ma'am",
	"The year 2024 had 366 days; π ≈ 3.14159, e ≈ 2.71828.",
	"1234567890 12 345 6789 0.5 -7 +8 1e10 0x1F 1,000,000",
	"phone: +1 (555) 123-4567, price: $19.99 or €20,50",
	"Roman numerals Ⅻ and fractions ½ ¾ and superscripts x² y³ and ٣ ۴ ४ ๕",
	"!!! ??? ... --- *** ### @@@ $$$ %%% ^^^ &&& ((( ))) [[[ ]]] {{{ }}}",
	"a.b,c;d:e!f?g",
	"https://example.com/path?query=1&x=y#frag and user@example.org",
	"<html><body class=\"x\">text &amp; more</body></html>",
	"func main() { fmt.Println(\"hi\") }\n\tif x != nil {\n\t\treturn err\n\t}\n",
	"def f(x):\n    return x ** 2  # square\n\n\nprint(f(3))\n",
	"café naïve résumé façade coöperate jalapeño São Paulo Zürich",
	"Cafe\u0301 nai\u0308ve (decomposed accents)",
	"Ünïcödé ÀÉÎÕÜ àéîõü ß ẞ ø Ø æ Æ œ Œ ð þ",
	"日本語のテキストです。東京は晴れ。",
	"中文文本，包括标点符号！还有数字123。",
	"한국어 텍스트입니다. 안녕하세요!",
	"Русский текст: Привет, мир! Съешь же ещё этих мягких французских булок.",
	"Українська: Ґанок, їжак, є, і.",
	"العربية: مرحبا بالعالم! هذا نص عربي ١٢٣.",
	"עברית: שלום עולם",
	"हिन्दी: नमस्ते दुनिया। संस्कृतम्",
	"ไทย: สวัสดีชาวโลก",
	"Ελληνικά: Γειά σου Κόσμε! Καλημέρα.",
	"ქართული ენა, Հայերեն, አማርኛ",
	"emoji 😀😃😄 👍🏽 ❤️ 🇺🇸🇯🇵 👨‍👩‍👧‍👦 👩🏻‍💻 🏳️‍🌈 1️⃣",
	"😀",
	" 😀 ",
	"🤖🤖🤖🤖🤖🤖🤖🤖",
	"mixed: English, русский, 日本語, عربي, emoji 🎉, and numbers ٤٥٦",
	"zero\u200bwidth\u200cjoiner\u200dmark and BOM\ufeff and soft\u00adhyphen",
	"non\u00a0breaking\u00a0space and ideographic\u3000space and en\u2002space",
	"line\u2028separator and paragraph\u2029separator and NEL\u0085next",
	"control \x00 \x01 \x1b[31mred\x1b[0m \x7f",
	"ending with a space ",
	"ending with newlines\n\n\n",
	"ending with tabs\t\t",
	"\n\n\nstarting with newlines",
	"   \n   \n   ",
	"a  b   c    d     e",
	"a \n b \n\n c",
	"x\u3000\u3000y",
	"<|endoftext|>",
	"text<|endoftext|>more text",
	"The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!",
	"antidisestablishmentarianism supercalifragilisticexpialidocious",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	"================================================================================",
	"ZmFrZWJhc2U2NGJsb2JaZmFrZWJhc2U2NGJsb2JaZmFrZWJhc2U2NGJsb2JaZmFrZWJhc2U2NGJsb2I=",
	"¡¿ «quotes» “curly” ‘single’ — em – en … ellipsis • bullet ™ © ®",
	"∀x∈ℝ: x² ≥ 0 ⇒ √(x²) = |x| ∑ ∫ ∂ ∇",
	"\u0301 starts with a combining mark",
	"I\u0307stanbul İstanbul ıi",
}

func TestGPT2MatchesTiktoken(t *testing.T) {
	bpe, oracle := gpt2Tokenizers(t)
	corpus := append([]string(nil), oracleCorpus...)
	corpus = append(corpus, randomTexts(500, 1)...)
	matched := 0
	for _, text := range corpus {
		want := oracle.EncodeOrdinary(text)
		got := bpe.EncodeOrdinary(text)
		if !equalIDs(got, want) {
			t.Errorf("EncodeOrdinary(%q)\n got %v\nwant %v", text, got, want)
			continue
		}
		wantSpecial := oracle.Encode(text, []string{"all"}, nil)
		if got := bpe.Encode(text); !equalIDs(got, wantSpecial) {
			t.Errorf("Encode(%q)\n got %v\nwant %v", text, got, wantSpecial)
			continue
		}
		if got := bpe.Decode(bpe.Encode(text)); got != text {
			t.Errorf("Decode(Encode(%q)) = %q", text, got)
			continue
		}
		matched++
	}
	t.Logf("%d of %d texts encode as tiktoken encodes them", matched, len(corpus))
}

func equalIDs(a []int32, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if int(a[i]) != b[i] {
			return false
		}
	}
	return true
}
