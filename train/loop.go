package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/sharp"
)

// A Stream is a task that draws its batches from a resumable stream: Next
// loads the next batch, and the stream's whole state is one position.
type Stream interface {
	sharp.Task
	Next()
	// Position returns the number of examples consumed so far; Seek sets it.
	Position() int
	Seek(pos int)
}

// Extra is state of a run beyond the model, the optimizers and the stream
// (for example the best checkpoint so far) that a snapshot must keep.
type Extra interface {
	SaveState() (json.RawMessage, map[string][]float32)
	RestoreState(json.RawMessage, map[string][]float32) error
}

// Loop runs Steps steps of a sharp.Optimizer on a stream, resumably: every
// SaveEvery steps, and when its context is cancelled, it writes a snapshot
// into Dir, and Run continues from the newest snapshot there. Every random
// draw of a step depends only on (seed, step) and the stream on its
// position, so a resumed run is bit-identical to an uninterrupted one at the
// same thread count.
//
// A snapshot lives in Dir/step-NNNNNNNN/ (state.safetensors, progress.json)
// next to a file Dir/latest naming the newest complete one. Each snapshot is
// written into a temporary directory and renamed into place, and latest is
// replaced atomically after it, so an interruption at any moment (kill -9
// included) leaves the previous snapshot intact.
type Loop struct {
	Opt      *sharp.Optimizer
	Schedule optim.Schedule
	Task     Stream
	Steps    int
	// Dir holds the snapshots; empty disables them.
	Dir       string
	SaveEvery int
	// Args are the settings that define the run. A snapshot made with
	// other Args is refused, naming the first setting that differs.
	Args map[string]string
	// Extra, when set, is saved and restored with every snapshot.
	Extra Extra
	// OnStep, when set, is called after every step with the number of steps
	// done; an error stops the run (without a snapshot).
	OnStep func(done int, st sharp.Stats) error
	// OnResume, when set, is called when Run resumes from a snapshot.
	OnResume func(step int)
}

// ErrInterrupted is returned (wrapped) by Run when its context was
// cancelled; the run is saved in Dir.
var ErrInterrupted = errors.New("interrupted")

// ErrNoSnapshot reports that a directory holds no snapshot.
var ErrNoSnapshot = errors.New("no saved run")

// snapshotProgress is the JSON part of a snapshot.
type snapshotProgress struct {
	Step, Skipped  int
	Cursor         int
	OptimizerSteps int
	SharpSteps     int
	Args           map[string]string
	Extra          json.RawMessage `json:",omitempty"`
}

// Run resumes from the newest snapshot in Dir, if any, and runs the
// remaining steps. It returns the step it started from.
func (l *Loop) Run(ctx context.Context) (first int, err error) {
	if l.Dir != "" {
		first, err = l.Resume()
		switch {
		case err == nil:
			if l.OnResume != nil {
				l.OnResume(first)
			}
		case errors.Is(err, ErrNoSnapshot):
			err = nil
		default:
			return 0, err
		}
	}
	for step := first; step < l.Steps; step++ {
		if ctx.Err() != nil {
			if l.Dir == "" {
				return first, fmt.Errorf("%w at step %d", ErrInterrupted, step)
			}
			if err := l.Save(step); err != nil {
				return first, fmt.Errorf("interrupted at step %d, and saving the run failed: %w", step, err)
			}
			return first, fmt.Errorf("%w at step %d; the run is saved in %s: rerun the same command to resume", ErrInterrupted, step, l.Dir)
		}
		if l.Schedule != nil {
			l.Opt.Base.SetLR(l.Schedule.LR(step))
		}
		l.Task.Next()
		st, err := l.Opt.Step(l.Task)
		if err != nil {
			return first, err
		}
		if l.OnStep != nil {
			if err := l.OnStep(step+1, st); err != nil {
				return first, err
			}
		}
		if l.Dir != "" && l.SaveEvery > 0 && (step+1)%l.SaveEvery == 0 && step+1 < l.Steps {
			if err := l.Save(step + 1); err != nil {
				return first, err
			}
		}
	}
	return first, nil
}

