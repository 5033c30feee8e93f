package nn

import (
	"fmt"
	"math"

	"github.com/tramlab/tram/tensor"
)

// SpectralNorm reparametrizes a weight as W/σ(W), with σ its largest
// singular value estimated by power iteration, as
// torch.nn.utils.spectral_norm: the parameter is name.weight_orig and the
// iteration vectors name.weight_u and name.weight_v are buffers. W is
// viewed as a matrix [dim 0, rest]. In training passes one iteration
// updates u and v (without gradient) before σ = uᵀWv is computed; the
// gradient flows through W in both W and σ.
type SpectralNorm struct {
	Orig, U, V *Tensor
	Eps        float64
}

// NewSpectralNorm registers name.weight_orig (shape) in ps and the
// iteration vectors in buffers, initialized from seed like PyTorch (normal,
// then normalized).
func NewSpectralNorm(ps, buffers *Params, name string, seed uint64, shape ...int) *SpectralNorm {
	s := &SpectralNorm{Orig: ps.Add(name+".weight_orig", shape...), Eps: 1e-12}
	rows := shape[0]
	cols := s.Orig.Len() / rows
	s.U = buffers.Add(name+".weight_u", rows)
	s.V = buffers.Add(name+".weight_v", cols)
	rng := tensor.NewRNG(seed)
	for _, b := range []*Tensor{s.U, s.V} {
		tensor.FillNormal(rng, b.Data, 1)
		normalize(b.Data, s.Eps)
	}
	return s
}

func normalize(x []float32, eps float64) {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	n := float32(math.Max(math.Sqrt(s), eps))
	for i := range x {
		x[i] /= n
	}
}

// Sigma returns the current estimate uᵀWv without recording anything.
func (s *SpectralNorm) Sigma() float64 {
	rows := s.U.Len()
	cols := s.V.Len()
	var sig float64
	for i := 0; i < rows; i++ {
		var wv float64
		for j := 0; j < cols; j++ {
			wv += float64(s.Orig.Data[i*cols+j]) * float64(s.V.Data[j])
		}
		sig += float64(s.U.Data[i]) * wv
	}
	return sig
}

// iterate runs one power iteration: v ← normalize(Wᵀu), u ← normalize(Wv).
func (s *SpectralNorm) iterate() {
	rows, cols := s.U.Len(), s.V.Len()
	W := s.Orig.Data
	for j := 0; j < cols; j++ {
		var a float64
		for i := 0; i < rows; i++ {
			a += float64(W[i*cols+j]) * float64(s.U.Data[i])
		}
		s.V.Data[j] = float32(a)
	}
	normalize(s.V.Data, s.Eps)
	for i := 0; i < rows; i++ {
		var a float64
		for j := 0; j < cols; j++ {
			a += float64(W[i*cols+j]) * float64(s.V.Data[j])
		}
		s.U.Data[i] = float32(a)
	}
	normalize(s.U.Data, s.Eps)
}

// Weight returns W/σ for this pass (one power iteration first when
// training and batch statistics are not frozen).
func (s *SpectralNorm) Weight(p *Pass) *Tensor {
	if p.Train && !p.FrozenStats {
		s.iterate()
	}
	g := p.G
	rows, cols := s.U.Len(), s.V.Len()
	w2 := g.Reshape(s.Orig, rows, cols)
	v := tensor.FromSlice(s.V.Data, cols, 1)
	u := tensor.FromSlice(s.U.Data, rows, 1)
	sigma := g.Sum(g.Mul(u, g.MatMul(w2, v, false, false)))
	w := g.Div(s.Orig, sigma)
	if w.Len() != s.Orig.Len() {
		panic(fmt.Sprintf("nn: spectral norm of %v", s.Orig.Shape()))
	}
	return w
}

// NewSpectralLinear is NewLinear whose weight is spectrally normalized
// (R4F's classification head).
func NewSpectralLinear(ps, buffers *Params, name string, in, out int, bias bool, layout bool, seed uint64) *Linear {
	l := &Linear{TransW: layout}
	if layout == OutIn {
		l.Spectral = NewSpectralNorm(ps, buffers, name, seed, out, in)
	} else {
		l.Spectral = NewSpectralNorm(ps, buffers, name, seed, in, out)
	}
	l.W = l.Spectral.Orig
	if bias {
		l.B = ps.Add(name+".bias", out)
	}
	return l
}
