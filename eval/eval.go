// Package eval measures fine-tuned models on every domain of an experiment
// family: classification accuracy with a binomial confidence interval,
// token-level perplexity of language models, ε-sharpness of the loss
// surface (Keskar et al.) and linear CKA between the representations of two
// models (Kornblith et al.).
//
// Every function runs the model in evaluation mode (dropout off, batch norm
// on its running statistics), accumulates in float64 and visits the data in
// a fixed order, so results do not depend on the batch grouping beyond
// float32 rounding of the forward pass, and are identical for identical
// inputs at the same thread count.
package eval

import (
	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/models/bert"
	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/models/vision"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/train"
	"sort"
)

// LMLoss returns the mean next-token cross-entropy (nats per predicted
// token) of a GPT-2 model over sequences, batch sequences at a time.
func LMLoss(m *gpt2.Model, s *train.Sequences, batch int) float64 {
	g := autograd.NewGraph[float32]()
	var sum float64
	var tokens int
	var tg []int32
	n, T := s.N(), s.T
	for i := 0; i < n; i += batch {
		b := min(batch, n-i)
		ids := s.IDs[i*T : (i+b)*T]
		tg = gpt2.ShiftTargets(tg, ids, b, T)
		g.Reset()
		g.NoGrad(func() {
			_, loss := m.LMLoss(&nn.Pass{G: g}, ids, b, T, tg)
			sum += float64(loss.Item()) * float64(len(tg))
		})
		tokens += len(tg)
	}
	return sum / float64(max(tokens, 1))
}

// Classification is the outcome of a classifier on a labelled set.
type Classification struct {
	N, Correct int
	Loss       float64 // mean cross-entropy
	// Predictions holds the predicted class of every example, in order.
	Predictions []int32
	// Logits holds every example's logits, in order: N rows of Classes.
	Logits  []float32
	Classes int
}

// Accuracy returns the fraction of correct predictions.
func (c Classification) Accuracy() float64 { return float64(c.Correct) / float64(max(c.N, 1)) }

// Images classifies every image of s, batch images at a time.
func Images(m vision.Model, s *train.Images, batch int) Classification {
	g := autograd.NewGraph[float32]()
	d := s.Dim()
	res := Classification{N: s.N()}
	for i := 0; i < s.N(); i += batch {
		b := min(batch, s.N()-i)
		g.Reset()
		g.NoGrad(func() {
			x := g.Constant(s.X[i*d:(i+b)*d], b, s.Channels, s.Size, s.Size)
			logits := m.Logits(&nn.Pass{G: g}, x)
			res.add(g, logits, s.Y[i:i+b])
		})
	}
	res.Loss /= float64(max(res.N, 1))
	return res
}

// add scores one batch of logits [b, classes] against labels.
func (c *Classification) add(g *nn.Graph, logits *nn.Tensor, labels []int32) {
	loss := g.CrossEntropy(logits, labels, -1)
	c.Loss += float64(loss.Item()) * float64(len(labels))
	k := logits.Dim(-1)
	c.Classes = k
	c.Logits = append(c.Logits, logits.Data[:len(labels)*k]...)
	for r, y := range labels {
		row := logits.Data[r*k : (r+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		c.Predictions = append(c.Predictions, int32(best))
		if int32(best) == y {
			c.Correct++
		}
	}
}

// Texts classifies every text of s with a BERT-family classifier, batch
// texts at a time. Texts of similar length are batched together (in order
// of length, ties by position) and each batch is padded to its longest,
// so that short texts cost little; Predictions stay in the order of s.
//
// The batches run longest first, so that the later, shorter ones reuse the
// graph's buffers instead of allocating larger ones batch after batch; the
// loss is still summed in order of length, so the result does not depend on
// the order in which the batches ran.
func Texts(m *bert.Model, s *train.Texts, batch int) Classification {
	g := autograd.NewGraph[float32]()
	res := Classification{N: s.N(), Predictions: make([]int32, s.N())}
	var logits []float32
	order := make([]int, s.N())
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(s.IDs[order[a]]) < len(s.IDs[order[b]]) })
	nb := (s.N() + batch - 1) / batch
	losses := make([]float64, nb) // each batch's loss sum, by batch
	var part Classification
	for bi := nb - 1; bi >= 0; bi-- {
		idx := order[bi*batch : min((bi+1)*batch, s.N())]
		b, labels := s.Batch(idx)
		g.Reset()
		part.Predictions, part.Logits, part.Loss = part.Predictions[:0], part.Logits[:0], 0
		g.NoGrad(func() { part.add(g, m.ClassLogits(&nn.Pass{G: g}, b), labels) })
		losses[bi] = part.Loss
		if logits == nil {
			logits = make([]float32, s.N()*part.Classes)
		}
		for j, k := range idx {
			res.Predictions[k] = part.Predictions[j]
			copy(logits[k*part.Classes:(k+1)*part.Classes], part.Logits[j*part.Classes:(j+1)*part.Classes])
		}
	}
	for _, l := range losses {
		res.Loss += l
	}
	res.Correct, res.Loss = part.Correct, res.Loss/float64(max(res.N, 1))
	res.Logits, res.Classes = logits, part.Classes
	return res
}
