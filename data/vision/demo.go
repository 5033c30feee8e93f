package vision

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/internal/parallel"
)

// A demoDomain is one digit domain of the demo: a Go face's digit drawn
// with the distortion aug draws, then post-processed.
type demoDomain struct {
	name, desc string
	aug        func(r *rand.Rand) aug                 // the distortion of one rendering
	post       func(img *[Pixels]uint8, r *rand.Rand) // applied to the finished 28×28 image, or nil
}

// uniform returns a value uniform in [lo, hi).
func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// deg converts degrees to radians.
func deg(d float64) float64 { return d * math.Pi / 180 }

// mild is the distortion every demo rendering starts from, well inside
// pretraining's augmentation.
func mild(r *rand.Rand) aug {
	return aug{rot: deg(uniform(r, -8, 8)), shear: uniform(r, -0.15, 0.15),
		sx: uniform(r, 0.9, 1.1), sy: uniform(r, 0.9, 1.1), thick: r.IntN(2), strokeW: clean.strokeW}
}

// demoDomains are the demo's domains, the training domain first.
var demoDomains = []demoDomain{
	{name: "go-noisy", desc: "Gaussian pixel noise σ 0.2–0.3 (pretraining: ≤ 0.12)", aug: func(r *rand.Rand) aug {
		a := mild(r)
		a.noise = uniform(r, 0.2, 0.3)
		return a
	}},
	{name: "go-tilted", desc: "rotated 25–40° either way (pretraining: ±12°)", aug: func(r *rand.Rand) aug {
		a := mild(r)
		a.rot = float64(2*r.IntN(2)-1) * deg(uniform(r, 25, 40))
		return a
	}},
	{name: "go-heavy", desc: "dilated by 4–6 px at 64 px: blotted strokes (pretraining: ≤ 2)", aug: func(r *rand.Rand) aug {
		a := mild(r)
		a.thick = 4 + r.IntN(3)
		return a
	}},
	{name: "go-blurred", desc: "Gaussian blur σ 1.5–2 px at 28 px", aug: mild,
		post: func(img *[Pixels]uint8, r *rand.Rand) { blur(img, uniform(r, 1.5, 2)) }},
	{name: "go-occluded", desc: "two 3 px bars, each erasing or inking across the glyph", aug: mild,
		post: func(img *[Pixels]uint8, r *rand.Rand) { occlude(img, r, 2) }},
	{name: "go-condensed", desc: "squeezed to 40–55% of its width (pretraining: ≥ 85%)", aug: func(r *rand.Rand) aug {
		a := mild(r)
		a.sx = uniform(r, 0.4, 0.55)
		return a
	}},
}

// DemoDomains lists the digit domains of GoDigits, the demo data that
// BuildDemo writes, DemoTrainDomain first.
//
// Every image is a digit of one of the Go fonts (golang.org/x/image/font/
// gofont, compiled into tram) drawn by DigitShift's renderer (a 64 px
// canvas, the ink fitted into a 20×20 box centred by centre of mass in
// 28×28) under its domain's distortion. Each domain is one kind of
// distortion beyond pretraining's augmentation (rotation ±12°, shear
// ±0.25, scale 0.85–1.15, erode 1 to dilate 2 px, noise σ ≤ 0.12), on top of
// a mild one every rendering draws (rotation ±8°, shear ±0.15, x and y
// scale 0.9–1.1, dilation 0–1 px), so the shift between domains is the
// distortion, not the typeface:
//
//	go-noisy      Gaussian pixel noise σ 0.2–0.3 (the training domain)
//	go-tilted     rotated 25–40° either way
//	go-heavy      dilated by 4–6 px at 64 px: blotted strokes
//	go-blurred    Gaussian blur σ 1.5–2 px at 28 px
//	go-occluded   two 3 px bars, each erasing or inking across the glyph
//	go-condensed  squeezed to 40–55% of its width
//
// The Go faces are split once for all domains: the test splits use the
// five that DigitShift's pretraining split holds out (Go Italic, Medium
// Italic, Mono, Mono Bold, Mono Italic), which neither pretraining nor
// fine-tuning sees; the train splits the other five (Go Regular, Bold,
// Bold Italic, Medium, Mono Bold Italic). Go Smallcaps and Smallcaps
// Italic are left out: their digits render exactly as Go Regular's and Go
// Italic's. A train split's 5 groups (faces) are fewer than the ten the
// family's face-wise validation needs, so it validates on every 10th
// image. Seeds derive from (set, face, digit, rendering): every build
// writes the same bytes.
//
// Accuracy on the 500 test images of each domain (default build), of the
// committed pretrained/vision zero-shot (its 62-way head's digit rows) and
// after `tram finetune --config recipes/vision.yaml --domain go-noisy
// --method sgd --steps 60` (measured at commit time):
//
//	domain        zero-shot  SGD, 60 steps on go-noisy
//	go-noisy      49.8%      100.0%
//	go-tilted     74.2%       72.6%
//	go-heavy      89.2%       77.6%
//	go-blurred    83.6%       60.4%
//	go-occluded   50.4%       57.0%
//	go-condensed  94.8%       92.4%
//
// Fine-tuning fixes the training domain and costs accuracy on most of the
// others: the forgetting that trust-region and sharpness-aware fine-tuning
// try to limit.
var DemoDomains = func() []string {
	var s []string
	for _, d := range demoDomains {
		s = append(s, d.name)
	}
	return s
}()

