package report

import (
	"bytes"
	"fmt"
	"html"
	"regexp"
	"strings"
)

// doc is a report as a list of blocks, rendered both to Markdown and to
// HTML. Text may use three inline marks: **bold**, *italic* and `code`.
type doc struct{ blocks []any }

type heading struct {
	level int
	text  string
}

type para struct{ text string }

type codeBlock struct{ text string }

type list struct{ items []string }

// table is a Markdown-style table; the first left columns are left-aligned,
// the others right-aligned.
type table struct {
	head []string
	rows [][]string
	left int
}

// figure is a plot: the SVG written to plots/name and inlined in HTML.
type figure struct {
	name    string // file name under plots/
	alt     string
	caption string
	svg     []byte
}

func (d *doc) h(level int, text string) { d.blocks = append(d.blocks, heading{level, text}) }

func (d *doc) p(format string, a ...any) {
	d.blocks = append(d.blocks, para{fmt.Sprintf(format, a...)})
}

func (d *doc) code(text string) { d.blocks = append(d.blocks, codeBlock{text}) }

func (d *doc) list(items ...string) {
	if len(items) > 0 {
		d.blocks = append(d.blocks, list{items})
	}
}

func (d *doc) table(t table) {
	if len(t.rows) > 0 {
		d.blocks = append(d.blocks, t)
	}
}

func (d *doc) figure(f *figure) {
	if f != nil {
		d.blocks = append(d.blocks, f)
	}
}

// markdown renders the document as GitHub-flavoured Markdown, with figures
// as image links to plots/NAME.
func (d *doc) markdown() []byte {
	var b bytes.Buffer
	for i, bl := range d.blocks {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch x := bl.(type) {
		case heading:
			fmt.Fprintf(&b, "%s %s\n", strings.Repeat("#", x.level), x.text)
		case para:
			fmt.Fprintf(&b, "%s\n", x.text)
		case codeBlock:
			fmt.Fprintf(&b, "```\n%s\n```\n", x.text)
		case list:
			for _, it := range x.items {
				fmt.Fprintf(&b, "- %s\n", it)
			}
		case table:
			row := func(cells []string) {
				b.WriteString("|")
				for _, c := range cells {
					b.WriteString(" " + strings.ReplaceAll(c, "|", `\|`) + " |")
				}
				b.WriteByte('\n')
			}
			row(x.head)
			b.WriteString("|")
			for j := range x.head {
				if j < x.left {
					b.WriteString("---|")
				} else {
					b.WriteString("---:|")
				}
			}
			b.WriteByte('\n')
			for _, r := range x.rows {
				row(r)
			}
		case *figure:
			fmt.Fprintf(&b, "![%s](plots/%s)\n", x.alt, x.name)
			if x.caption != "" {
				fmt.Fprintf(&b, "\n*%s*\n", x.caption)
			}
		}
	}
	return b.Bytes()
}

var (
	boldRe   = regexp.MustCompile(`\*\*(.+?)\*\*`)
	italicRe = regexp.MustCompile(`\*([^* ][^*]*?)\*`)
	codeRe   = regexp.MustCompile("`([^`]+)`")
)

// inline escapes text for HTML and turns the inline marks into tags.
func inline(s string) string {
	s = html.EscapeString(s)
	s = codeRe.ReplaceAllString(s, "<code>$1</code>")
	s = boldRe.ReplaceAllString(s, "<strong>$1</strong>")
	return italicRe.ReplaceAllString(s, "<em>$1</em>")
}

const css = `body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1,h2,h3{line-height:1.2}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.9rem}th,td{border:1px solid #ccc;padding:.25rem .5rem}
th{background:#f3f3f3}td.r,th.r{text-align:right}tbody tr:nth-child(even){background:#fafafa}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}pre{background:#f5f5f5;padding:.6rem;overflow-x:auto;white-space:pre-wrap}
blockquote{border-left:4px solid #c33;margin:1rem 0;padding:.3rem 1rem;background:#fff4f4}
figure{margin:1rem 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.85rem;color:#555}`

// html renders the document as one self-contained HTML page: inline CSS,
// SVG inlined, no scripts, nothing fetched.
func (d *doc) html(title string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n<style>\n%s\n</style>\n</head>\n<body>\n",
		html.EscapeString(title), css)
	for _, bl := range d.blocks {
		switch x := bl.(type) {
		case heading:
			fmt.Fprintf(&b, "<h%d>%s</h%d>\n", x.level, inline(x.text), x.level)
		case para:
			if strings.HasPrefix(x.text, "> ") {
				fmt.Fprintf(&b, "<blockquote><p>%s</p></blockquote>\n", inline(strings.TrimPrefix(x.text, "> ")))
			} else {
				fmt.Fprintf(&b, "<p>%s</p>\n", inline(x.text))
			}
		case codeBlock:
			fmt.Fprintf(&b, "<pre>%s</pre>\n", html.EscapeString(x.text))
		case list:
			b.WriteString("<ul>\n")
			for _, it := range x.items {
				fmt.Fprintf(&b, "<li>%s</li>\n", inline(it))
			}
			b.WriteString("</ul>\n")
		case table:
			cell := func(tag string, j int, c string) {
				class := ""
				if j >= x.left {
					class = ` class="r"`
				}
				fmt.Fprintf(&b, "<%s%s>%s</%s>", tag, class, inline(c), tag)
			}
			b.WriteString("<table>\n<thead><tr>")
			for j, c := range x.head {
				cell("th", j, c)
			}
			b.WriteString("</tr></thead>\n<tbody>\n")
			for _, r := range x.rows {
				b.WriteString("<tr>")
				for j, c := range r {
					cell("td", j, c)
				}
				b.WriteString("</tr>\n")
			}
			b.WriteString("</tbody>\n</table>\n")
		case *figure:
			fmt.Fprintf(&b, "<figure>\n%s", inlineSVG(x.svg))
			if x.caption != "" {
				fmt.Fprintf(&b, "<figcaption>%s</figcaption>\n", inline(x.caption))
			}
			b.WriteString("</figure>\n")
		}
	}
	b.WriteString("</body>\n</html>\n")
	return b.Bytes()
}

// inlineSVG strips an SVG file's XML prologue and the unused xlink
// namespace so that it can sit inside HTML.
func inlineSVG(svg []byte) string {
	s := string(svg)
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	s = strings.Replace(s, "\n\txmlns:xlink=\"http://www.w3.org/1999/xlink\"", "", 1)
	s = strings.Replace(s, ` xmlns:xlink="http://www.w3.org/1999/xlink"`, "", 1)
	return s
}
