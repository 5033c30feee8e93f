// Package vision holds tram's image models for 28×28 gray images: a small
// ResNet-style CNN with batch norm (torchvision's BasicBlock names:
// conv1, bn1, layerN.M.conv1/bn1/conv2/bn2/downsample.0/downsample.1, fc)
// and a multilayer perceptron (layers.N).
//
// Inputs are normalized pixels [N, C, H, W]; a pass's InputNoise is added to
// a copy of them, never to the caller's data.
package vision

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/tensor"
)

// Config describes either model (model_type "tram-resnet" or "tram-mlp").
type Config struct {
	ModelType  string `json:"model_type"`
	InChannels int    `json:"in_channels,omitempty"`
	ImageSize  int    `json:"image_size,omitempty"`
	NumClasses int    `json:"num_classes"`
	// Widths are the channels of the ResNet's three stages (the 2nd and 3rd
	// halve the resolution).
	Widths []int `json:"widths,omitempty"`
	// Hidden are the MLP's hidden layer sizes.
	Hidden []int `json:"hidden,omitempty"`
	// SpectralHead spectrally normalizes the final classifier (R4F).
	SpectralHead bool `json:"spectral_norm_head,omitempty"`
	// ID2Label and Label2ID name the classes (string keys, as Hugging
	// Face writes them); absent for the digit and glyph models.
	ID2Label map[string]string `json:"id2label,omitempty"`
	Label2ID map[string]int    `json:"label2id,omitempty"`
}

// Model is an image classifier.
type Model interface {
	nn.Module
	// Logits returns [N, classes] for images x [N, C, H, W] (data owned by
	// the caller).
	Logits(p *nn.Pass, x *nn.Tensor) *nn.Tensor
	// Features returns the representation the classification head reads,
	// [N, features].
	Features(p *nn.Pass, x *nn.Tensor) *nn.Tensor
	// NumClasses is the number of classes the head scores.
	NumClasses() int
}

// New builds the model a configuration describes, initialized from seed.
func New(cfg Config, seed uint64) (Model, error) {
	if cfg.InChannels == 0 {
		cfg.InChannels = 1
	}
	if cfg.ImageSize == 0 {
		cfg.ImageSize = 28
	}
	if cfg.NumClasses < 1 {
		return nil, fmt.Errorf("vision: num_classes %d must be positive", cfg.NumClasses)
	}
	switch cfg.ModelType {
	case "tram-resnet":
		if len(cfg.Widths) != 3 {
			return nil, fmt.Errorf("vision: tram-resnet needs 3 widths, got %v", cfg.Widths)
		}
		if cfg.ImageSize%4 != 0 {
			return nil, fmt.Errorf("vision: image_size %d must be divisible by 4", cfg.ImageSize)
		}
		return newResNet(cfg, seed), nil
	case "tram-mlp":
		return newMLP(cfg, seed), nil
	}
	return nil, fmt.Errorf("vision: unknown model_type %q (tram-resnet, tram-mlp)", cfg.ModelType)
}

// input copies x for the pass and applies its input noise.
func input(p *nn.Pass, x *nn.Tensor) *nn.Tensor {
	if p.InputNoise == nil {
		return x
	}
	c := p.G.Constant(x.Data, x.Shape()...)
	p.InputNoise(c.Data)
	return c
}

// kaiming fills a weight with N(0, 2/fanIn) (He initialization).
func kaiming(rng interface{ NormFloat64() float64 }, w *nn.Tensor, fanIn int) {
	std := math.Sqrt(2 / float64(fanIn))
	for i := range w.Data {
		w.Data[i] = float32(rng.NormFloat64() * std)
	}
}

// ResNet is a three-stage residual CNN.
type ResNet struct {
	cfg      Config
	ps, bufs nn.Params
	conv1    *nn.Conv2d
	bn1      *nn.BatchNorm2d
	blocks   []*basicBlock
	fc       *nn.Linear
}

