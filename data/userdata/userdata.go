// Package userdata reads the datasets users bring to tram, in the layouts
// Hugging Face users already have:
//
//   - labelled texts (text classification, sentence pairs): JSON Lines
//     (.jsonl, .json) or CSV (.csv; .tsv tab-separated), one example per
//     line or row, with a text column, an optional second text column and a
//     label column; labels are strings or integers;
//   - image folders: DIR/<class>/*.png|*.jpg|*.jpeg, the class names sorted;
//   - plain text for language modelling: .txt (one document per non-empty
//     line, as the `datasets` text loader reads it) or JSON Lines with a
//     "text" field.
//
// Every reader checks its input fully and fails with one line that names
// the file, the line (or image) and the problem, before any training.
package userdata

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Columns name the fields of a labelled text file.
type Columns struct {
	// Text is the text's column ("text" when empty).
	Text string
	// Pair is the second text's column of sentence-pair tasks ("": none).
	Pair string
	// Label is the label's column ("label" when empty). A file without it
	// can still be read for prediction (ReadTexts with needLabel false).
	Label string
}

func (c Columns) withDefaults() Columns {
	if c.Text == "" {
		c.Text = "text"
	}
	if c.Label == "" {
		c.Label = "label"
	}
	return c
}

// TextExample is one labelled text.
type TextExample struct {
	Text, Pair string
	// Label is the label as written (an integer label in its decimal
	// form); empty when the file has none and none was needed.
	Label string
	// Line is the example's line in the file (1-based; for CSV the
	// header is line 1).
	Line int
}

// Format returns the format of a data file by its extension: "jsonl",
// "csv" or "tsv", or an error naming the extensions tram reads.
func Format(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".json":
		return "jsonl", nil
	case ".csv":
		return "csv", nil
	case ".tsv":
		return "tsv", nil
	}
	return "", fmt.Errorf("%s: unknown format %q: labelled texts are .jsonl (JSON Lines), .csv or .tsv", path, filepath.Ext(path))
}

// ReadTexts reads the labelled texts of a JSONL or CSV file. With
// needLabel false the labels are not read (prediction, tokenization): a
// file without a label column reads, with empty labels.
func ReadTexts(path string, cols Columns, needLabel bool) ([]TextExample, error) {
	cols = cols.withDefaults()
	format, err := Format(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ex []TextExample
	if format == "jsonl" {
		ex, err = readJSONLTexts(f, path, cols, needLabel)
	} else {
		ex, err = readCSVTexts(f, path, format == "tsv", cols, needLabel)
	}
	if err != nil {
		return nil, err
	}
	if len(ex) == 0 {
		return nil, fmt.Errorf("%s: no examples (the file is empty)", path)
	}
	return ex, nil
}

func readJSONLTexts(r io.Reader, path string, cols Columns, needLabel bool) ([]TextExample, error) {
	var out []TextExample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("%s:%d: not a JSON object: %v", path, line, err)
		}
		e := TextExample{Line: line}
		var err error
		if e.Text, err = stringField(obj, cols.Text, true); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		if cols.Pair != "" {
			if e.Pair, err = stringField(obj, cols.Pair, true); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, line, err)
			}
		}
		if needLabel {
			if e.Label, err = labelField(obj, cols.Label); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, line, err)
			}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return out, nil
}

// stringField returns obj[key] as a string.
func stringField(obj map[string]json.RawMessage, key string, need bool) (string, error) {
	raw, ok := obj[key]
	if !ok {
		if !need {
			return "", nil
		}
		return "", fmt.Errorf("missing column %q (the keys are %s; choose the column with --text-column, --text-pair-column)", key, keys(obj))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("column %q is %s, not a string", key, raw)
	}
	return s, nil
}

// labelField returns obj[key] as a label: a string, or an integer in its
// decimal form.
func labelField(obj map[string]json.RawMessage, key string) (string, error) {
	raw, ok := obj[key]
	if !ok {
		return "", fmt.Errorf("missing label column %q (the keys are %s; choose it with --label-column)", key, keys(obj))
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return "", fmt.Errorf("label column %q is empty", key)
		}
		return s, nil
	}
	var x float64
	if err := json.Unmarshal(raw, &x); err != nil || x != math.Trunc(x) || math.Abs(x) > 1<<53 {
		return "", fmt.Errorf("label column %q is %s: a label is a string or an integer", key, raw)
	}
	return strconv.FormatInt(int64(x), 10), nil
}

func keys(obj map[string]json.RawMessage) string {
	var ks []string
	for k := range obj {
		ks = append(ks, strconv.Quote(k))
	}
	slices.Sort(ks)
	if len(ks) == 0 {
		return "none"
	}
	return strings.Join(ks, ", ")
}

