package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/data/userdata"
	"github.com/tramlab/tram/tokenizer"
)

func init() {
	register(&command{name: "tokenize", summary: "the token ids a model sees for each text of a file (JSON Lines)", run: runTokenize})
}

// tokenized is one line of tram tokenize's output.
type tokenized struct {
	IDs     []int32  `json:"ids"`
	TypeIDs []int32  `json:"type_ids,omitempty"`
	Tokens  []string `json:"tokens"`
}

func runTokenize(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tokenize", "--model DIR --input FILE [--text-column C] [--text-pair-column C2] [--out FILE]",
		"Encodes every text of FILE with the model's tokenizer (DIR/tokenizer.json: byte-level BPE,\n"+
			"WordPiece or SentencePiece Unigram) exactly as tram feeds the model — special tokens included\n"+
			"(<s> … </s>, [CLS] … [SEP], nothing for GPT-2), and pairs laid out as the tokenizer's template\n"+
			"lays them out — and writes one JSON object per text, in input order: \"ids\", \"type_ids\" (pairs\n"+
			"only) and \"tokens\" (each id decoded alone). What users reach for when a tokenizer surprises\n"+
			"them.\n\n"+
			"FILE is JSON Lines (.jsonl, .json: one object per line, the text in --text-column), CSV (.csv:\n"+
			"a header row naming the columns) or plain text (any other extension: one text per line).\n"+
			"A missing column, a malformed line or an unreadable file is an error naming the file and line;\n"+
			"nothing is written then.", stderr)
	model := fs.String("model", "", "model `DIR` holding tokenizer.json (required, or --tokenizer)")
	tokFile := fs.String("tokenizer", "", "a tokenizer.json `FILE` instead of --model")
	input := fs.String("input", "", "input `FILE` (required)")
	textCol := fs.String("text-column", "text", "the column (JSONL key, CSV/TSV header) holding the text")
	pairCol := fs.String("text-pair-column", "", "the column of the second text of sentence pairs (default: none)")
	out := fs.String("out", "", "write to this `FILE` (atomically) instead of standard output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *input == "":
		return errors.New("--input FILE is required")
	case *model == "" && *tokFile == "":
		return errors.New("--model DIR (or --tokenizer FILE) is required")
	case *model != "" && *tokFile != "":
		return errors.New("--model and --tokenizer exclude each other")
	}
	path := *tokFile
	if path == "" {
		path = filepath.Join(*model, "tokenizer.json")
	}
	tok, err := tokenizer.Load(path)
	if err != nil {
		return err
	}
	texts, err := readTexts(*input, *textCol, *pairCol)
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, t := range texts {
			var e tokenizer.Encoding
			if *pairCol != "" {
				e = tok.EncodePair(t[0], t[1])
			} else {
				e = tok.EncodeSingle(t[0])
			}
			line := tokenized{IDs: e.IDs, Tokens: make([]string, len(e.IDs))}
			if *pairCol != "" {
				line.TypeIDs = e.TypeIDs
			}
			if line.IDs == nil {
				line.IDs = []int32{}
			}
			for i, id := range e.IDs {
				line.Tokens[i] = tok.Decode([]int32{id})
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
		return nil
	}
	if *out == "" {
		bw := bufio.NewWriter(stdout)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	return checkpoint.WriteAtomic(*out, write)
}

// readTexts reads the texts (and second texts, with pairCol) of a JSONL,
// CSV or TSV file (package userdata: labels are not needed) or of a plain
// text file, one text per line; an error names the file and line.
func readTexts(path, textCol, pairCol string) ([][2]string, error) {
	if _, err := userdata.Format(path); err == nil {
		ex, err := userdata.ReadTexts(path, userdata.Columns{Text: textCol, Pair: pairCol}, false)
		if err != nil {
			return nil, err
		}
		out := make([][2]string, len(ex))
		for i, e := range ex {
			out[i] = [2]string{e.Text, e.Pair}
		}
		return out, nil
	}
	if pairCol != "" {
		return nil, fmt.Errorf("%s: --text-pair-column needs a JSONL, CSV or TSV file, not plain text", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		out = append(out, [2]string{strings.TrimSuffix(sc.Text(), "\r")})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
