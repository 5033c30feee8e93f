package roff

import (
	"fmt"
	"testing"
)

const page = `.\" comment
.TH LS 1 "2024" "GNU" "User Commands"
.SH NAME
ls \- list directory contents
.SH DESCRIPTION
List information about the
.BR FILE s
(the current directory by default).
.PP
\fB\-a\fR, \fB\-\-all\fP do not ignore entries starting with \(dq.\(dq \[em] really.
.SS "Exit status"
Returns 0 on success\c
\&.
`

func TestParse(t *testing.T) {
	p := Parse([]byte(page))
	if p.Title != "LS" || p.Link {
		t.Errorf("title %q link %v", p.Title, p.Link)
	}
	want := []Paragraph{
		{"NAME", "ls - list directory contents"},
		{"DESCRIPTION", "List information about the FILEs (the current directory by default)."},
		{"DESCRIPTION", `-a, --all do not ignore entries starting with "." — really.`},
		{"DESCRIPTION", "Exit status"},
		{"DESCRIPTION", "Returns 0 on success ."},
	}
	if len(p.Paragraphs) != len(want) {
		t.Fatalf("got %d paragraphs: %q", len(p.Paragraphs), p.Paragraphs)
	}
	for i := range want {
		if p.Paragraphs[i] != want[i] {
			t.Errorf("paragraph %d = %q, want %q", i, p.Paragraphs[i], want[i])
		}
	}
	if !Parse([]byte(".so man1/ls.1\n")).Link {
		t.Error(".so page not marked as a link")
	}
}

func TestUnescapeNoPanic(t *testing.T) {
	for _, s := range []string{`\`, `\f`, `\(`, `\[`, `\s`, `\s+`, `\w`, `\w'x`, `\[u00e9]`, `\*(`} {
		Unescape(s)
	}
	if got := Unescape(`caf\[u00E9] \(co`); got != "café ©" {
		t.Errorf("got %q", got)
	}
}

func Example() {
	p := Parse([]byte(".TH ECHO 1\n.SH DESCRIPTION\n.B echo\nprints its \\fIarguments\\fP.\n"))
	for _, para := range p.Paragraphs {
		fmt.Printf("%s: %s\n", para.Section, para.Text)
	}
	// Output: DESCRIPTION: echo prints its arguments.
}

func FuzzParse(f *testing.F) {
	f.Add(page)
	f.Add(".SH \"A\\\"B\n\\fB\\[u00e9\\s+2x\\w'abc'\\*(Tm\n.IP \"\" 4\n")
	f.Fuzz(func(t *testing.T, s string) {
		p := Parse([]byte(s))
		for _, para := range p.Paragraphs {
			if para.Text == "" {
				t.Fatalf("empty paragraph from %q", s)
			}
		}
	})
}
