package eval

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/tramlab/tram/autograd"
	"github.com/tramlab/tram/models/gpt2"
	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/sharp"
)

// Wilson returns the 95% Wilson score interval of a binomial proportion
// with k successes in n trials (it stays inside [0, 1] and is sensible at
// proportions near 0 or 1, unlike the normal approximation).
func Wilson(k, n int) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	const z = 1.959963984540054
	p, nf := float64(k)/float64(n), float64(n)
	den := 1 + z*z/nf
	mid := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return math.Max(0, mid-half), math.Min(1, mid+half)
}

// CKA returns linear centered kernel alignment (Kornblith et al., 2019)
// between two representations of the same n examples, x [n, dx] and
// y [n, dy] row-major:
//
//	CKA = ‖YcᵀXc‖²_F / (‖XcᵀXc‖_F · ‖YcᵀYc‖_F)
//
// with Xc, Yc column-centered, all in float64. It is 1 for identical
// representations and invariant to orthogonal transforms and isotropic
// scaling of either side; 0 when either side is constant.
func CKA(x []float32, dx int, y []float32, dy int) float64 {
	if dx <= 0 || dy <= 0 || len(x)%dx != 0 || len(y)%dy != 0 || len(x)/dx != len(y)/dy {
		panic(fmt.Sprintf("eval: CKA of %d values in rows of %d and %d values in rows of %d", len(x), dx, len(y), dy))
	}
	xc, yc := centered(x, dx), centered(y, dy)
	n := len(x) / dx
	cross := gramFrob2(xc, dx, yc, dy, n)
	xx, yy := gramFrob2(xc, dx, xc, dx, n), gramFrob2(yc, dy, yc, dy, n)
	if xx == 0 || yy == 0 {
		return 0
	}
	return cross / math.Sqrt(xx*yy)
}

// centered returns x [n, d] in float64 with every column's mean removed.
func centered(x []float32, d int) []float64 {
	n := len(x) / d
	out := make([]float64, len(x))
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			mean[j] += float64(x[i*d+j])
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			out[i*d+j] = float64(x[i*d+j]) - mean[j]
		}
	}
	return out
}

// gramFrob2 returns ‖aᵀb‖²_F for a [n, da], b [n, db].
func gramFrob2(a []float64, da int, b []float64, db, n int) float64 {
	m := make([]float64, da*db)
	for i := 0; i < n; i++ {
		ar, br := a[i*da:(i+1)*da], b[i*db:(i+1)*db]
		for p, av := range ar {
			if av == 0 {
				continue
			}
			row := m[p*db : (p+1)*db]
			for q, bv := range br {
				row[q] += av * bv
			}
		}
	}
	var s float64
	for _, v := range m {
		s += v * v
	}
	return s
}

// Perplexity is the token-level perplexity of a language model on
// documents.
type Perplexity struct {
	Documents int      `json:"documents"`
	Tokens    int      `json:"tokens"`
	NLL       *float64 `json:"nll"`        // mean nats per predicted token; nil when nothing is predicted
	PPL       *float64 `json:"perplexity"` // exp(NLL)
}

// Encoder turns text into token ids.
type Encoder interface{ Encode(string) []int32 }

// DocError reports a problem with one document (its index in the list).
type DocError struct {
	Doc int
	Msg string
}

func (e *DocError) Error() string { return fmt.Sprintf("document %d: %s", e.Doc+1, e.Msg) }

