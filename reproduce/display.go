package reproduce

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tramlab/tram/grid"
)

// gridDisplay shows a grid's progress: on a terminal one redrawn line (runs
// done of total, ETA, each run in flight with its step); elsewhere one line
// per finished run. In a child run (TRAM_PROGRESS_FILE set) it writes the
// run's progress to that file for the parent instead.
type gridDisplay struct {
	w             io.Writer
	term          bool
	file          string
	mu            sync.Mutex
	total, done   int
	jobs          int
	began         time.Time
	finishedHere  int
	running       []*runState
	lastFile      time.Time
	tick          *time.Ticker
	quit, stopped chan struct{}
}

func newGridDisplay(w io.Writer, total, done, jobs int) *gridDisplay {
	d := &gridDisplay{w: w, total: total, done: done, jobs: jobs, began: time.Now(), file: os.Getenv("TRAM_PROGRESS_FILE"),
		quit: make(chan struct{}), stopped: make(chan struct{})}
	if f, ok := w.(*os.File); ok && d.file == "" {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			d.term = true
		}
	}
	d.tick = time.NewTicker(time.Second)
	go func() {
		defer close(d.stopped)
		for {
			select {
			case <-d.tick.C:
				d.draw()
			case <-d.quit:
				return
			}
		}
	}()
	return d
}

func (d *gridDisplay) stop() {
	d.tick.Stop()
	close(d.quit)
	<-d.stopped
	if d.term {
		fmt.Fprintln(d.w)
	}
}

func (d *gridDisplay) begin(id string) *runState {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := &runState{id: id, note: "starting"}
	d.running = append(d.running, st)
	return st
}

func (d *gridDisplay) update(st *runState, done, total int, note string) {
	d.mu.Lock()
	st.done, st.total, st.note = done, total, note
	write := d.file != "" && (time.Since(d.lastFile) > 500*time.Millisecond || done == total)
	if write {
		d.lastFile = time.Now()
	}
	d.mu.Unlock()
	if write {
		b, _ := json.Marshal(map[string]any{"done": done, "total": total, "note": note})
		tmp := d.file + ".tmp"
		if os.WriteFile(tmp, b, 0o644) == nil {
			os.Rename(tmp, d.file)
		}
	}
}

func (d *gridDisplay) eta() string {
	if d.finishedHere == 0 {
		return "eta …"
	}
	per := time.Since(d.began) / time.Duration(d.finishedHere)
	left := per * time.Duration(d.total-d.done)
	return "eta " + left.Round(time.Second).String()
}

// finish records a finished (or failed) run and reports it.
func (d *gridDisplay) finish(st *runState, rec *grid.Record, err error, wall time.Duration, g *grid.Grid) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, s := range d.running {
		if s == st {
			d.running = append(d.running[:i], d.running[i+1:]...)
			break
		}
	}
	if err != nil {
		d.clearLine()
		fmt.Fprintf(d.w, "tram reproduce: run %s failed: %v\n", st.id, err)
		d.total--
		return
	}
	d.done++
	d.finishedHere++
	if d.file != "" {
		return
	}
	d.clearLine()
	fmt.Fprintf(d.w, "[%d/%d] %s done in %s: %s; %s\n", d.done, d.total, st.id, wall.Round(time.Second), headline(g, rec), d.eta())
}

// headline summarizes a record in one phrase: in-domain and OOD mean.
func headline(g *grid.Grid, rec *grid.Record) string {
	if rec == nil || len(rec.Metrics) == 0 {
		return ""
	}
	in := rec.InDomain()
	var parts []string
	var sum float64
	n := 0
	for _, m := range rec.Metrics {
		v, ok := grid.Value(g.Metric, m)
		if !ok {
			continue
		}
		if m.Domain == in {
			parts = append(parts, fmt.Sprintf("%s %.2f", m.Domain, v))
			continue
		}
		sum += v
		n++
	}
	if n > 0 {
		parts = append(parts, fmt.Sprintf("other domains' mean %.2f", sum/float64(n)))
	}
	return g.Metric + " " + strings.Join(parts, ", ")
}

func (d *gridDisplay) clearLine() {
	if d.term {
		fmt.Fprint(d.w, "\r\033[K")
	}
}

func (d *gridDisplay) draw() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.term {
		return
	}
	line := fmt.Sprintf("[%d/%d] %s", d.done, d.total, d.eta())
	for _, s := range d.running {
		if s.total > 0 {
			line += fmt.Sprintf(" | %s %d/%d %s", s.id, s.done, s.total, s.note)
		} else {
			line += fmt.Sprintf(" | %s %s", s.id, s.note)
		}
	}
	if len(line) > 160 {
		line = line[:157] + "..."
	}
	fmt.Fprint(d.w, "\r\033[K"+line)
}