// demoMeasured holds the accuracies (%) of the table above, zero-shot and
// after SGD, for the data card.
var demoMeasured = map[string][2]float64{
	"go-noisy": {49.8, 100}, "go-tilted": {74.2, 72.6}, "go-heavy": {89.2, 77.6},
	"go-blurred": {83.6, 60.4}, "go-occluded": {50.4, 57.0}, "go-condensed": {94.8, 92.4},
}

// DemoTrainDomain is the domain the demo fine-tunes on.
const DemoTrainDomain = "go-noisy"

// DemoDomainsHelp describes the demo domains, one indented line each.
func DemoDomainsHelp() string {
	var b strings.Builder
	for _, d := range demoDomains {
		tag := ""
		if d.name == DemoTrainDomain {
			tag = " [training domain]"
		}
		fmt.Fprintf(&b, "  %-13s %s%s\n", d.name, d.desc, tag)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// A demoFace is one Go font; test puts it in the test splits.
type demoFace struct {
	name string
	ttf  []byte
	test bool
}

// demoFaces are the Go faces of the demo; test marks those DigitShift's
// pretraining holds out (hashOf("print:gofont/NAME") % 10 ≥ 7; checked by
// a test). Go Smallcaps and Go Smallcaps Italic are left out: their
// digits render exactly as Go Regular's and Go Italic's.
var demoFaces = func() []demoFace {
	test := map[string]bool{"Go-Italic": true, "Go-MediumItalic": true, "Go-Mono": true, "Go-MonoBold": true, "Go-MonoItalic": true}
	var fs []demoFace
	for _, g := range goFonts {
		fs = append(fs, demoFace{g.name, g.ttf, test[g.name]})
	}
	return fs
}()

// DemoConfig sets the sizes of a demo build.
type DemoConfig struct {
	TrainPer int // renderings per (train face, digit); 5 train faces
	TestPer  int // renderings per (test face, digit); 5 test faces
}

// DefaultDemoConfig is the configuration of "tram data demo": 1,500 train
// and 500 test images per domain.
var DefaultDemoConfig = DemoConfig{TrainPer: 30, TestPer: 10}

// BuildDemo writes the demo's digit domains into opt.Out (the vision
// directory under --data: OUT/vision) with DefaultDemoConfig, in the layout
// Build writes (index.json, digits-DOMAIN-{train,test}.{images,labels,
// groups}, CARD.md, SUMMARY.txt, manifest.json) but without DigitShift's
// pretraining sets. Only opt.Out and opt.Progress are used: nothing is
// read from the package cache or the system.
func BuildDemo(opt data.BuildOptions) (*data.Manifest, error) {
	return BuildDemoConfig(opt, DefaultDemoConfig)
}

// BuildDemoConfig is BuildDemo with the given sizes.
func BuildDemoConfig(opt data.BuildOptions, c DemoConfig) (*data.Manifest, error) {
	if c.TrainPer < 1 || c.TestPer < 1 {
		return nil, fmt.Errorf("vision demo: renderings per face and digit must be ≥ 1 (got %d train, %d test)", c.TrainPer, c.TestPer)
	}
	if err := opt.PrepareOut(); err != nil {
		return nil, err
	}
	var train, test []face
	for _, f := range demoFaces {
		fc, err := loadFontFace("gofont/"+f.name, Sans, f.ttf)
		if err != nil {
			return nil, err
		}
		if !fc.has(Classes[:10]) {
			return nil, fmt.Errorf("vision demo: %s lacks digits", fc.id)
		}
		if f.test {
			test = append(test, fc)
		} else {
			train = append(train, fc)
		}
	}
	m := &data.Manifest{Task: data.TaskVision, Name: "GoDigits (demo)", Format: 1, Counts: map[string]int{},
		Sources: []data.Source{{Name: "golang.org/x/image/font/gofont", Version: "v0.48.0", Files: len(demoFaces), Note: "compiled into tram"}},
		Notes:   []string{"demo data of `tram data demo`: digit domains only, no pretraining sets"}}
	m.Counts["faces/train"], m.Counts["faces/test"] = len(train), len(test)
	idx := Index{Format: 1, Width: Size, Height: Size, Classes: Classes}
	for _, d := range demoDomains {
		for _, sp := range []struct {
			split string
			faces []face
			per   int
		}{{"train", train, c.TrainPer}, {"test", test, c.TestPer}} {
			s := demoSet(d, sp.split, sp.faces, sp.per)
			info, err := writeSet(opt.Out, s)
			if err != nil {
				return nil, err
			}
			idx.Sets = append(idx.Sets, info)
			m.Counts["images/"+s.name] = info.Count
			m.Counts["groups/"+s.name] = len(s.groupNames)
		}
		opt.Logf("%-13s %s", d.name, d.desc)
	}
	if err := data.WriteJSON(filepath.Join(opt.Out, "index.json"), idx); err != nil {
		return nil, err
	}
	return data.Finish(opt.Out, m, func() error { return writeDemoCard(opt.Out, c, train, test, idx) })
}

// demoSet renders per images of each (face, digit) in domain d.
func demoSet(d demoDomain, split string, faces []face, per int) set {
	name := "digits-" + d.name + "-" + split
	type job struct{ face, digit, k int }
	var jobs []job
	for fi := range faces {
		for di := 0; di < 10; di++ {
			for k := 0; k < per; k++ {
				jobs = append(jobs, job{fi, di, k})
			}
		}
	}
	imgs := make([][Pixels]uint8, len(jobs))
	oks := make([]bool, len(jobs))
	parallel.For(len(jobs), 32, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			j := jobs[i]
			f := &faces[j.face]
			r := rand.New(rand.NewPCG(hashOf(fmt.Sprintf("demo|%s|%s|%d|%d", name, f.id, j.digit, j.k)), 0x9e3779b97f4a7c15))
			imgs[i], oks[i] = render(f.shapes[Classes[j.digit]], d.aug(r), r)
			if oks[i] && d.post != nil {
				d.post(&imgs[i], r)
			}
		}
	})
	s := set{name: name, domain: d.name, split: split}
	for fi := range faces {
		s.groupNames = append(s.groupNames, faces[fi].id)
	}
	for i, j := range jobs {
		if oks[i] {
			s.images = append(s.images, imgs[i][:]...)
			s.labels = append(s.labels, byte(j.digit))
			s.groups = append(s.groups, uint16(j.face))
		}
	}
	return s
}