func readCSVTexts(r io.Reader, path string, tab bool, cols Columns, needLabel bool) ([]TextExample, error) {
	cr := csv.NewReader(r)
	if tab {
		cr.Comma = '\t'
		cr.LazyQuotes = true
	}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: no examples (the file is empty)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff") // a byte-order mark
	}
	col := func(name string, need bool) (int, error) {
		i := slices.Index(header, name)
		if i < 0 && need {
			return -1, fmt.Errorf("%s:1: missing column %q (the header has %s)", path, name, strings.Join(quoteAll(header), ", "))
		}
		return i, nil
	}
	ti, err := col(cols.Text, true)
	if err != nil {
		return nil, err
	}
	pi := -1
	if cols.Pair != "" {
		if pi, err = col(cols.Pair, true); err != nil {
			return nil, err
		}
	}
	li := -1
	if needLabel {
		if li, err = col(cols.Label, true); err != nil {
			return nil, err
		}
	}
	var out []TextExample
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		e := TextExample{Text: rec[ti], Line: line}
		if pi >= 0 {
			e.Pair = rec[pi]
		}
		if li >= 0 {
			e.Label = strings.TrimSpace(rec[li])
			if e.Label == "" {
				return nil, fmt.Errorf("%s:%d: label column %q is empty", path, line, cols.Label)
			}
			if n, err := strconv.ParseInt(e.Label, 10, 64); err == nil {
				e.Label = strconv.FormatInt(n, 10) // "+1", "01" → "1", as a JSON integer reads
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = strconv.Quote(x)
	}
	return out
}

// LabelSet returns the sorted label set of a training set: numerically
// when every label is an integer, else as strings. It fails when there is
// only one class.
func LabelSet(path string, labels []string) ([]string, error) {
	set := map[string]bool{}
	for _, l := range labels {
		set[l] = true
	}
	out := make([]string, 0, len(set))
	for l := range set {
		out = append(out, l)
	}
	SortLabels(out)
	if len(out) < 2 {
		return nil, fmt.Errorf("%s: only one class (%s): a classifier needs at least two", path, strings.Join(quoteAll(out), ", "))
	}
	return out, nil
}

// SortLabels sorts labels numerically when all are integers, else as
// strings (so that 2 comes before 10, and "cat" before "dog").
func SortLabels(labels []string) {
	numeric := true
	for _, l := range labels {
		if _, err := strconv.ParseInt(l, 10, 64); err != nil {
			numeric = false
			break
		}
	}
	if !numeric {
		slices.Sort(labels)
		return
	}
	slices.SortFunc(labels, func(a, b string) int {
		x, _ := strconv.ParseInt(a, 10, 64)
		y, _ := strconv.ParseInt(b, 10, 64)
		return int(min(max(x-y, -1), 1))
	})
}

// LabelIndex maps each example's label to its index in labels, failing on
// the first label that is not one of them (naming the file and line).
func LabelIndex(path string, ex []TextExample, labels []string) ([]int32, error) {
	index := make(map[string]int32, len(labels))
	for i, l := range labels {
		index[l] = int32(i)
	}
	out := make([]int32, len(ex))
	for i, e := range ex {
		y, ok := index[e.Label]
		if !ok {
			return nil, fmt.Errorf("%s:%d: label %q is not one the model knows (%s)", path, e.Line, e.Label, strings.Join(quoteAll(labels), ", "))
		}
		out[i] = y
	}
	return out, nil
}

// Named is a named data file or directory: an evaluation domain given as
// NAME=PATH.
type Named struct{ Name, Path string }

// ParseNamed parses NAME=PATH (a PATH alone is named after its file name
// without extension).
func ParseNamed(s string) (Named, error) {
	if s == "" {
		return Named{}, errors.New("empty NAME=PATH")
	}
	if name, path, ok := strings.Cut(s, "="); ok {
		if name == "" || path == "" {
			return Named{}, fmt.Errorf("%q: want NAME=PATH", s)
		}
		return Named{name, path}, nil
	}
	base := filepath.Base(filepath.Clean(s))
	return Named{strings.TrimSuffix(base, filepath.Ext(base)), s}, nil
}

// ReadDocuments reads the documents of a language-modelling text file:
// .txt, one document per non-empty line; .jsonl/.json, the "text" field of
// each line (column names another field).
func ReadDocuments(path, column string) ([]string, error) {
	if column == "" {
		column = "text"
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var docs []string
	switch strings.ToLower(filepath.Ext(path)) {
	case ".txt", ".text", "":
		for _, l := range strings.Split(string(raw), "\n") {
			if l = strings.TrimRight(l, "\r"); strings.TrimSpace(l) != "" {
				docs = append(docs, l)
			}
		}
	case ".jsonl", ".json":
		for i, l := range bytes.Split(raw, []byte("\n")) {
			if len(bytes.TrimSpace(l)) == 0 {
				continue
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(l, &obj); err != nil {
				return nil, fmt.Errorf("%s:%d: not a JSON object: %v", path, i+1, err)
			}
			s, err := stringField(obj, column, true)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
			}
			docs = append(docs, s)
		}
	default:
		return nil, fmt.Errorf("%s: unknown format %q: language-modelling text is .txt (one document per line) or .jsonl (a %q field)", path, filepath.Ext(path), column)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: no text (the file is empty)", path)
	}
	return docs, nil
}

// firstJSONLine returns the first non-empty line of a JSONL file as an
// object.
func firstJSONLine(path string) (map[string]json.RawMessage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	for sc.Scan() {
		if raw := bytes.TrimSpace(sc.Bytes()); len(raw) > 0 {
			var obj map[string]json.RawMessage
			err := json.Unmarshal(raw, &obj)
			return obj, err
		}
	}
	return nil, io.EOF
}
