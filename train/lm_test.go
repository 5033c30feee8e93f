package train

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tramlab/tram/models/gpt2"
)

func writeLines(t *testing.T, lines ...string) string {
	p := filepath.Join(t.TempDir(), "d.jsonl")
	os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	return p
}

func TestReadJSONL(t *testing.T) {
	s, err := ReadJSONL(writeLines(t, `{"input_ids":[1,2,3]}`, ``, `{"input_ids":[4,5,6]}`), 10)
	if err != nil || s.N() != 2 || s.T != 3 || !slices.Equal(s.IDs, []int32{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("%+v %v", s, err)
	}
	for _, c := range []struct {
		lines []string
		want  string
	}{
		{[]string{`{"input_ids":[1,2]}`, `{"input_ids":[1]}`}, ":2: sequence length 1 differs"},
		{[]string{`{"input_ids":[1,12]}`}, "token id 12 at position 1 is out of range [0, 10)"},
		{[]string{`{"input_ids":[-1,2]}`}, "token id -1"},
		{[]string{`{"text":"hi"}`}, `no "input_ids"`},
		{[]string{`{"input_ids":[3]}`}, "at least 2 tokens"},
		{[]string{`[1,2]`}, ":1:"},
		{[]string{``}, "no sequences"},
	} {
		if _, err := ReadJSONL(writeLines(t, c.lines...), 10); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.lines, err, c.want)
		}
	}
}

func TestBatchOrder(t *testing.T) {
	data := &Sequences{T: 2, IDs: []int32{0, 0, 1, 1, 2, 2, 3, 3, 4, 4}} // 5 sequences
	m, _ := gpt2.New(gpt2.Small(10, 4, 8, 1, 2), 0)
	task := NewLMTask(m, data, 3, false, 0)
	var firsts []int32
	for range 3 {
		task.Next()
		for j := 0; j < 3; j++ {
			firsts = append(firsts, task.ids[j*2])
		}
	}
	// Batch i row j is line (i·B + j) mod N: one continuous stream.
	if want := []int32{0, 1, 2, 3, 4, 0, 1, 2, 3}; !slices.Equal(firsts, want) {
		t.Fatalf("no-shuffle order %v, want %v", firsts, want)
	}
	if !slices.Equal(task.tgts, []int32{1, 2, 3}) { // the last batch holds lines 1, 2, 3
		t.Fatalf("targets %v", task.tgts)
	}
	order := func(seed uint64) []int32 {
		tk := NewLMTask(m, data, 5, true, seed)
		tk.Next()
		var out []int32
		for j := 0; j < 5; j++ {
			out = append(out, tk.ids[j*2])
		}
		return out
	}
	a, b := order(7), order(7)
	if !slices.Equal(a, b) {
		t.Fatal("same seed, different order")
	}
	sorted := slices.Clone(a)
	slices.Sort(sorted)
	if !slices.Equal(sorted, []int32{0, 1, 2, 3, 4}) {
		t.Fatalf("a shuffled epoch is not a permutation: %v", a)
	}
}
