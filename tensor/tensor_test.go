package tensor

import (
	"strings"
	"testing"
)

func TestParamsViewsStayBound(t *testing.T) {
	var ps Params[float32]
	var all []*Tensor[float32]
	for i := 0; i < 20; i++ {
		all = append(all, ps.Add(string(rune('a'+i)), i+1, 3))
	}
	for i, p := range all {
		for j := range p.Data {
			p.Data[j] = float32(i)
			p.Grad[j] = float32(-i)
		}
	}
	for i, p := range all {
		off := ps.Offset(i)
		for j := range p.Data {
			if ps.Data[off+j] != float32(i) || ps.Grad[off+j] != float32(-i) {
				t.Fatalf("param %d element %d not a view of the arena", i, j)
			}
		}
	}
	if ps.Get("c") != all[2] || ps.Get("zz") != nil {
		t.Fatal("Get by name broken")
	}
}

func TestShapePanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"negative", func() { New[float32](2, -1) }, "negative"},
		{"too many dims", func() { New[float32](1, 1, 1, 1, 1, 1, 1) }, "more than"},
		{"fromslice", func() { FromSlice([]float32{1, 2, 3}, 2, 2) }, "[2 2]"},
		{"index", func() { New[float32](2, 2).At(2, 0) }, "out of range"},
		{"dup param", func() { var p Params[float64]; p.Add("x", 1); p.Add("x", 1) }, "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(string), tc.want) {
					t.Fatalf("panic %v, want one containing %q", r, tc.want)
				}
			}()
			tc.f()
		})
	}
}

func TestRNGDeterministic(t *testing.T) {
	a := Randn[float32](NewRNG(7), 1, 100)
	b := Randn[float32](NewRNG(7), 1, 100)
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatal("same seed gave different draws")
		}
	}
}
