// Package roff turns man pages written with the man(7) macros into plain
// text paragraphs, each tagged with the section heading it falls under.
//
// It is not a typesetter: requests other than the common man macros are
// dropped, font and size escapes are removed and the usual special
// characters are mapped to Unicode. That is enough to get readable prose
// out of the pages in /usr/share/man for language modelling.
package roff

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"strings"
)

// A Paragraph is one block of running text of a page.
type Paragraph struct {
	Section string // the enclosing .SH heading, e.g. "DESCRIPTION"
	Text    string
}

// A Page is a converted man page.
type Page struct {
	Title      string // first argument of .TH
	Link       bool   // the page only sources another one (.so)
	Paragraphs []Paragraph
}

// ReadFile reads and converts the man page at path, gunzipping names that
// end in ".gz".
func ReadFile(path string) (*Page, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, &os.PathError{Op: "gunzip", Path: path, Err: err}
		}
		b, err = io.ReadAll(zr)
		if err != nil {
			return nil, &os.PathError{Op: "gunzip", Path: path, Err: err}
		}
	}
	return Parse(b), nil
}

// Parse converts roff source to a Page.
func Parse(src []byte) *Page {
	p := &Page{}
	section := ""
	var cur []string
	flush := func() {
		t := strings.Join(strings.Fields(strings.Join(cur, " ")), " ")
		if t != "" {
			p.Paragraphs = append(p.Paragraphs, Paragraph{Section: section, Text: t})
		}
		cur = cur[:0]
	}
	for _, line := range strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n") {
		if line == "" {
			flush()
			continue
		}
		if line[0] != '.' && line[0] != '\'' {
			if t := Unescape(line); strings.TrimSpace(t) != "" {
				cur = append(cur, t)
			}
			continue
		}
		name, rest := request(line[1:])
		args := splitArgs(rest)
		switch name {
		case "", `\"`:
			// empty request or comment
		case "TH":
			if len(args) > 0 {
				p.Title = Unescape(args[0])
			}
		case "so":
			p.Link = true
		case "SH":
			flush()
			section = strings.ToUpper(strings.TrimSpace(Unescape(strings.Join(args, " "))))
		case "SS":
			flush()
			if t := strings.TrimSpace(Unescape(strings.Join(args, " "))); t != "" {
				cur = append(cur, t)
				flush()
			}
		case "PP", "LP", "P", "TP", "HP", "sp", "RS", "RE", "TQ", "in", "EX", "EE", "nf", "fi":
			flush()
		case "IP":
			flush()
			if len(args) > 0 {
				cur = append(cur, Unescape(args[0]))
			}
		case "B", "I", "SM", "SB":
			cur = append(cur, Unescape(strings.Join(args, " ")))
		case "BR", "RB", "IR", "RI", "BI", "IB":
			var b strings.Builder
			for _, a := range args {
				b.WriteString(Unescape(a))
			}
			cur = append(cur, b.String())
		case "OP":
			cur = append(cur, "["+Unescape(strings.Join(args, " "))+"]")
		case "UR", "MT":
			// the URL itself is dropped; its link text follows as text
		case "br":
			// line break inside a paragraph
		}
	}
	flush()
	return p
}

