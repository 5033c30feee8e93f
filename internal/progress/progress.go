// Package progress draws a one-line progress bar on a terminal.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Bar draws a one-line progress bar on a terminal and stays silent
// otherwise (logs and pipes get the final summary only).
type Bar struct {
	w     io.Writer
	label string
	// Total is the number of steps; Enabled whether the bar is drawn (w is
	// a terminal).
	Total   int
	start   time.Time
	Enabled bool
	last    time.Time
}

// New returns a bar labelled label for total steps, drawn on w when w is a
// terminal.
func New(w io.Writer, label string, total int) *Bar {
	p := &Bar{w: w, label: label, Total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.Enabled = true
		}
	}
	return p
}

// Update shows done of Total steps, with a note.
func (p *Bar) Update(done int, note string) {
	if !p.Enabled || (time.Since(p.last) < 100*time.Millisecond && done < p.Total) {
		return
	}
	p.last = time.Now()
	const width = 30
	fill := width * done / max(p.Total, 1)
	el := time.Since(p.start)
	eta := time.Duration(0)
	if done > 0 {
		eta = el / time.Duration(done) * time.Duration(p.Total-done)
	}
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %s eta %s  ", p.label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
		done, p.Total, note, eta.Round(time.Second))
}

// Done ends the bar's line.
func (p *Bar) Done() {
	if p.Enabled {
		fmt.Fprintln(p.w)
	}
}