// blur convolves img with a Gaussian of standard deviation sigma pixels.
func blur(img *[Pixels]uint8, sigma float64) {
	rad := int(math.Ceil(2.5 * sigma))
	k := make([]float64, 2*rad+1)
	var sum float64
	for i := range k {
		x := float64(i - rad)
		k[i] = math.Exp(-x * x / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	var a, b [Pixels]float64
	for i, v := range img {
		a[i] = float64(v)
	}
	for y := 0; y < Size; y++ { // rows
		for x := 0; x < Size; x++ {
			var s float64
			for i, w := range k {
				if xx := x + i - rad; xx >= 0 && xx < Size {
					s += w * a[y*Size+xx]
				}
			}
			b[y*Size+x] = s
		}
	}
	for y := 0; y < Size; y++ { // columns
		for x := 0; x < Size; x++ {
			var s float64
			for i, w := range k {
				if yy := y + i - rad; yy >= 0 && yy < Size {
					s += w * b[yy*Size+x]
				}
			}
			img[y*Size+x] = uint8(math.Round(math.Min(255, s)))
		}
	}
}

// occlude draws n bars 3 px wide and 20 px long over the 20×20 box, each
// horizontal or vertical at a random position, erasing (0) or inking (255)
// with equal odds.
func occlude(img *[Pixels]uint8, r *rand.Rand, n int) {
	for k := 0; k < n; k++ {
		pos := 6 + r.IntN(Size-12)
		v := uint8(0)
		if r.IntN(2) == 0 {
			v = 255
		}
		vertical := r.IntN(2) == 0
		for t := pos - 1; t <= pos+1; t++ {
			for u := 4; u < Size-4; u++ {
				if vertical {
					img[u*Size+t] = v
				} else {
					img[t*Size+u] = v
				}
			}
		}
	}
}

func writeDemoCard(dir string, c DemoConfig, train, test []face, idx Index) error {
	names := func(fs []face) string {
		var s []string
		for _, f := range fs {
			s = append(s, strings.TrimPrefix(f.id, "gofont/"))
		}
		return strings.Join(s, ", ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# GoDigits demo data card\n\nWritten by `tram data demo`: small digit domains for `make demo`, rendered from the Go fonts compiled into tram (golang.org/x/image/font/gofont v0.48.0, BSD-3-Clause). Nothing is downloaded and no system file is read; every build writes the same bytes. The layout is that of `tram data build vision` (DigitShift) without its pretraining sets, so `--data` takes this directory's parent for the vision family.\n\n")
	fmt.Fprintf(&b, "## Domains\n\nEach domain is one distortion beyond pretraining's augmentation (rotation ±12°, shear ±0.25, scale 0.85–1.15, erode 1 to dilate 2 px at 64 px, noise σ ≤ 0.12), on top of a mild one (rotation ±8°, shear ±0.15, scale 0.9–1.1, dilation 0–1 px). Fine-tune on %s, test on all.\n\n| domain | distortion |\n|---|---|\n", DemoTrainDomain)
	for _, d := range demoDomains {
		fmt.Fprintf(&b, "| %s | %s |\n", d.name, d.desc)
	}
	fmt.Fprintf(&b, "\nAccuracy (%%) on the 500 test images of each domain of the default build, measured when the demo was made: the committed pretrained/vision zero-shot (its 62-way head's digit rows, `tram eval --model pretrained/vision`) and after `tram finetune --config recipes/vision.yaml --model pretrained/vision --domain %s --method sgd --steps 60`. Fine-tuning fixes the training domain and costs accuracy on most others.\n\n| domain | zero-shot | SGD, 60 steps |\n|---|---|---|\n", DemoTrainDomain)
	for _, d := range demoDomains {
		if v, ok := demoMeasured[d.name]; ok {
			fmt.Fprintf(&b, "| %s | %.1f | %.1f |\n", d.name, v[0], v[1])
		}
	}
	fmt.Fprintf(&b, "\n## Faces and splits\n\n- Train faces (%d): %s.\n- Test faces (%d): %s: the Go faces that DigitShift's pretraining holds out, so neither pretraining nor fine-tuning sees them.\n- Go Smallcaps and Go Smallcaps Italic are left out: their digits render exactly as Go Regular's and Go Italic's.\n- %d renderings per (train face, digit), %d per (test face, digit). A train split has %d groups (faces), fewer than ten, so the vision family validates on every 10th image of it.\n\n",
		len(train), names(train), len(test), names(test), c.TrainPer, c.TestPer, len(train))
	fmt.Fprintf(&b, "## Sets\n\n| set | domain | split | images | faces |\n|---|---|---|---|---|\n")
	for _, s := range idx.Sets {
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d |\n", s.Name, s.Domain, s.Split, s.Count, len(s.Groups))
	}
	fmt.Fprintf(&b, "\n## Format\n\nAs DigitShift: index.json lists the sets; for set NAME: NAME.images (count×784 bytes, 28×28, ink 255 on 0), NAME.labels (count bytes, the digit), NAME.groups (count uint16 little endian, index into the set's faces). Load with `vision.Load(dir, name)` or `vision.LoadDomain(dir, domain, split)`.\n")
	return os.WriteFile(filepath.Join(dir, "CARD.md"), []byte(b.String()), 0o644)
}
