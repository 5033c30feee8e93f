package bert

import "github.com/tramlab/tram/nn"

// MLMLogitsAt returns the masked-LM logits [len(rows), vocab] of the given
// rows of the flattened [B·T] positions only: masked-LM training predicts
// 15% of the tokens, and scoring only those saves most of the cost of the
// vocabulary projection. rows must stay unchanged until Backward has run.
func (m *Model) MLMLogitsAt(p *nn.Pass, b *Batch, rows []int32) *nn.Tensor {
	if m.Head != MaskedLM {
		panic("bert: MLMLogitsAt on a model without a masked-LM head")
	}
	h := m.Hidden(p, b)
	at := p.G.Embedding(p.G.Reshape(h, b.B*b.T, m.Config.HiddenSize), rows)
	t := m.Transform.Forward(p, at)
	if m.Config.IsRoBERTa() {
		t = p.G.GELUErf(t)
	} else {
		t = m.act(p, t)
	}
	return p.G.Linear(m.TransformLN.Forward(p, t), m.Word.W, m.LMBias, nn.OutIn)
}
