// Package fortune reads the text files of the fortune program: entries
// separated by lines holding a single '%'.
//
// Files may be UTF-8 or Latin-1 (decoded to UTF-8) and may use backspace
// overstriking for bold or underlined text, which is removed.
package fortune

import (
	"bytes"
	"os"
	"strings"
	"unicode/utf8"
)

// Parse splits the contents of a fortune file into entries, trimmed of
// surrounding blank lines; empty entries are dropped.
func Parse(b []byte) []string {
	s := Decode(b)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var out []string
	var cur strings.Builder
	flush := func() {
		t := strings.Trim(cur.String(), "\n")
		if strings.TrimSpace(t) != "" {
			out = append(out, t)
		}
		cur.Reset()
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimRight(line, " \t") == "%" {
			flush()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return out
}

// ReadFile parses the fortune file at path.
func ReadFile(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b), nil
}

// Decode returns b as UTF-8 (decoding Latin-1 when b is not valid UTF-8)
// with backspace overstriking removed ("_\bx" and "x\bx" become "x").
func Decode(b []byte) string {
	var s string
	if utf8.Valid(b) {
		s = string(b)
	} else {
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		s = string(r)
	}
	if !strings.Contains(s, "\b") {
		return s
	}
	var buf bytes.Buffer
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		if i+1 < len(rs) && rs[i+1] == '\b' {
			i++ // drop the overstruck character and the backspace
			continue
		}
		if rs[i] == '\b' {
			continue
		}
		buf.WriteRune(rs[i])
	}
	return buf.String()
}
