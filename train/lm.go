// Package train holds the pieces a training run is assembled from: tasks
// that feed batches of a dataset to the sharp step, and their loaders.
package train

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/nn"
)

// Sequences is a set of token sequences of one length T.
type Sequences struct {
	T   int
	IDs []int32 // N·T, row-major
}

// N returns the number of sequences.
func (s *Sequences) N() int { return len(s.IDs) / max(s.T, 1) }

// ReadJSONL reads {"input_ids": [...]} lines. Every sequence must have the
// same length, at least 2, and every id must lie in [0, vocab). Errors name
// the file and line.
func ReadJSONL(path string, vocab int) (*Sequences, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := &Sequences{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var rec struct {
			InputIDs *[]int64 `json:"input_ids"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		if rec.InputIDs == nil {
			return nil, fmt.Errorf(`%s:%d: no "input_ids" field`, path, line)
		}
		ids := *rec.InputIDs
		if s.T == 0 {
			if len(ids) < 2 {
				return nil, fmt.Errorf("%s:%d: sequence of length %d; a language model needs at least 2 tokens", path, line, len(ids))
			}
			s.T = len(ids)
		} else if len(ids) != s.T {
			return nil, fmt.Errorf("%s:%d: sequence length %d differs from the first line's %d (all sequences must have one length)", path, line, len(ids), s.T)
		}
		for j, id := range ids {
			if id < 0 || id >= int64(vocab) {
				return nil, fmt.Errorf("%s:%d: token id %d at position %d is out of range [0, %d)", path, line, id, j, vocab)
			}
			s.IDs = append(s.IDs, int32(id))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if s.T == 0 {
		return nil, fmt.Errorf("%s: no sequences", path)
	}
	return s, nil
}

// LMTask feeds batches of sequences to a GPT-2 model: a sharp.Task whose
// loss is the mean cross-entropy of every predicted position (1…T−1) and
// whose logits are those of positions 0…T−2.
type LMTask struct {
	Model *gpt2.Model
	Data  *Sequences
	Batch int // sequences per step
	Micro int // micro-batches per step (gradient accumulation); 0 means 1
	// Order draws the sequences; its cursor is the stream's position.
	Order Order

	ids, tgts []int32
}

// NewLMTask returns a task over data. With shuffle, each pass over the data
// visits the sequences in a fresh permutation drawn from seed; without, batch
// i row j is sequence (i·B + j) mod N: one continuous stream.
func NewLMTask(m *gpt2.Model, data *Sequences, batch int, shuffle bool, seed uint64) *LMTask {
	return &LMTask{Model: m, Data: data, Batch: batch, Order: Order{N: data.N(), Shuffle: shuffle, Seed: seed}}
}

// Next loads the next batch.
func (t *LMTask) Next() {
	T := t.Data.T
	t.ids = t.ids[:0]
	for j := 0; j < t.Batch; j++ {
		pos := t.Order.Next()
		t.ids = append(t.ids, t.Data.IDs[pos*T:(pos+1)*T]...)
	}
	t.tgts = gpt2.ShiftTargets(t.tgts, t.ids, t.Batch, T)
}

// Position returns the number of sequences consumed so far.
func (t *LMTask) Position() int { return t.Order.Cursor }

// Seek sets the number of sequences consumed so far.
func (t *LMTask) Seek(pos int) { t.Order.Cursor = pos }

// Micros returns the number of micro-batches.
func (t *LMTask) Micros() int { return max(t.Micro, 1) }

// Forward runs micro-batch i of the current batch.
func (t *LMTask) Forward(p *nn.Pass, i int) (*nn.Tensor, *nn.Tensor) {
	k, T := t.Micros(), t.Data.T
	b := t.Batch / k
	ids := t.ids[i*b*T : (i+1)*b*T]
	if p.LogitsOnly {
		h := t.Model.Hidden(p, ids, b, T)
		return t.Model.Logits(p, p.G.Slice(h, 1, 0, T-1)), nil
	}
	tg := t.tgts[i*b*(T-1) : (i+1)*b*(T-1)]
	return t.Model.LMLoss(p, ids, b, T, tg)
}
