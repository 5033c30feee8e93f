package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tramlab/tram/tokenizer"
)

// TestTokenize: tram tokenize writes the ids the model sees (special
// tokens included) for JSONL, CSV (with pairs) and plain text, and refuses
// a missing column naming the file and line.
func TestTokenize(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join("..", "..", "pretrained", "xling")
	tok, err := tokenizer.Load(filepath.Join(model, "tokenizer.json"))
	if err != nil {
		t.Skip(err)
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	run := func(args ...string) ([]tokenized, string, int) {
		var stdout, stderr bytes.Buffer
		rc := runMain(append([]string{"tokenize", "--model", model}, args...), &stdout, &stderr)
		var out []tokenized
		for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			if line == "" {
				continue
			}
			var l tokenized
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("output line %q: %v", line, err)
			}
			out = append(out, l)
		}
		return out, stderr.String(), rc
	}
	texts := []string{"Open the file.", "Datei öffnen", ""}
	jsonl := write("in.jsonl", `{"text": "Open the file.", "label": 1}`+"\n"+`{"text": "Datei öffnen"}`+"\n"+`{"text": ""}`+"\n")
	txt := write("in.txt", strings.Join(texts, "\n")+"\n")
	for _, in := range []string{jsonl, txt} {
		out, msg, rc := run("--input", in)
		if rc != 0 || len(out) != 3 {
			t.Fatalf("%s: rc %d, %d lines, %s", in, rc, len(out), msg)
		}
		for i, l := range out {
			if want := tok.EncodeSingle(texts[i]).IDs; !slices.Equal(l.IDs, want) || len(l.Tokens) != len(want) {
				t.Errorf("%s line %d: ids %v, want %v", in, i+1, l.IDs, want)
			}
		}
	}
	csvIn := write("pairs.csv", "premise,hypothesis,label\n\"A cat, sleeping\",A cat sleeps,0\n")
	out, msg, rc := run("--input", csvIn, "--text-column", "premise", "--text-pair-column", "hypothesis")
	if rc != 0 || len(out) != 1 {
		t.Fatalf("csv pairs: rc %d, %s", rc, msg)
	}
	if want := tok.EncodePair("A cat, sleeping", "A cat sleeps"); !slices.Equal(out[0].IDs, want.IDs) || !slices.Equal(out[0].TypeIDs, want.TypeIDs) {
		t.Errorf("pair: %+v, want %+v", out[0], want)
	}
	bad := write("bad.jsonl", `{"text": "ok"}`+"\n"+`{"sentence": "no text"}`+"\n")
	if _, msg, rc := run("--input", bad); rc == 0 || !strings.Contains(msg, bad+":2") || !strings.Contains(msg, `"text"`) {
		t.Errorf("missing column: rc %d, %q", rc, msg)
	}
	if _, msg, rc := run("--input", csvIn, "--text-column", "sentence"); rc == 0 || !strings.Contains(msg, csvIn+":1") {
		t.Errorf("missing CSV column: rc %d, %q", rc, msg)
	}
}
