package report

import (
	"slices"
	"testing"
)

func TestCollapseRepeats(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"empty", nil, nil},
		{"distinct", []string{"a", "b", "a"}, []string{"a", "b", "a"}},
		{"runs", []string{"a", "a", "a", "b", "c", "c"},
			[]string{"a  # 3 times in a row: each start resumed the grid", "b", "c  # 2 times in a row: each start resumed the grid"}},
	}
	for _, tt := range tests {
		if got := collapseRepeats(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("%s: collapseRepeats(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}
