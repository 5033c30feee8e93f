package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress draws a one-line progress bar on a terminal and stays silent
// otherwise (logs and pipes get the final summary only).
type progress struct {
	w       io.Writer
	label   string
	total   int
	start   time.Time
	enabled bool
	last    time.Time
}

func newProgress(w io.Writer, label string, total int) *progress {
	p := &progress{w: w, label: label, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.enabled = true
		}
	}
	return p
}

func (p *progress) update(done int, note string) {
	if !p.enabled || (time.Since(p.last) < 100*time.Millisecond && done < p.total) {
		return
	}
	p.last = time.Now()
	const width = 30
	fill := width * done / max(p.total, 1)
	el := time.Since(p.start)
	eta := time.Duration(0)
	if done > 0 {
		eta = el / time.Duration(done) * time.Duration(p.total-done)
	}
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %s eta %s  ", p.label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
		done, p.total, note, eta.Round(time.Second))
}

func (p *progress) done() {
	if p.enabled {
		fmt.Fprintln(p.w)
	}
}