// request splits a control line (without its leading dot) into the
// request name and the rest.
func request(s string) (string, string) {
	s = strings.TrimLeft(s, " \t")
	if strings.HasPrefix(s, `\"`) {
		return `\"`, ""
	}
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// splitArgs splits macro arguments on blanks, honouring double quotes.
func splitArgs(s string) []string {
	if i := strings.Index(s, `\"`); i >= 0 {
		s = s[:i]
	}
	var args []string
	var cur strings.Builder
	inQ, have := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(c)
			cur.WriteByte(s[i+1])
			i++
			have = true
		case c == '"':
			if inQ && i+1 < len(s) && s[i+1] == '"' {
				cur.WriteByte('"')
				i++
			} else {
				inQ = !inQ
			}
			have = true
		case (c == ' ' || c == '\t') && !inQ:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}

var specials = map[string]string{
	"em": "—", "en": "–", "hy": "-", "mi": "-", "aq": "'", "dq": `"`, "lq": "“", "rq": "”",
	"oq": "‘", "cq": "’", "bu": "•", "co": "©", "rg": "®", "tm": "™", "de": "°", "ti": "~",
	"ha": "^", "rs": `\`, "sl": "/", "ba": "|", "or": "|", "pl": "+", "mu": "×", "di": "÷",
	"<=": "≤", ">=": "≥", "!=": "≠", "->": "→", "<-": "←", "Fo": "«", "Fc": "»", "ga": "`",
	"aa": "´", "at": "@", "sh": "#", "Do": "$", "ct": "¢", "eu": "€", "Eu": "€", "ss": "ß",
	":a": "ä", ":o": "ö", ":u": "ü", ":A": "Ä", ":O": "Ö", ":U": "Ü", "'e": "é", "`e": "è",
	"'a": "á", "`a": "à", "^e": "ê", "~n": "ñ", ",c": "ç", "lB": "[", "rB": "]", "lC": "{",
	"rC": "}", "la": "⟨", "ra": "⟩", "dg": "†", "sc": "§", "ps": "¶", "12": "½",
}

// Unescape removes font, size and other escapes from one text line and maps
// special characters.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case '"', '#': // comment to end of line
			return b.String()
		case 'f', 'F', 'k', 'n', '*', 'g', 'm', 'M', 'V', 'Y':
			// \fB, \f(BI, \f[BI], \*(xx, \n[reg]: dropped
			i = skipName(s, i+1) - 1
		case 's':
			j := i + 1
			if j < len(s) && (s[j] == '+' || s[j] == '-') {
				j++
			}
			if j < len(s) && (s[j] == '(' || s[j] == '[' || s[j] == '\'') {
				i = skipName(s, j) - 1
			} else {
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				i = j - 1
			}
		case '(':
			if i+2 < len(s) {
				if r, ok := specials[s[i+1:i+3]]; ok {
					b.WriteString(r)
				}
				i += 2
			}
		case '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return b.String()
			}
			name := s[i+1 : i+j]
			if r, ok := specials[name]; ok {
				b.WriteString(r)
			} else if strings.HasPrefix(name, "u") && len(name) == 5 {
				var r rune
				for _, h := range name[1:] {
					r <<= 4
					switch {
					case h >= '0' && h <= '9':
						r |= h - '0'
					case h >= 'A' && h <= 'F':
						r |= h - 'A' + 10
					case h >= 'a' && h <= 'f':
						r |= h - 'a' + 10
					}
				}
				b.WriteRune(r)
			}
			i += j
		case 'w', 'h', 'v', 'l', 'L', 'o', 'D', 'X', 'b', 'x', 'A', 'B', 'C', 'N', 'R', 'Z', 'H', 'S':
			// escapes with a delimited argument: \w'...'
			if i+1 < len(s) {
				d := s[i+1]
				if d == '(' || d == '[' {
					i = skipName(s, i+1) - 1
				} else if j := strings.IndexByte(s[i+2:], d); j >= 0 {
					i += 2 + j
				}
			}
		case '-':
			b.WriteByte('-')
		case 'e', '\\':
			b.WriteByte('\\')
		case ' ', '0', '~':
			b.WriteByte(' ')
		case '.':
			b.WriteByte('.')
		case '\'':
			b.WriteString("´")
		case '`':
			b.WriteByte('`')
		case 'c', '&', '|', '^', ')', '%', ':', '/', ',', 'd', 'u', 'r', 'p', 't', 'a', '{', '}', 'z', 'E':
			// zero-width or layout-only
		default:
			b.WriteByte(e)
		}
	}
	return b.String()
}

// skipName returns the index just past a roff name starting at s[i]: one
// character, "(xx" or "[name]".
func skipName(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '(':
		return min(i+3, len(s))
	case '[':
		if j := strings.IndexByte(s[i:], ']'); j >= 0 {
			return i + j + 1
		}
		return len(s)
	case '\'':
		if j := strings.IndexByte(s[i+1:], '\''); j >= 0 {
			return i + j + 2
		}
		return len(s)
	}
	return i + 1
}