type basicBlock struct {
	conv1, conv2, down *nn.Conv2d
	bn1, bn2, downBN   *nn.BatchNorm2d
}

func newResNet(cfg Config, seed uint64) *ResNet {
	m := &ResNet{cfg: cfg}
	ps, bufs := &m.ps, &m.bufs
	w := cfg.Widths
	m.conv1 = nn.NewConv2d(ps, "conv1", cfg.InChannels, w[0], 3, 1, 1, false)
	m.bn1 = nn.NewBatchNorm2d(ps, bufs, "bn1", w[0])
	in := w[0]
	for s, out := range w {
		stride := 1
		if s > 0 {
			stride = 2
		}
		p := fmt.Sprintf("layer%d.0.", s+1)
		b := &basicBlock{
			conv1: nn.NewConv2d(ps, p+"conv1", in, out, 3, stride, 1, false),
			bn1:   nn.NewBatchNorm2d(ps, bufs, p+"bn1", out),
			conv2: nn.NewConv2d(ps, p+"conv2", out, out, 3, 1, 1, false),
			bn2:   nn.NewBatchNorm2d(ps, bufs, p+"bn2", out),
		}
		if stride != 1 || in != out {
			b.down = nn.NewConv2d(ps, p+"downsample.0", in, out, 1, stride, 0, false)
			b.downBN = nn.NewBatchNorm2d(ps, bufs, p+"downsample.1", out)
		}
		m.blocks = append(m.blocks, b)
		in = out
	}
	if cfg.SpectralHead {
		m.fc = nn.NewSpectralLinear(ps, bufs, "fc", in, cfg.NumClasses, true, nn.OutIn, seed+1)
	} else {
		m.fc = nn.NewLinear(ps, "fc", in, cfg.NumClasses, true, nn.OutIn)
	}
	rng := tensor.NewRNG(seed)
	for _, p := range ps.List() {
		if p.Dims() == 4 {
			kaiming(rng, p, p.Len()/p.Dim(0))
		}
	}
	b := 1 / math.Sqrt(float64(in))
	for i := range m.fc.W.Data {
		m.fc.W.Data[i] = float32((2*rng.Float64() - 1) * b)
	}
	return m
}

// Params returns the parameters; Buffers the batch-norm statistics.
func (m *ResNet) Params() *nn.Params  { return &m.ps }
func (m *ResNet) Buffers() *nn.Params { return &m.bufs }
func (m *ResNet) Config() Config      { return m.cfg }
func (m *ResNet) NumClasses() int     { return m.cfg.NumClasses }

// Logits runs the network.
func (m *ResNet) Logits(p *nn.Pass, x *nn.Tensor) *nn.Tensor {
	return m.fc.Forward(p, m.Features(p, x))
}

// Features returns the representation the head reads: the globally
// average-pooled output of the last stage, [N, widths[2]].
func (m *ResNet) Features(p *nn.Pass, x *nn.Tensor) *nn.Tensor {
	g := p.G
	h := g.ReLU(m.bn1.Forward(p, m.conv1.Forward(p, input(p, x))))
	for _, b := range m.blocks {
		y := g.ReLU(b.bn1.Forward(p, b.conv1.Forward(p, h)))
		y = b.bn2.Forward(p, b.conv2.Forward(p, y))
		short := h
		if b.down != nil {
			short = b.downBN.Forward(p, b.down.Forward(p, h))
		}
		h = g.ReLU(g.Add(y, short))
	}
	h = g.AvgPool2d(h, h.Dim(2), 1) // global average pool
	return g.Reshape(h, h.Dim(0), h.Dim(1))
}

// MLP is a ReLU multilayer perceptron on flattened images.
type MLP struct {
	cfg      Config
	ps, bufs nn.Params
	layers   []*nn.Linear
}

