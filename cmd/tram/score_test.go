package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/tokenizer"
)

// scoreModel writes a small GPT-2 with a BPE tokenizer trained on a toy
// corpus, with n_positions 8 so that windows are exercised.
func scoreModel(t *testing.T) (string, *gpt2.Model, tokenizer.Tokenizer) {
	t.Helper()
	dir := t.TempDir()
	corpus := []string{"the cat sat on the mat", "a dog ate the bone", "the cat and the dog", "héllo wörld ünïcode"}
	tok, err := tokenizer.BPETrainer{VocabSize: 300, SpecialTokens: []string{"<|endoftext|>"}}.Train(slices.Values(corpus))
	if err != nil {
		t.Fatal(err)
	}
	if err := tokenizer.Save(filepath.Join(dir, "tokenizer.json"), tok); err != nil {
		t.Fatal(err)
	}
	m, err := gpt2.New(gpt2.Small(tok.VocabSize(), 8, 16, 1, 2), 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir, m, tok
}

// reference scores documents one window at a time, independently of the
// batching in score.
func reference(m *gpt2.Model, tok tokenizer.Tokenizer, docs []string) (tokens int, nll float64) {
	g := autograd.NewGraph[float32]()
	var sum float64
	for _, d := range docs {
		ids := tok.Encode(d)
		for s := 0; s < len(ids); s += 8 {
			w := ids[s:min(s+8, len(ids))]
			if len(w) < 2 {
				continue
			}
			g.Reset()
			_, loss := m.LMLoss(&nn.Pass{G: g}, w, 1, len(w), w[1:])
			sum += float64(loss.Item()) * float64(len(w)-1)
			tokens += len(w) - 1
		}
	}
	return tokens, sum / float64(tokens)
}

func TestScore(t *testing.T) {
	dir, m, tok := scoreModel(t)
	docs := []string{"the cat sat on the mat and the dog ate the bone and the cat", "a dog<|endoftext|>the cat", "   ", "x", "héllo wörld"}
	// CRLF endings, an empty line (not a document) and no final newline.
	text := docs[0] + "\r\n" + docs[1] + "\n\n" + docs[2] + "\n" + docs[3] + "\r\n" + docs[4]
	file := filepath.Join(dir, "docs.txt")
	os.WriteFile(file, []byte(text), 0o644)
	var out, errb bytes.Buffer
	if rc := runMain([]string{"score", "--model", dir, "--json", file}, &out, &errb); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errb.String())
	}
	var res struct {
		Documents, Tokens int
		NLL, Perplexity   *float64
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %q", err, out.String())
	}
	wantTokens, wantNLL := reference(m, tok, docs)
	if res.Documents != 5 || res.Tokens != wantTokens || math.Abs(*res.NLL-wantNLL) > 1e-5 || math.Abs(*res.Perplexity-math.Exp(wantNLL)) > 1e-4 {
		t.Fatalf("got %+v nll %v; want 5 documents, %d tokens, nll %v", res, *res.NLL, wantTokens, wantNLL)
	}
	if !slices.Contains(tok.Encode(docs[1]), mustID(t, tok, "<|endoftext|>")) {
		t.Fatal("literal <|endoftext|> was not encoded as the special token")
	}
}

func mustID(t *testing.T, tok tokenizer.Tokenizer, s string) int32 {
	id, ok := tok.TokenID(s)
	if !ok {
		t.Fatalf("no token %q", s)
	}
	return id
}

func TestScoreEdgeCases(t *testing.T) {
	dir, _, _ := scoreModel(t)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	var out, errb bytes.Buffer
	if rc := runMain([]string{"score", "--model", dir, "--json", write("one.txt", "a\n\r\n")}, &out, &errb); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errb.String())
	}
	if got := strings.TrimSpace(out.String()); got != `{"documents":1,"tokens":0,"nll":null,"perplexity":null}` {
		t.Fatalf("no predicted tokens: got %s", got)
	}
	out.Reset()
	errb.Reset()
	if rc := runMain([]string{"score", "--model", dir, write("bad.txt", "fine\nbad \xff byte\n")}, &out, &errb); rc == 0 || !strings.Contains(errb.String(), "bad.txt:2: invalid UTF-8") {
		t.Fatalf("invalid UTF-8: exit %d, %q", rc, errb.String())
	}
	out.Reset()
	if rc := runMain([]string{"score", "--model", dir, write("ok.txt", "the cat sat\n")}, &out, &errb); rc != 0 || !strings.Contains(out.String(), "1 documents") {
		t.Fatalf("human-readable output: %q", out.String())
	}
	// Usage errors name what is missing or wrong, in one line.
	ok := write("ok2.txt", "the cat sat\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"score", ok}, "missing required flag --model"},
		{[]string{"score", "--json", ok}, "missing required flag --model"},
		{[]string{"score", "--model", dir}, "missing the FILE argument"},
		{[]string{"score"}, "missing required flag --model and the FILE argument"},
		{[]string{"score", ok, "--model", dir, "extra.txt"}, `one FILE argument expected; unexpected "extra.txt"`},
		{[]string{"score", "--model", dir, "--batch-size", "0", ok}, "--batch-size must be ≥ 1 (got 0)"},
	} {
		out.Reset()
		errb.Reset()
		if rc := runMain(c.args, &out, &errb); rc == 0 || !strings.Contains(errb.String(), c.want) || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want one line containing %q", c.args, rc, errb.String(), c.want)
		}
	}
}
