package train

// Encoder turns text into token ids (a tokenizer.Tokenizer satisfies it).
type Encoder interface {
	Encode(text string) []int32
}

// Pack encodes texts in order, appends sep (when ≥ 0) after each, joins
// them into one stream and cuts it into sequences of length T, dropping the
// incomplete tail. It stops once max sequences are made (max ≤ 0: no limit).
// This is how language models are pretrained and fine-tuned on documents:
// every token is predicted from up to T−1 tokens before it in the stream.
func Pack(enc Encoder, texts []string, T int, sep int32, max int) *Sequences {
	s := &Sequences{T: T}
	var buf []int32
	for _, text := range texts {
		buf = append(buf, enc.Encode(text)...)
		if sep >= 0 {
			buf = append(buf, sep)
		}
		n := len(buf) / T
		if max > 0 {
			n = min(n, max-s.N())
		}
		s.IDs = append(s.IDs, buf[:n*T]...)
		buf = append(buf[:0], buf[n*T:]...)
		if max > 0 && s.N() >= max {
			break
		}
	}
	return s
}