func newMLP(cfg Config, seed uint64) *MLP {
	m := &MLP{cfg: cfg}
	in := cfg.InChannels * cfg.ImageSize * cfg.ImageSize
	rng := tensor.NewRNG(seed)
	sizes := append(append([]int(nil), cfg.Hidden...), cfg.NumClasses)
	for i, out := range sizes {
		var l *nn.Linear
		if cfg.SpectralHead && i == len(sizes)-1 {
			l = nn.NewSpectralLinear(&m.ps, &m.bufs, fmt.Sprintf("layers.%d", i), in, out, true, nn.OutIn, seed+1)
		} else {
			l = nn.NewLinear(&m.ps, fmt.Sprintf("layers.%d", i), in, out, true, nn.OutIn)
		}
		b := 1 / math.Sqrt(float64(in))
		for j := range l.W.Data {
			l.W.Data[j] = float32((2*rng.Float64() - 1) * b)
		}
		for j := range l.B.Data {
			l.B.Data[j] = float32((2*rng.Float64() - 1) * b)
		}
		m.layers = append(m.layers, l)
		in = out
	}
	return m
}

// Params returns the parameters; Buffers is empty.
func (m *MLP) Params() *nn.Params  { return &m.ps }
func (m *MLP) Buffers() *nn.Params { return &m.bufs }
func (m *MLP) Config() Config      { return m.cfg }
func (m *MLP) NumClasses() int     { return m.cfg.NumClasses }

// Logits runs the network.
func (m *MLP) Logits(p *nn.Pass, x *nn.Tensor) *nn.Tensor {
	return m.layers[len(m.layers)-1].Forward(p, m.Features(p, x))
}

// Features returns the representation the last layer reads: the output of
// the last hidden layer after its ReLU (the flattened input when there is
// none).
func (m *MLP) Features(p *nn.Pass, x *nn.Tensor) *nn.Tensor {
	h := p.G.Reshape(input(p, x), x.Dim(0), -1)
	for _, l := range m.layers[:len(m.layers)-1] {
		h = p.G.ReLU(l.Forward(p, h))
	}
	return h
}

// Save writes config.json and model.safetensors (parameters and buffers,
// num_batches_tracked as I64 as PyTorch stores it) atomically into dir.
func Save(m Model, dir string) error { return SaveWithMetadata(m, dir, nil) }

// SaveWithMetadata is Save with extra entries for model.safetensors'
// __metadata__ (run provenance: tram version, method, seed…). m is a model
// of this package (one with a Config method).
func SaveWithMetadata(m Model, dir string, metadata map[string]string) error {
	c, ok := m.(interface{ Config() Config })
	if !ok {
		return fmt.Errorf("vision: SaveWithMetadata: %T is not a model of package vision", m)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ts []checkpoint.Tensor
	for _, set := range []*nn.Params{m.Params(), m.Buffers()} {
		for _, p := range set.List() {
			t := checkpoint.Tensor{Name: p.Name(), Shape: p.Shape(), Data: p.Data}
			if p.Dims() == 0 {
				t.DType = "I64"
			}
			ts = append(ts, t)
		}
	}
	meta := map[string]string{"format": "pt"}
	for k, v := range metadata {
		meta[k] = v
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), ts, meta); err != nil {
		return err
	}
	return checkpoint.WriteJSON(filepath.Join(dir, "config.json"), c.Config())
}

// Load reads a model directory written by Save (or by PyTorch with the same
// names).
func Load(dir string) (Model, error) {
	var cfg Config
	if err := checkpoint.ReadConfig(dir, &cfg); err != nil {
		return nil, fmt.Errorf("vision: %w", err)
	}
	m, err := New(cfg, 0)
	if err != nil {
		return nil, err
	}
	sf, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	same := func(n string) []string { return []string{n} }
	exp := append(checkpoint.ExpectedFor(m.Params().List(), same), checkpoint.ExpectedFor(m.Buffers().List(), same)...)
	if _, err := sf.LoadInto(exp, nil); err != nil {
		return nil, err
	}
	return m, nil
}