// LMPerplexity scores documents with a GPT-2 model: each document is
// encoded on its own and cut into consecutive windows of n_positions
// tokens, and in each window every token after the first is predicted from
// its prefix (the contract of `tram score`). Windows are grouped by length
// and batched, batch at a time, in a fixed order. Token ids at or beyond
// the model's vocabulary are a *DocError naming the document.
func LMPerplexity(m *gpt2.Model, tok Encoder, docs []string, batch int) (Perplexity, error) {
	var res Perplexity
	P := m.Config.NPositions
	byLen := map[int][]int32{}
	for i, d := range docs {
		res.Documents++
		ids := tok.Encode(d)
		for _, id := range ids {
			if int(id) >= m.Config.VocabSize || id < 0 {
				return res, &DocError{i, fmt.Sprintf("token id %d from the tokenizer exceeds the model's vocab_size %d", id, m.Config.VocabSize)}
			}
		}
		for start := 0; start < len(ids); start += P {
			w := ids[start:min(start+P, len(ids))]
			if len(w) >= 2 {
				byLen[len(w)] = append(byLen[len(w)], w...)
			}
		}
	}
	g := autograd.NewGraph[float32]()
	var sum float64
	var tg []int32
	for _, T := range slices.Sorted(maps.Keys(byLen)) { // a fixed order keeps the sum deterministic
		flat := byLen[T]
		n := len(flat) / T
		for s := 0; s < n; s += batch {
			b := min(batch, n-s)
			ids := flat[s*T : (s+b)*T]
			tg = gpt2.ShiftTargets(tg, ids, b, T)
			g.Reset()
			g.NoGrad(func() {
				_, loss := m.LMLoss(&nn.Pass{G: g}, ids, b, T, tg)
				sum += float64(loss.Item()) * float64(len(tg))
			})
			res.Tokens += len(tg)
		}
	}
	if res.Tokens > 0 {
		nll := sum / float64(res.Tokens)
		ppl := math.Exp(nll)
		res.NLL, res.PPL = &nll, &ppl
	}
	return res, nil
}

// SharpnessOptions configure EpsSharpness.
type SharpnessOptions struct {
	// Eps sizes the box C_ε = {z : |z_i| ≤ ε(|θ_i| + 1)} (Keskar et al.
	// 2017; the paper uses 1e-5).
	Eps float64
	// Steps of projected sign-gradient ascent, each moving every
	// coordinate by 2ε(|θ_i|+1)/Steps·sign(∂ℓ/∂z_i) before projecting back
	// into the box (10 by default when 0).
	Steps int
}

// EpsSharpness returns the ε-sharpness of Keskar et al. (2017) on the
// task's current batch, ×100 relative to 1 + ℓ(θ):
//
//	100 · (max_{z ∈ C_ε} ℓ(θ + z) − ℓ(θ)) / (1 + ℓ(θ))
//
// The maximum is approached by projected gradient ascent from z = 0 with
// sign steps (the box is a scaled ℓ∞ ball, whose steepest-ascent direction
// is the sign of the gradient), keeping the best loss seen. The model runs
// in evaluation mode; its parameters are restored exactly afterwards.
func EpsSharpness(m nn.Module, task sharp.Task, o SharpnessOptions) float64 {
	steps := o.Steps
	if steps <= 0 {
		steps = 10
	}
	ps := m.Params()
	g := autograd.NewGraph[float32]()
	loss := func(grad bool) float64 {
		k := task.Micros()
		var l float64
		if grad {
			ps.ZeroGrad()
		}
		for i := 0; i < k; i++ {
			g.Reset()
			if grad {
				_, li := task.Forward(&nn.Pass{G: g}, i)
				g.Backward(g.Scale(li, 1/float64(k), 0))
				l += float64(li.Item()) / float64(k)
			} else {
				g.NoGrad(func() {
					_, li := task.Forward(&nn.Pass{G: g}, i)
					l += float64(li.Item()) / float64(k)
				})
			}
		}
		return l
	}
	base := loss(false)
	if o.Eps <= 0 {
		return 0
	}
	theta := append([]float32(nil), ps.Data...)
	defer copy(ps.Data, theta)
	best := base
	for s := 0; s < steps; s++ {
		loss(true)
		for i, t := range theta {
			w := o.Eps * (math.Abs(float64(t)) + 1)
			z := float64(ps.Data[i]) - float64(t)
			switch gi := ps.Grad[i]; {
			case gi > 0:
				z += 2 * w / float64(steps)
			case gi < 0:
				z -= 2 * w / float64(steps)
			}
			z = math.Max(-w, math.Min(w, z))
			ps.Data[i] = t + float32(z)
		}
		best = math.Max(best, loss(false))
	}
	ps.ZeroGrad()
	return 100 * (best - base) / (1 + base)
}
