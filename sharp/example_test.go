package sharp_test

import (
	"fmt"
	"math"

	"github.com/tramlab/tram/nn"
	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/sharp"
)

// bowl is a model and task in one: f(θ) = Σ (θ_i − 1)², with the parameters
// themselves as "logits".
type bowl struct{ ps, bufs nn.Params }

func (b *bowl) Params() *nn.Params  { return &b.ps }
func (b *bowl) Buffers() *nn.Params { return &b.bufs }
func (b *bowl) Micros() int         { return 1 }
func (b *bowl) Forward(p *nn.Pass, _ int) (*nn.Tensor, *nn.Tensor) {
	theta := b.ps.List()[0]
	d := p.G.Scale(theta, 1, -1)
	return p.G.Reshape(theta, 1, 3), p.G.Sum(p.G.Square(d))
}

func Example() {
	b := &bowl{}
	copy(b.ps.Add("theta", 3).Data, []float32{3, -2, 0.5})
	method, _ := sharp.NewMethod("sam", sharp.DefaultOptions("sam")) // ρ = 0.05
	opt := sharp.New(b, optim.NewSGD(0.1, 0, 0), method, 1)
	var st sharp.Stats
	for range 100 {
		st, _ = opt.Step(b)
	}
	// SAM descends with the gradient at θ+ε, so it settles within about ρ of
	// the minimum rather than exactly on it.
	var dist float64
	for _, v := range b.ps.Data {
		dist += float64(v-1) * float64(v-1)
	}
	fmt.Printf("loss %.4f, ρ = %.2f, ‖θ − θ*‖ < ρ: %v\n", st.Loss, st.D, math.Sqrt(dist) < st.D)
	// Output: loss 0.0000, ρ = 0.05, ‖θ − θ*‖ < ρ: true
}
