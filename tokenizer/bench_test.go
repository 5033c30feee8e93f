package tokenizer

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// syntheticCorpus returns about size bytes of text, as lines, with a
// Zipf-distributed vocabulary of made-up words, numbers and punctuation:
// the same text for the same arguments.
func syntheticCorpus(size int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 1))
	syll := []string{"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "an", "er", "in", "on", "st", "th", "qu", "é", "ö", "ж", "на", "日"}
	words := make([]string, 20000)
	for i := range words {
		var b strings.Builder
		for k := 1 + r.IntN(4); k > 0; k-- {
			b.WriteString(syll[r.IntN(len(syll))])
		}
		if r.IntN(10) == 0 {
			b.WriteString("'s")
		}
		words[i] = b.String()
	}
	zipf := rand.NewZipf(r, 1.1, 1, uint64(len(words)-1))
	var lines []string
	n := 0
	for n < size {
		var b strings.Builder
		for k := 5 + r.IntN(20); k > 0; k-- {
			w := words[zipf.Uint64()]
			if r.IntN(8) == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			b.WriteString(w)
			switch r.IntN(12) {
			case 0:
				b.WriteString(", ")
			case 1:
				b.WriteString(". ")
			case 2:
				fmt.Fprintf(&b, " %d ", r.IntN(2000))
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
		lines = append(lines, b.String())
		n += b.Len()
	}
	return lines
}

// BenchmarkTrainBPE trains an 8k vocabulary on 10 MB of text:
//
//	GOMAXPROCS=1 go test ./tokenizer -run '^$' -bench TrainBPE -benchtime 3x
func BenchmarkTrainBPE(b *testing.B) {
	corpus := syntheticCorpus(10<<20, 1)
	size := 0
	for _, l := range corpus {
		size += len(l)
	}
	b.SetBytes(int64(size))
	for _, vocab := range []int{4096, 8192} {
		b.Run(fmt.Sprint(vocab), func(b *testing.B) {
			b.SetBytes(int64(size))
			for range b.N {
				if _, err := (BPETrainer{VocabSize: vocab}).Train(slices.Values(corpus)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTrainWordPiece(b *testing.B) {
	corpus := syntheticCorpus(10<<20, 1)
	for range b.N {
		if _, err := (WordPieceTrainer{VocabSize: 8192, Options: WordPieceOptions{Normalizer: uncased}}).Train(slices.Values(corpus)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeGPT2(b *testing.B) {
	bpe, _ := gpt2Tokenizers(b)
	text := strings.Join(syntheticCorpus(1<<20, 2), "")
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for range b.N {
		bpe.Encode(text)
	}
}

func BenchmarkEncodeWordPiece(b *testing.B) {
	corpus := syntheticCorpus(1<<20, 2)
	wp, _ := WordPieceTrainer{VocabSize: 8192, Options: WordPieceOptions{Normalizer: uncased}}.Train(slices.Values(corpus))
	text := strings.Join(corpus, "")
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for range b.N {
		wp.Encode(text)
	}
}
