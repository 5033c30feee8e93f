package train

import (
	"github.com/tramlab/tram/models/bert"
	"github.com/tramlab/tram/nn"
)

// Texts is a labelled set of encoded texts for an encoder classifier.
type Texts struct {
	Encoded
	Labels []int32
	// T is the longest a text may be (the model's context); a batch is
	// padded to its longest text.
	T   int
	Pad int32
}

// width returns the padded length of a batch of the texts idx: the longest
// of them, at most T.
func (s *Texts) width(idx []int) int {
	w := 1
	for _, i := range idx {
		w = max(w, min(len(s.IDs[i]), s.T))
	}
	return w
}

// Batch lays out the texts idx as a bert.Batch padded to the longest.
func (s *Texts) Batch(idx []int) (*bert.Batch, []int32) {
	T := s.width(idx)
	b := &bert.Batch{B: len(idx), T: T, IDs: make([]int32, len(idx)*T), Types: make([]int32, len(idx)*T), Attend: make([]bool, len(idx)*T)}
	labels := make([]int32, len(idx))
	s.fill(b, labels, idx)
	return b, labels
}

// fill lays out the texts idx into b (whose T is their padded length).
func (s *Texts) fill(b *bert.Batch, labels []int32, idx []int) {
	for j, i := range idx {
		seq := s.IDs[i]
		var types []int32
		if s.Types != nil {
			types = s.Types[i]
		}
		for p := 0; p < b.T; p++ {
			at := j*b.T + p
			if p < len(seq) {
				b.IDs[at], b.Attend[at] = seq[p], true
				b.Types[at] = 0
				if p < len(types) {
					b.Types[at] = types[p]
				}
			} else {
				b.IDs[at], b.Types[at], b.Attend[at] = s.Pad, 0, false
			}
		}
		labels[j] = s.Labels[i]
	}
}

// TextClassTask feeds batches of texts to a BERT-family classifier: a
// Stream whose loss is the mean cross-entropy of the class logits.
type TextClassTask struct {
	Model *bert.Model
	Data  *Texts
	Batch int
	Micro int // micro-batches per step; 0 means 1
	Order Order

	batch  bert.Batch
	labels []int32
	idx    []int
}

// NewTextClassTask returns a task over data, shuffled from seed.
func NewTextClassTask(m *bert.Model, data *Texts, batch int, seed uint64) *TextClassTask {
	return &TextClassTask{Model: m, Data: data, Batch: batch, Order: Order{N: data.N(), Shuffle: true, Seed: seed}}
}

// Position returns the number of texts consumed so far.
func (t *TextClassTask) Position() int { return t.Order.Cursor }

// Seek sets the number of texts consumed so far.
func (t *TextClassTask) Seek(pos int) { t.Order.Cursor = pos }

// Micros returns the number of micro-batches.
func (t *TextClassTask) Micros() int { return max(t.Micro, 1) }

// Next loads the next batch.
func (t *TextClassTask) Next() {
	t.idx = t.idx[:0]
	for range t.Batch {
		t.idx = append(t.idx, t.Order.Next())
	}
	// The batch is padded to its longest text: its micro-batches share one
	// width, so that they cost the same.
	T := t.Data.width(t.idx)
	n := t.Batch * T
	if cap(t.batch.IDs) < n {
		t.batch = bert.Batch{IDs: make([]int32, n), Types: make([]int32, n), Attend: make([]bool, n)}
	}
	if len(t.labels) != t.Batch {
		t.labels = make([]int32, t.Batch)
	}
	t.batch.B, t.batch.T = t.Batch, T
	t.batch.IDs, t.batch.Types, t.batch.Attend = t.batch.IDs[:n], t.batch.Types[:n], t.batch.Attend[:n]
	t.Data.fill(&t.batch, t.labels, t.idx)
}

// Forward runs micro-batch i of the current batch.
func (t *TextClassTask) Forward(p *nn.Pass, i int) (*nn.Tensor, *nn.Tensor) {
	b, T := t.Batch/t.Micros(), t.batch.T
	lo, hi := i*b*T, (i+1)*b*T
	batch := &bert.Batch{B: b, T: T, IDs: t.batch.IDs[lo:hi], Types: t.batch.Types[lo:hi], Attend: t.batch.Attend[lo:hi]}
	logits := t.Model.ClassLogits(p, batch)
	if p.LogitsOnly {
		return logits, nil
	}
	return logits, p.G.CrossEntropy(logits, t.labels[i*b:(i+1)*b], -1)
}
