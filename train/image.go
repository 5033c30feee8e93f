package train

import (
	"fmt"

	"github.com/tramlab/tram/models/vision"
	"github.com/tramlab/tram/nn"
)

// Images is a labelled image set: N images of Channels×Size×Size float
// pixels, row-major, and their class indices.
type Images struct {
	Channels, Size int
	X              []float32
	Y              []int32
}

// N returns the number of images.
func (s *Images) N() int { return len(s.Y) }

// Dim returns the number of values per image.
func (s *Images) Dim() int { return s.Channels * s.Size * s.Size }

// Subset returns the images with the given indices, in that order.
func (s *Images) Subset(idx []int) *Images {
	out := &Images{Channels: s.Channels, Size: s.Size}
	d := s.Dim()
	for _, i := range idx {
		out.X = append(out.X, s.X[i*d:(i+1)*d]...)
		out.Y = append(out.Y, s.Y[i])
	}
	return out
}

// ImageTask feeds batches of images to an image classifier: a Stream whose
// loss is the mean cross-entropy and whose logits are the class scores.
type ImageTask struct {
	Model vision.Model
	Data  *Images
	Batch int // images per step
	Micro int // micro-batches per step; 0 means 1
	Order Order

	x []float32
	y []int32
}

// NewImageTask returns a task over data, shuffled from seed when shuffle is
// set (see Order).
func NewImageTask(m vision.Model, data *Images, batch int, shuffle bool, seed uint64) *ImageTask {
	return &ImageTask{Model: m, Data: data, Batch: batch, Order: Order{N: data.N(), Shuffle: shuffle, Seed: seed}}
}

// Next loads the next batch.
func (t *ImageTask) Next() {
	d := t.Data.Dim()
	t.x, t.y = t.x[:0], t.y[:0]
	for j := 0; j < t.Batch; j++ {
		i := t.Order.Next()
		t.x = append(t.x, t.Data.X[i*d:(i+1)*d]...)
		t.y = append(t.y, t.Data.Y[i])
	}
}

// Position returns the number of images consumed so far.
func (t *ImageTask) Position() int { return t.Order.Cursor }

// Seek sets the number of images consumed so far.
func (t *ImageTask) Seek(pos int) { t.Order.Cursor = pos }

// Micros returns the number of micro-batches.
func (t *ImageTask) Micros() int { return max(t.Micro, 1) }

// Forward runs micro-batch i of the current batch.
func (t *ImageTask) Forward(p *nn.Pass, i int) (*nn.Tensor, *nn.Tensor) {
	k := t.Micros()
	if t.Batch%k != 0 {
		panic(fmt.Sprintf("train: %d micro-batches do not divide a batch of %d", k, t.Batch))
	}
	b, d := t.Batch/k, t.Data.Dim()
	x := p.G.Constant(t.x[i*b*d:(i+1)*b*d], b, t.Data.Channels, t.Data.Size, t.Data.Size)
	logits := t.Model.Logits(p, x)
	if p.LogitsOnly {
		return logits, nil
	}
	return logits, p.G.CrossEntropy(logits, t.y[i*b:(i+1)*b], -1)
}