// Save writes a snapshot of the run after step steps.
func (l *Loop) Save(step int) error {
	dir := l.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("step-%08d", step)
	tmp, err := os.MkdirTemp(dir, ".tmp-"+name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	prog := snapshotProgress{Step: step, Cursor: l.Task.Position(), Args: l.Args}
	var ts []checkpoint.Tensor
	add := func(prefix string, t map[string][]float32) {
		for _, k := range slices.Sorted(maps.Keys(t)) {
			ts = append(ts, checkpoint.Tensor{Name: prefix + k, Shape: []int{len(t[k])}, Data: t[k]})
		}
	}
	m := l.Opt.Model
	params := map[string][]float32{"data": m.Params().Data}
	if m.Buffers().Len() > 0 {
		params["buffers"] = m.Buffers().Data
	}
	add("model.", params)
	if st, ok := l.Opt.Base.(optim.Stateful); ok {
		var t map[string][]float32
		prog.OptimizerSteps, t = st.State()
		add("optim.", t)
	}
	var sharpT map[string][]float32
	prog.SharpSteps, prog.Skipped, sharpT = l.Opt.State()
	add("sharp.", sharpT)
	if l.Extra != nil {
		var t map[string][]float32
		prog.Extra, t = l.Extra.SaveState()
		add("extra.", t)
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(tmp, "state.safetensors"), ts, nil); err != nil {
		return err
	}
	if err := checkpoint.WriteJSON(filepath.Join(tmp, "progress.json"), prog); err != nil {
		return err
	}
	final := filepath.Join(dir, name)
	os.RemoveAll(final)
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	prev, _ := os.ReadFile(filepath.Join(dir, "latest"))
	if err := checkpoint.WriteAtomic(filepath.Join(dir, "latest"), func(w io.Writer) error { _, err := io.WriteString(w, name); return err }); err != nil {
		return err
	}
	if p := strings.TrimSpace(string(prev)); p != "" && p != name {
		os.RemoveAll(filepath.Join(dir, p))
	}
	return nil
}

// Resume restores the newest snapshot in Dir into the model, the
// optimizers, the stream and Extra, and returns its step. It returns
// ErrNoSnapshot when there is none.
func (l *Loop) Resume() (int, error) {
	dir := l.Dir
	latest, err := os.ReadFile(filepath.Join(dir, "latest"))
	if os.IsNotExist(err) {
		return 0, ErrNoSnapshot
	} else if err != nil {
		return 0, err
	}
	snap := filepath.Join(dir, strings.TrimSpace(string(latest)))
	var prog snapshotProgress
	raw, err := os.ReadFile(filepath.Join(snap, "progress.json"))
	if err != nil {
		return 0, fmt.Errorf("saved run %s is unreadable: %w", snap, err)
	}
	if err := json.Unmarshal(raw, &prog); err != nil {
		return 0, fmt.Errorf("saved run %s: %w", snap, err)
	}
	for _, k := range slices.Sorted(maps.Keys(l.Args)) {
		if prog.Args[k] != l.Args[k] {
			return 0, fmt.Errorf("the saved run in %s was started with --%s %q, this command has %q: rerun with the same flags to resume, or remove %s to start over", dir, k, prog.Args[k], l.Args[k], dir)
		}
	}
	sf, err := checkpoint.Open(filepath.Join(snap, "state.safetensors"))
	if err != nil {
		return 0, err
	}
	defer sf.Close()
	read := func(prefix string) (map[string][]float32, error) {
		out := map[string][]float32{}
		for _, n := range sf.Names() {
			if !strings.HasPrefix(n, prefix) {
				continue
			}
			buf := make([]float32, sf.Tensors[n].Shape[0])
			if err := sf.ReadInto(n, buf); err != nil {
				return nil, err
			}
			out[strings.TrimPrefix(n, prefix)] = buf
		}
		return out, nil
	}
	m := l.Opt.Model
	model, err := read("model.")
	if err != nil {
		return 0, err
	}
	if len(model["data"]) != m.Params().Len() || len(model["buffers"]) != m.Buffers().Len() {
		return 0, fmt.Errorf("saved run %s does not fit the model (%d parameters saved, %d expected)", snap, len(model["data"]), m.Params().Len())
	}
	copy(m.Params().Data, model["data"])
	copy(m.Buffers().Data, model["buffers"])
	if st, ok := l.Opt.Base.(optim.Stateful); ok {
		t, err := read("optim.")
		if err != nil {
			return 0, err
		}
		if err := st.Restore(prog.OptimizerSteps, t); err != nil {
			return 0, err
		}
	}
	t, err := read("sharp.")
	if err != nil {
		return 0, err
	}
	if err := l.Opt.Restore(prog.SharpSteps, prog.Skipped, t); err != nil {
		return 0, err
	}
	if l.Extra != nil {
		t, err := read("extra.")
		if err != nil {
			return 0, err
		}
		if err := l.Extra.RestoreState(prog.Extra, t); err != nil {
			return 0, err
		}
	}
	l.Task.Seek(prog.Cursor)
	return prog.Step, nil
}

// Clean removes the snapshots: call it once the run's outputs are safely
// written.
func (l *Loop) Clean() error {
	if l.Dir == "" {
		return nil
	}
	return os.RemoveAll(l.Dir)
}
