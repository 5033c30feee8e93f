package finetune

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tramlab/tram/family"
	"github.com/tramlab/tram/internal/fixture"
	"github.com/tramlab/tram/optim"
	"github.com/tramlab/tram/pretrain"
	"github.com/tramlab/tram/sharp"
)

// xlingSetup opens a briefly pretrained xling encoder with a new head on the
// fixture data; the same call returns the same model and batches.
func xlingSetup(t *testing.T, dir string) *family.Setup {
	t.Helper()
	data, pre := filepath.Join(dir, "data"), filepath.Join(dir, "pretrained")
	if _, err := os.Stat(pre); err != nil {
		if err := fixture.Write(data); err != nil {
			t.Fatal(err)
		}
		if _, err := pretrain.Run(context.Background(), "xling", pretrain.Options{Data: data, Out: pre, Steps: 2, Batch: 4}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := family.Open(pre, family.Options{Data: data, Batch: 4, Seed: 3, Head: "new"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The head warm-up is a linear probe: the encoder stays bit for bit, its
// parameters require gradients again afterwards, the head moves exactly as
// a full backward pass would move it (the frozen backward changes no head
// gradient), and gradient clipping sees the head's gradient alone.
func TestHeadWarmupIsALinearProbe(t *testing.T) {
	dir := t.TempDir()
	const lr = 0.5
	sgd := func() optim.Optimizer { return optim.NewSGD(lr, 0, 0) }

	// The reference: full backward passes, only the head updated.
	ref := xlingSetup(t, dir)
	plain, _ := sharp.NewMethod("sgd", sharp.DefaultOptions("sgd"))
	opt := sharp.New(ref.Model, &headOnly{Optimizer: sgd(), lo: ref.HeadLo, hi: ref.HeadHi}, plain, 3^0x6865616477)
	for range 3 {
		ref.Task.Next()
		if _, err := opt.Step(ref.Task); err != nil {
			t.Fatal(err)
		}
	}

	s := xlingSetup(t, dir)
	before := append([]float32(nil), s.Model.Params().Data...)
	if err := headWarmup(context.Background(), Config{Setup: s, HeadWarmup: 3, Seed: 3, NewHeadWarmupBase: sgd}); err != nil {
		t.Fatal(err)
	}
	p := s.Model.Params()
	for i, v := range p.Data {
		inHead := i >= s.HeadLo && i < s.HeadHi
		if !inHead && v != before[i] {
			t.Fatalf("encoder parameter %d moved during the head warm-up: %g → %g", i, before[i], v)
		}
		if inHead && v != ref.Model.Params().Data[i] {
			t.Fatalf("head parameter %d = %g after the warm-up, %g with full backward passes", i, v, ref.Model.Params().Data[i])
		}
	}
	for _, q := range p.List() {
		if !q.RequiresGrad() {
			t.Fatalf("%s still frozen after the head warm-up", q.Name())
		}
	}

	// One clipped step: the head moves by lr·clip exactly, not by the share
	// of a global norm that the frozen encoder's gradients would take.
	s = xlingSetup(t, dir)
	before = append(before[:0], s.Model.Params().Data...)
	const clip = 1e-4
	if err := headWarmup(context.Background(), Config{Setup: s, HeadWarmup: 1, Seed: 3, ClipNorm: clip, NewHeadWarmupBase: sgd}); err != nil {
		t.Fatal(err)
	}
	var moved float64
	for i := s.HeadLo; i < s.HeadHi; i++ {
		d := float64(s.Model.Params().Data[i] - before[i])
		moved += d * d
	}
	if got, want := math.Sqrt(moved), lr*clip; math.Abs(got-want) > 1e-3*want {
		t.Fatalf("a clipped warm-up step moved the head by %.6g, want lr·clip = %.6g", got, want)
	}
}
