package userdata

import (
	"flag"
	"strings"
)

// DefineFlags defines --text-column, --text-pair-column and
// --label-column on fs, filling c. Their defaults are empty, meaning
// "text", none and "label".
func (c *Columns) DefineFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Text, "text-column", "", "your data: the text's column or JSON field (default text)")
	fs.StringVar(&c.Pair, "text-pair-column", "", "your data: the second text's column, for sentence-pair tasks (e.g. XNLI's hypothesis),\nencoded as the model's tokenizer lays out a pair (default: none)")
	fs.StringVar(&c.Label, "label-column", "", "your data: the label's column or JSON field; labels are strings or integers (default label)")
}

// NamedList is a repeatable NAME=PATH flag (flag.Value).
type NamedList []Named

// String returns the list as NAME=PATH,….
func (l *NamedList) String() string {
	if l == nil {
		return ""
	}
	var parts []string
	for _, n := range *l {
		parts = append(parts, n.Name+"="+n.Path)
	}
	return strings.Join(parts, ",")
}

// Set adds one NAME=PATH (PATH alone is named after its base name).
func (l *NamedList) Set(s string) error {
	n, err := ParseNamed(s)
	if err != nil {
		return err
	}
	for _, have := range *l {
		if have.Name == n.Name {
			return &duplicateName{n.Name}
		}
	}
	*l = append(*l, n)
	return nil
}

type duplicateName struct{ name string }

func (e *duplicateName) Error() string {
	return "test set name " + e.name + " is given twice: name each NAME=PATH differently"
}

// HasTokenIDs reports whether path is a JSON Lines file whose first
// record has an "input_ids" field: pre-tokenized sequences rather than
// text.
func HasTokenIDs(path string) bool {
	if f, _ := Format(path); f != "jsonl" {
		return false
	}
	docs, err := firstJSONLine(path)
	return err == nil && docs["input_ids"] != nil
}
