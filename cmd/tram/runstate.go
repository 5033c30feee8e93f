package main

import (
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
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/sharp"
)

// A run's resumable state lives in DIR/step-NNNNNNNN/ (parameters, buffers,
// optimizer and method state, progress) next to a file DIR/latest naming
// the newest complete one. Each snapshot is written into a temporary
// directory and renamed into place, and latest is replaced atomically
// after it, so an interruption at any moment leaves the previous snapshot
// intact.

// runProgress is the JSON part of a snapshot.
type runProgress struct {
	Step, Skipped, Cursor int
	OptimizerSteps        int
	SharpSteps            int
	Args                  map[string]string // the flags that define the run
}

func saveRun(dir string, m nn.Module, base optim.Optimizer, opt *sharp.Optimizer, prog runProgress) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("step-%08d", prog.Step)
	tmp, err := os.MkdirTemp(dir, ".tmp-"+name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var ts []checkpoint.Tensor
	add := func(prefix string, t map[string][]float32) {
		for _, k := range slices.Sorted(maps.Keys(t)) {
			ts = append(ts, checkpoint.Tensor{Name: prefix + k, Shape: []int{len(t[k])}, Data: t[k]})
		}
	}
	params := map[string][]float32{"data": m.Params().Data}
	if m.Buffers().Len() > 0 {
		params["buffers"] = m.Buffers().Data
	}
	add("model.", params)
	if st, ok := base.(optim.Stateful); ok {
		var t map[string][]float32
		prog.OptimizerSteps, t = st.State()
		add("optim.", t)
	}
	var sharpT map[string][]float32
	prog.SharpSteps, prog.Skipped, sharpT = opt.State()
	add("sharp.", sharpT)
	if err := checkpoint.WriteSafetensors(filepath.Join(tmp, "state.safetensors"), ts, nil); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(prog, "", "  ")
	if err := checkpoint.WriteAtomic(filepath.Join(tmp, "progress.json"), func(w io.Writer) error { _, err := w.Write(js); return err }); err != nil {
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

// errNoRun reports that a directory holds no snapshot.
var errNoRun = errors.New("no saved run")

// loadRun restores the newest snapshot in dir into the model and
// optimizers and returns its progress. args must match the saved run's.
func loadRun(dir string, m nn.Module, base optim.Optimizer, opt *sharp.Optimizer, args map[string]string) (runProgress, error) {
	var prog runProgress
	latest, err := os.ReadFile(filepath.Join(dir, "latest"))
	if os.IsNotExist(err) {
		return prog, errNoRun
	} else if err != nil {
		return prog, err
	}
	snap := filepath.Join(dir, strings.TrimSpace(string(latest)))
	raw, err := os.ReadFile(filepath.Join(snap, "progress.json"))
	if err != nil {
		return prog, fmt.Errorf("saved run %s is unreadable: %w", snap, err)
	}
	if err := json.Unmarshal(raw, &prog); err != nil {
		return prog, fmt.Errorf("saved run %s: %w", snap, err)
	}
	for _, k := range slices.Sorted(maps.Keys(args)) {
		if prog.Args[k] != args[k] {
			return prog, fmt.Errorf("the saved run in %s was started with --%s %q, this command has %q: rerun with the same flags to resume, or remove %s to start over", dir, k, prog.Args[k], args[k], dir)
		}
	}
	sf, err := checkpoint.Open(filepath.Join(snap, "state.safetensors"))
	if err != nil {
		return prog, err
	}
	defer sf.Close()
	read := func(prefix string) (map[string][]float32, error) {
		out := map[string][]float32{}
		for _, n := range sf.Names() {
			if !strings.HasPrefix(n, prefix) {
				continue
			}
			info := sf.Tensors[n]
			buf := make([]float32, info.Shape[0])
			if err := sf.ReadInto(n, buf); err != nil {
				return nil, err
			}
			out[strings.TrimPrefix(n, prefix)] = buf
		}
		return out, nil
	}
	model, err := read("model.")
	if err != nil {
		return prog, err
	}
	if len(model["data"]) != m.Params().Len() || len(model["buffers"]) != m.Buffers().Len() {
		return prog, fmt.Errorf("saved run %s does not fit the model (%d parameters saved, %d expected)", snap, len(model["data"]), m.Params().Len())
	}
	copy(m.Params().Data, model["data"])
	copy(m.Buffers().Data, model["buffers"])
	if st, ok := base.(optim.Stateful); ok {
		t, err := read("optim.")
		if err != nil {
			return prog, err
		}
		if err := st.Restore(prog.OptimizerSteps, t); err != nil {
			return prog, err
		}
	}
	t, err := read("sharp.")
	if err != nil {
		return prog, err
	}
	return prog, opt.Restore(prog.SharpSteps, prog.Skipped, t)
}
