package report_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tramlab/tram/grid"
	"github.com/tramlab/tram/report"
)

// greyLine matches the frontier plot's per-seed lines.
var greyLine = regexp.MustCompile(`<path d="(M[^"]*)" style="fill:none;stroke:#969696;`)

// writeFake writes a fake grid's directory and its report, and returns the
// directory.
func writeFake(t *testing.T, f fake) string {
	t.Helper()
	dir := t.TempDir()
	if err := f.write(dir, []int{1, 2, 3}, []int{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := report.Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The frontier plot's lines run left to right (the fake base rows'
// checkpoints come after them and lie left of them), and the rows are
// named once each, in the legend, not piled next to their points.
func TestFrontierPlot(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fake  fake
		plots []string
	}{
		{"vision", fakeVision(), []string{"frontier.svg"}},
		{"lm", fakeLM(), []string{"frontier-tech.svg", "frontier-cs.svg", "correlation-tech.svg", "correlation-cs.svg"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFake(t, tc.fake)
			for _, f := range tc.plots {
				svg := read(t, dir, "plots/"+f)
				if strings.HasPrefix(f, "frontier") {
					// The last grey line is the legend's, drawn after the plot.
					lines := greyLine.FindAllStringSubmatch(svg, -1)
					if len(lines) != 4 {
						t.Fatalf("%s: %d grey lines, want one per seed and the legend's", f, len(lines))
					}
					lines = lines[:3]
					for _, m := range lines {
						xs := pathXs(t, m[1])
						if len(xs) < 4 {
							t.Errorf("%s: a frontier line of %d points", f, len(xs))
						}
						for i := 1; i < len(xs); i++ {
							if xs[i] < xs[i-1] {
								t.Errorf("%s: frontier line goes back in x: %v", f, xs)
								break
							}
						}
					}
				}
				for _, r := range tc.fake.g.Rows {
					want := 0
					if r.Kind == grid.Main && !(strings.HasPrefix(f, "correlation") && grid.IsCombination(r.Method)) {
						want = 1
					}
					if n := strings.Count(svg, ">"+r.Name+"</text>"); n != want {
						t.Errorf("%s: %s written %d times, want %d", f, r.Name, n, want)
					}
				}
			}
		})
	}
}

// pathXs returns the x of every point of an SVG path of M and L commands.
func pathXs(t *testing.T, d string) []float64 {
	t.Helper()
	var xs []float64
	for _, p := range strings.FieldsFunc(d, func(r rune) bool { return r == 'M' || r == 'L' }) {
		x, _, ok := strings.Cut(p, ",")
		v, err := strconv.ParseFloat(x, 64)
		if !ok || err != nil {
			t.Fatalf("path %q: %q", d, p)
		}
		xs = append(xs, v)
	}
	return xs
}

// The same grid gives byte-identical plots: written twice in one
// directory, and once more in another.
func TestPlotsDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name string
		fake fake
	}{{"vision", fakeVision()}, {"lm", fakeLM()}} {
		t.Run(tc.name, func(t *testing.T) {
			dir, other := writeFake(t, tc.fake), writeFake(t, tc.fake)
			svgs, err := filepath.Glob(filepath.Join(dir, "plots", "*.svg"))
			if err != nil || len(svgs) == 0 {
				t.Fatalf("plots: %v %v", svgs, err)
			}
			first := map[string]string{}
			for _, f := range svgs {
				first[filepath.Base(f)] = read(t, dir, "plots/"+filepath.Base(f))
			}
			if _, err := report.Write(dir); err != nil {
				t.Fatal(err)
			}
			for name, b := range first {
				if again := read(t, dir, "plots/"+name); again != b {
					t.Errorf("%s differs between two writes", name)
				}
				if elsewhere, err := os.ReadFile(filepath.Join(other, "plots", name)); err != nil || !bytes.Equal(elsewhere, []byte(b)) {
					t.Errorf("%s differs between two directories (%v)", name, err)
				}
			}
		})
	}
}
