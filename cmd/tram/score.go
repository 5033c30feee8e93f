package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/tramlab/tram/eval"
	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/tokenizer"
)

func init() {
	register(&command{name: "score", summary: "perplexity of a GPT-2-family model on a text file, one document per line", run: runScore})
}

// scoreResult is the JSON contract of `tram score --json`.
// scoreResult is what tram score prints: eval.Perplexity's fields.
type scoreResult = eval.Perplexity

func runScore(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("score", "--model DIR [--json] FILE",
		"Scores FILE with a GPT-2-family model directory (config.json, model.safetensors,\n"+
			"tokenizer.json). Each non-empty line of FILE (split on \\n, one trailing \\r dropped) is one\n"+
			"document, encoded without added special tokens (a literal <|endoftext|> is that token). A\n"+
			"document longer than n_positions is cut into consecutive windows of n_positions tokens; in\n"+
			"each window every token after the first is predicted from its prefix. Prints the number of\n"+
			"documents, of predicted tokens N, the mean negative log-likelihood in nats and exp(nll);\n"+
			"with N = 0, nll and perplexity are null.", stderr)
	model := fs.String("model", "", "GPT-2-family model directory: config.json, model.safetensors, tokenizer.json (required)")
	asJSON := fs.Bool("json", false, `print {"documents", "tokens", "nll", "perplexity"} as one JSON object`)
	batch := fs.Int("batch-size", 8, "windows per forward pass (≥ 1; changes speed and memory, not the result beyond rounding)")
	// Accept FILE before or after the flags.
	var file string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	rest := fs.Args()
	if file == "" && len(rest) > 0 {
		file, rest = rest[0], rest[1:]
	}
	switch {
	case *model == "" && file == "":
		return errors.New("missing required flag --model and the FILE argument")
	case *model == "":
		return errors.New("missing required flag --model")
	case file == "":
		return errors.New("missing the FILE argument: the text to score")
	case len(rest) > 0:
		return fmt.Errorf("one FILE argument expected; unexpected %q", rest[0])
	case *batch < 1:
		return fmt.Errorf("--batch-size must be ≥ 1 (got %d)", *batch)
	}
	res, err := score(*model, file, *batch)
	if err != nil {
		return err
	}
	if *asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	if res.NLL == nil {
		fmt.Fprintf(stdout, "%d documents, 0 predicted tokens: no perplexity\n", res.Documents)
		return nil
	}
	fmt.Fprintf(stdout, "%d documents, %d predicted tokens: nll %.4f nats/token, perplexity %.3f\n", res.Documents, res.Tokens, *res.NLL, *res.PPL)
	return nil
}

func score(dir, file string, batch int) (scoreResult, error) {
	var res scoreResult
	raw, err := os.ReadFile(file)
	if err != nil {
		return res, err
	}
	m, err := gpt2.Load(dir)
	if err != nil {
		return res, err
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return res, err
	}
	// Every non-empty line is one document (CR LF endings accepted).
	var docs []string
	var lineOf []int
	lines := bytes.Split(raw, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1] // the text after a final newline is not a line
	}
	for i, line := range lines {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		if !utf8.Valid(line) {
			return res, fmt.Errorf("%s:%d: invalid UTF-8", file, i+1)
		}
		docs, lineOf = append(docs, string(line)), append(lineOf, i+1)
	}
	p, err := eval.LMPerplexity(m, tok, docs, batch)
	if de := (*eval.DocError)(nil); errors.As(err, &de) {
		return res, fmt.Errorf("%s:%d: %s", file, lineOf[de.Doc], de.Msg)
	} else if err != nil {
		return res, err
	}
	return p, nil
}
