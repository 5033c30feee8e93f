package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/models/bert"
	"github.com/tramlab/tram/nn"
)

// Encoded is a set of token sequences of varying length (special tokens
// included) with their token types, for encoder models.
type Encoded struct {
	IDs   [][]int32
	Types [][]int32 // nil, or one per sequence (nil entries mean all 0)
}

// N returns the number of sequences.
func (e *Encoded) N() int { return len(e.IDs) }

// MLMTask is masked-language-model training of a BERT-family encoder
// (BERT's objective, and with sentence pairs, Conneau & Lample's
// translation LM): every batch pads its sequences to T, selects 15% of the
// ordinary tokens, replaces 80% of those by the mask token, 10% by a random
// ordinary token and keeps 10%, and predicts the originals. The loss is the
// mean cross-entropy over the selected tokens; the logits handed to
// divergences are those of the selected tokens.
//
// The selection of a batch is drawn from (Seed, position of the batch in
// the stream) alone, so a resumed run masks exactly what an uninterrupted
// one would.
type MLMTask struct {
	Model *bert.Model
	Data  *Encoded
	T     int
	Batch int
	Micro int // micro-batches per step; 0 means 1
	Order Order
	// Mask and Pad are the ids of the mask and padding tokens; Special
	// reports ids that are never selected or drawn as random replacements.
	Mask, Pad int32
	Special   func(id int32) bool
	// Prob is the selection probability (0.15 in BERT).
	Prob float64
	Seed uint64

	ids, types, orig, targets []int32
	attend                    []bool
	rows                      [][]int32 // per micro-batch: flattened positions of selected tokens
	tgts                      [][]int32
}

// NewMLMTask returns a masked-LM task over data, with sequences padded to T.
func NewMLMTask(m *bert.Model, data *Encoded, T, batch int, seed uint64, mask, pad int32, special func(int32) bool) *MLMTask {
	return &MLMTask{Model: m, Data: data, T: T, Batch: batch, Order: Order{N: data.N(), Shuffle: true, Seed: seed},
		Mask: mask, Pad: pad, Special: special, Prob: 0.15, Seed: seed}
}

// Position returns the number of sequences consumed so far.
func (t *MLMTask) Position() int { return t.Order.Cursor }

// Seek sets the number of sequences consumed so far.
func (t *MLMTask) Seek(pos int) { t.Order.Cursor = pos }

// Micros returns the number of micro-batches.
func (t *MLMTask) Micros() int { return max(t.Micro, 1) }

// Next loads and masks the next batch.
func (t *MLMTask) Next() {
	rng := rand.New(rand.NewPCG(t.Seed^0x6d6c6d, uint64(t.Order.Cursor)))
	idx := make([]int, t.Batch)
	for j := range idx {
		idx[j] = t.Order.Next()
	}
	t.load(idx, rng)
}

// load pads the sequences idx into the batch buffers and masks them.
func (t *MLMTask) load(idx []int, rng *rand.Rand) {
	B, T, V := len(idx), t.T, t.Model.Config.VocabSize
	t.ids = resize(t.ids, B*T)
	t.types = resize(t.types, B*T)
	t.orig = resize(t.orig, B*T)
	if cap(t.attend) < B*T {
		t.attend = make([]bool, B*T)
	}
	t.attend = t.attend[:B*T]
	k := t.Micros()
	if B%k != 0 {
		panic(fmt.Sprintf("train: %d micro-batches do not divide a batch of %d", k, B))
	}
	t.rows, t.tgts = t.rows[:0], t.tgts[:0]
	for range k {
		t.rows, t.tgts = append(t.rows, nil), append(t.tgts, nil)
	}
	per := B / k
	for j, i := range idx {
		seq := t.Data.IDs[i]
		if len(seq) > T {
			seq = seq[:T]
		}
		var types []int32
		if t.Data.Types != nil {
			types = t.Data.Types[i]
		}
		mb := j / per
		for p := 0; p < T; p++ {
			at := j*T + p
			if p >= len(seq) {
				t.ids[at], t.types[at], t.orig[at], t.attend[at] = t.Pad, 0, t.Pad, false
				continue
			}
			id := seq[p]
			t.ids[at], t.orig[at], t.attend[at] = id, id, true
			t.types[at] = 0
			if types != nil && p < len(types) {
				t.types[at] = types[p]
			}
			if t.Special(id) || rng.Float64() >= t.Prob {
				continue
			}
			switch u := rng.Float64(); {
			case u < 0.8:
				t.ids[at] = t.Mask
			case u < 0.9:
				for {
					r := int32(rng.IntN(V))
					if !t.Special(r) {
						t.ids[at] = r
						break
					}
				}
			}
			t.rows[mb] = append(t.rows[mb], int32((j%per)*T+p))
			t.tgts[mb] = append(t.tgts[mb], id)
		}
	}
	// Every micro-batch predicts at least one token: its first ordinary one.
	for mb := range k {
		if len(t.rows[mb]) > 0 {
			continue
		}
		for at := mb * per * T; at < (mb+1)*per*T; at++ {
			if t.attend[at] && !t.Special(t.orig[at]) {
				t.ids[at] = t.Mask
				t.rows[mb] = append(t.rows[mb], int32(at-mb*per*T))
				t.tgts[mb] = append(t.tgts[mb], t.orig[at])
				break
			}
		}
	}
}

func resize(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

// Forward runs micro-batch i of the current batch.
func (t *MLMTask) Forward(p *nn.Pass, i int) (*nn.Tensor, *nn.Tensor) {
	b := len(t.ids) / t.T / t.Micros()
	lo, hi := i*b*t.T, (i+1)*b*t.T
	batch := &bert.Batch{B: b, T: t.T, IDs: t.ids[lo:hi], Types: t.types[lo:hi], Attend: t.attend[lo:hi]}
	logits := t.Model.MLMLogitsAt(p, batch, t.rows[i])
	if p.LogitsOnly {
		return logits, nil
	}
	return logits, p.G.CrossEntropy(logits, t.tgts[i], -1)
}

// MLMEval is the masked-LM loss and accuracy on the selected tokens.
type MLMEval struct {
	Loss, Accuracy float64
	Tokens         int
}

// Evaluate masks data with a fixed draw from seed (batch sequences at a
// time) and returns the mean cross-entropy and accuracy of the model's
// predictions of the selected tokens, in evaluation mode.
func (t *MLMTask) Evaluate(data *Encoded, batch int, seed uint64) MLMEval {
	saved := *t
	defer func() { *t = saved }()
	t.Data, t.Micro = data, 1
	g := autograd.NewGraph[float32]()
	var res MLMEval
	var correct int
	for s := 0; s < data.N(); s += batch {
		n := min(batch, data.N()-s)
		idx := make([]int, n)
		for j := range idx {
			idx[j] = s + j
		}
		t.load(idx, rand.New(rand.NewPCG(seed, uint64(s))))
		g.Reset()
		g.NoGrad(func() {
			logits, loss := t.Forward(&nn.Pass{G: g}, 0)
			res.Loss += float64(loss.Item()) * float64(len(t.tgts[0]))
			V := logits.Dim(-1)
			for r, y := range t.tgts[0] {
				row := logits.Data[r*V : (r+1)*V]
				best := 0
				for j, v := range row {
					if v > row[best] {
						best = j
					}
				}
				if int32(best) == y {
					correct++
				}
			}
			res.Tokens += len(t.tgts[0])
		})
	}
	res.Loss /= float64(max(res.Tokens, 1))
	res.Accuracy = float64(correct) / float64(max(res.Tokens, 1))
	return res
}
