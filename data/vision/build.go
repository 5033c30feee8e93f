// Package vision builds DigitShift, a glyph and digit image task whose
// domains are writing styles, and loads it.
//
// All images are 28×28 uint8 in the MNIST convention (ink 255 on a 0
// background, the ink fitted into a 20×20 box whose centre of mass is at
// the image centre). Fonts are rasterized with golang.org/x/image/font
// (opentype/sfnt and vector), Hershey stroke fonts with package
// data/hershey.
//
// Sets (each a split of one domain):
//
//	pretrain-{train,val,test}      62 classes 0-9A-Za-z from print faces
//	                               (serif, sans, mono), split by face,
//	                               augmented (affine, stroke thickness, noise)
//	digits-DOMAIN-{train,test}     10 digit classes; DOMAIN is one of
//	                               print, script, segment, blackletter,
//	                               hershey, uci, opencv
//
// Font and Hershey domains are split by face, never by augmented image; the
// print digit domain trains on the pretraining train faces and tests on the
// pretraining test faces, which pretraining never sees. uci is the 8×8 UCI
// handwriting of python3-sklearn, upsampled; opencv is the 20×20
// MNIST-derived sheet of opencv-doc.
//
// Files for a set NAME in the task directory: NAME.images (N×784 bytes,
// row-major), NAME.labels (N bytes, class index), NAME.groups (N uint16
// little endian, index into the set's group names: the face or source of
// each image), described by index.json. Use [Load] rather than parsing them.
package vision

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/png"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gobolditalic"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/gofont/gomediumitalic"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/gomonobolditalic"
	"golang.org/x/image/font/gofont/gomonoitalic"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"

	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/data/hershey"
	"github.com/tramlab/tram/internal/parallel"
)

// Classes are the 62 glyph classes; digits are classes 0-9.
const Classes = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Style groups of faces.
const (
	Serif       = "serif"
	Sans        = "sans"
	Mono        = "mono"
	Script      = "script"
	Segment     = "segment"
	Blackletter = "blackletter"
)

// DigitDomains lists the digit domains in a fixed order.
var DigitDomains = []string{"print", "script", "segment", "blackletter", "hershey", "uci", "opencv"}

// Config sets the sizes of a build.
type Config struct {
	PretrainAug int // renderings per (train face, class); the first is undistorted
	EvalAug     int // renderings per (val/test face, class) in pretraining
	MinTest     int // digit domains get enough renderings for this many test images
	MaxAug      int // cap on renderings per (face, digit)
}

// DefaultConfig is the configuration of "tram data build vision".
var DefaultConfig = Config{PretrainAug: 8, EvalAug: 2, MinTest: 1000, MaxAug: 60}

// packageStyle maps font packages to their style group.
var packageStyle = map[string]string{
	"fonts-freefont-ttf": Serif, "fonts-liberation": Serif, "fonts-urw-base35": Serif,
	"fonts-vollkorn": Serif, "fonts-oldstandard": Serif, "fonts-goudybookletter": Serif,
	"fonts-open-sans": Sans, "fonts-cantarell": Sans, "fonts-quicksand": Sans,
	"fonts-beteckna": Sans, "fonts-okolaks": Sans,
	"fonts-inconsolata": Mono, "fonts-jetbrains-mono": Mono, "fonts-3270": Mono, "fonts-gnutypewriter": Mono,
	"fonts-dkg-handwriting": Script, "fonts-breip": Script, "fonts-bwht": Script, "fonts-femkeklaver": Script,
	"fonts-humor-sans": Script, "fonts-rufscript": Script, "fonts-sjfonts": Script, "fonts-kristi": Script,
	"fonts-dancingscript": Script, "fonts-kaushanscript": Script, "fonts-comic-neue": Script,
	"fonts-tomsontalks": Script, "fonts-havana": Script, "fonts-joscelyn": Script, "fonts-lobster": Script,
	"fonts-leckerli-one": Script,
	"fonts-dseg":         Segment,
	"fonts-blankenburg":  Blackletter, "fonts-gotico-antiqua": Blackletter, "fonts-klaudia-berenika": Blackletter,
	"fonts-bebas-neue": Blackletter, "fonts-routed-gothic": Blackletter,
}

// goFonts are the Go fonts, which ship with golang.org/x/image and are
// compiled into tram (Go Smallcaps left out: its digits are Go Regular's).
var goFonts = []struct {
	name, style string
	ttf         []byte
}{
	{"Go-Regular", Sans, goregular.TTF}, {"Go-Bold", Sans, gobold.TTF}, {"Go-Italic", Sans, goitalic.TTF},
	{"Go-BoldItalic", Sans, gobolditalic.TTF}, {"Go-Medium", Sans, gomedium.TTF},
	{"Go-MediumItalic", Sans, gomediumitalic.TTF}, {"Go-Mono", Mono, gomono.TTF},
	{"Go-MonoBold", Mono, gomonobold.TTF}, {"Go-MonoItalic", Mono, gomonoitalic.TTF},
	{"Go-MonoBoldItalic", Mono, gomonobolditalic.TTF},
}

// styleOf returns the style group of a font file of a package, or "" to
// skip it (symbol faces, faces outside the design).
func styleOf(pkg, file string) string {
	base := filepath.Base(file)
	switch {
	case strings.HasPrefix(base, "D050000L"), strings.HasPrefix(base, "StandardSymbols"),
		strings.HasPrefix(base, "DSEGWeather"), strings.HasPrefix(base, "DejaVuMath"):
		return ""
	case pkg == "fonts-gotico-antiqua" && !strings.HasPrefix(base, "Jessen"):
		return ""
	case strings.HasPrefix(base, "FreeSans"), strings.HasPrefix(base, "LiberationSans"),
		strings.HasPrefix(base, "NimbusSans"), strings.HasPrefix(base, "URWGothic"),
		strings.HasPrefix(base, "DejaVuSans") && !strings.HasPrefix(base, "DejaVuSansMono"):
		return Sans
	case strings.HasPrefix(base, "FreeMono"), strings.HasPrefix(base, "LiberationMono"),
		strings.HasPrefix(base, "NimbusMono"), strings.HasPrefix(base, "DejaVuSansMono"):
		return Mono
	case strings.HasPrefix(base, "Z003"):
		return Script
	case strings.HasPrefix(base, "DejaVuSerif"):
		return Serif
	}
	return packageStyle[pkg]
}

// hersheyFonts are the text fonts of hershey-fonts-data (symbol sets such
// as music, markers or astrology are left out).
var hersheyFonts = []string{
	"cursive", "cyrilc_1", "cyrillic", "futural", "futuram", "gothgbt", "gothgrt", "gothiceng",
	"gothicger", "gothicita", "gothitt", "greek", "greekc", "greeks", "rowmand", "rowmans",
	"rowmant", "scriptc", "scripts", "timesg", "timesi", "timesib", "timesr", "timesrb",
}

// A face is one font (or Hershey font) usable for rendering.
type face struct {
	id     string // "package/file"
	style  string
	shapes map[byte]shape // per class character
}

func (f face) has(chars string) bool {
	for i := 0; i < len(chars); i++ {
		if _, ok := f.shapes[chars[i]]; !ok {
			return false
		}
	}
	return true
}

func loadFontFace(id, style string, b []byte) (face, error) {
	fnt, err := opentype.Parse(b)
	if err != nil {
		return face{}, fmt.Errorf("%s: %w", id, err)
	}
	fc := face{id: id, style: style, shapes: map[byte]shape{}}
	var buf sfnt.Buffer
	for i := 0; i < len(Classes); i++ {
		gi, err := fnt.GlyphIndex(&buf, rune(Classes[i]))
		if err != nil || gi == 0 {
			continue
		}
		s, err := glyphShape(fnt, &buf, gi)
		if err != nil || len(s.contours) == 0 {
			continue
		}
		fc.shapes[Classes[i]] = s
	}
	return fc, nil
}

// discoverFaces loads every usable font face, sorted by id, and returns
// the ids of files that failed to parse.
func discoverFaces(opt data.BuildOptions) (faces []face, skipped []string, srcs []data.Source, err error) {
	seen := map[[32]byte]bool{}
	add := func(id, style string, b []byte) {
		sum := sha256.Sum256(b)
		if seen[sum] {
			return
		}
		seen[sum] = true
		fc, err := loadFontFace(id, style, b)
		if err != nil {
			skipped = append(skipped, id)
			return
		}
		if fc.has(Classes[:10]) {
			faces = append(faces, fc)
		} else {
			skipped = append(skipped, id+" (no digits)")
		}
	}
	for _, pkg := range data.SortedKeys(packageStyle) {
		root, err := data.RequirePackage(opt.Cache, pkg)
		if err != nil {
			return nil, nil, nil, err
		}
		srcs = append(srcs, data.SourceFromCache(opt.Cache, pkg))
		var files []string
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if ext := strings.ToLower(filepath.Ext(p)); ext == ".ttf" || ext == ".otf" {
					files = append(files, p)
				}
			}
			return nil
		})
		sort.Strings(files)
		for _, f := range files {
			style := styleOf(pkg, f)
			if style == "" {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, nil, nil, err
			}
			add(pkg+"/"+filepath.Base(f), style, b)
		}
	}
	// DejaVu from the base image.
	dv, _ := filepath.Glob(opt.SysPath("/usr/share/fonts/truetype/dejavu/*.ttf"))
	sort.Strings(dv)
	for _, f := range dv {
		if style := styleOf("", f); style != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, nil, nil, err
			}
			add("base-image/"+filepath.Base(f), style, b)
		}
	}
	srcs = append(srcs, data.Source{Name: "/usr/share/fonts/truetype/dejavu (base image)", Files: len(dv)})
	for _, g := range goFonts {
		add("gofont/"+g.name, g.style, g.ttf)
	}
	srcs = append(srcs, data.Source{Name: "golang.org/x/image/font/gofont", Version: "v0.48.0", Files: len(goFonts)})
	sort.Slice(faces, func(i, j int) bool { return faces[i].id < faces[j].id })
	return faces, skipped, srcs, nil
}

func hersheyFaces(opt data.BuildOptions) ([]face, data.Source, error) {
	root, err := data.RequirePackage(opt.Cache, "hershey-fonts-data")
	if err != nil {
		return nil, data.Source{}, err
	}
	var out []face
	for _, name := range hersheyFonts {
		f, err := hershey.ReadFile(filepath.Join(root, "usr/share/hershey-fonts", name+".jhf"))
		if errors.Is(err, fs.ErrNotExist) {
			continue // counted: faces/hershey is checked for drift
		}
		if err != nil {
			return nil, data.Source{}, err
		}
		fc := face{id: "hershey/" + name, style: "hershey", shapes: map[byte]shape{}}
		for i := 0; i < 10; i++ {
			if g, ok := f.Rune(rune(Classes[i])); ok {
				fc.shapes[Classes[i]] = hersheyShape(g)
			}
		}
		if fc.has(Classes[:10]) {
			out = append(out, fc)
		}
	}
	return out, data.SourceFromCache(opt.Cache, "hershey-fonts-data"), nil
}

func hashOf(s string) uint64 {
	h := fnv.New64a()
	io.WriteString(h, s)
	return h.Sum64()
}

// splitFaces assigns faces to test (about testPct percent) or train by a
// hash of the face id, keeping at least one face on each side.
func splitFaces(faces []face, testPct uint64) (train, test []face) {
	for _, f := range faces {
		if hashOf("split:"+f.id)%100 < testPct {
			test = append(test, f)
		} else {
			train = append(train, f)
		}
	}
	if len(test) == 0 && len(train) > 1 {
		test, train = train[len(train)-1:], train[:len(train)-1]
	}
	if len(train) == 0 && len(test) > 1 {
		train, test = test[len(test)-1:], test[:len(test)-1]
	}
	return train, test
}

// A job is one image to render.
type job struct {
	face  *face
	class int // index in Classes
	k     int // rendering number; 0 is undistorted
	seed  string
}

// set is a finished set ready to be written.
type set struct {
	name, domain, split string
	images              []byte
	labels              []byte
	groups              []uint16
	groupNames          []string
}

func renderSet(name, domain, split string, faces []face, chars string, naug int) set {
	var jobs []job
	for fi := range faces {
		for ci := 0; ci < len(chars); ci++ {
			for k := 0; k < naug; k++ {
				jobs = append(jobs, job{&faces[fi], strings.IndexByte(Classes, chars[ci]), k, name})
			}
		}
	}
	imgs := make([][Pixels]uint8, len(jobs))
	oks := make([]bool, len(jobs))
	parallel.For(len(jobs), 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			j := jobs[i]
			a := clean
			seed := hashOf(fmt.Sprintf("%s|%s|%d|%d", j.seed, j.face.id, j.class, j.k))
			r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
			if j.k > 0 {
				a = randomAug(r)
			}
			imgs[i], oks[i] = render(j.face.shapes[Classes[j.class]], a, r)
			if !oks[i] && j.k > 0 { // a distortion erased the glyph: fall back to the clean one
				imgs[i], oks[i] = render(j.face.shapes[Classes[j.class]], clean, r)
			}
		}
	})
	s := set{name: name, domain: domain, split: split}
	gidx := map[string]uint16{}
	for i, j := range jobs {
		if !oks[i] {
			continue
		}
		g, ok := gidx[j.face.id]
		if !ok {
			g = uint16(len(s.groupNames))
			gidx[j.face.id] = g
			s.groupNames = append(s.groupNames, j.face.id)
		}
		s.images = append(s.images, imgs[i][:]...)
		s.labels = append(s.labels, byte(j.class))
		s.groups = append(s.groups, g)
	}
	return s
}

// augFor returns the renderings per (face, digit) giving at least minTest
// images over nTest test faces.
func augFor(nTest int, c Config) int {
	if nTest == 0 {
		return 1
	}
	k := (c.MinTest + 10*nTest - 1) / (10 * nTest)
	return min(max(k, 1), c.MaxAug)
}

// Build builds DigitShift into opt.Out with DefaultConfig.
func Build(opt data.BuildOptions) (*data.Manifest, error) {
	return BuildConfig(opt, DefaultConfig)
}

// BuildConfig builds DigitShift with the given sizes. Only the default
// configuration is checked against the recorded counts.
func BuildConfig(opt data.BuildOptions, c Config) (*data.Manifest, error) {
	if err := opt.PrepareOut(); err != nil {
		return nil, err
	}
	faces, skipped, srcs, err := discoverFaces(opt)
	if err != nil {
		return nil, err
	}
	m := &data.Manifest{Task: data.TaskVision, Name: "DigitShift", Format: 1, Counts: map[string]int{}, Sources: srcs}
	for _, s := range skipped {
		m.Notes = append(m.Notes, "skipped font "+s)
	}
	byStyle := map[string][]face{}
	for _, f := range faces {
		byStyle[f.style] = append(byStyle[f.style], f)
		m.Counts["faces/"+f.style]++
	}
	// Print faces with all 62 classes: 70% train, 10% val, 20% test.
	var ptrain, pval, ptest []face
	for _, st := range []string{Serif, Sans, Mono} {
		for _, f := range byStyle[st] {
			if !f.has(Classes) {
				m.Counts["faces/"+st+"/incomplete"]++
				continue
			}
			switch p := hashOf("print:"+f.id) % 10; {
			case p < 7:
				ptrain = append(ptrain, f)
			case p < 8:
				pval = append(pval, f)
			default:
				ptest = append(ptest, f)
			}
		}
	}
	opt.Logf("%d faces (%d print faces with all 62 classes: %d train, %d val, %d test)", len(faces), len(ptrain)+len(pval)+len(ptest), len(ptrain), len(pval), len(ptest))
	var sets []set
	sets = append(sets,
		renderSet("pretrain-train", "print", "train", ptrain, Classes, c.PretrainAug),
		renderSet("pretrain-val", "print", "val", pval, Classes, c.EvalAug),
		renderSet("pretrain-test", "print", "test", ptest, Classes, c.EvalAug))
	digits := Classes[:10]
	k := augFor(len(ptest), c)
	sets = append(sets,
		renderSet("digits-print-train", "print", "train", ptrain, digits, k),
		renderSet("digits-print-test", "print", "test", ptest, digits, k))
	hf, hsrc, err := hersheyFaces(opt)
	if err != nil {
		return nil, err
	}
	m.Sources = append(m.Sources, hsrc)
	m.Counts["faces/hershey"] = len(hf)
	for _, dom := range []string{Script, Segment, Blackletter, "hershey"} {
		fs := byStyle[dom]
		if dom == "hershey" {
			fs = hf
		}
		tr, te := splitFaces(fs, 40)
		k := augFor(len(te), c)
		opt.Logf("domain %s: %d train faces, %d test faces, %d renderings per digit", dom, len(tr), len(te), k)
		sets = append(sets,
			renderSet("digits-"+dom+"-train", dom, "train", tr, digits, k),
			renderSet("digits-"+dom+"-test", dom, "test", te, digits, k))
	}
	uci, usrc, err := uciSets(opt)
	if err != nil {
		return nil, err
	}
	sets = append(sets, uci...)
	if usrc.Name != "" {
		m.Sources = append(m.Sources, usrc)
	}
	ocv, osrc, err := opencvSets(opt)
	if err != nil {
		return nil, err
	}
	sets = append(sets, ocv...)
	if osrc.Name != "" {
		m.Sources = append(m.Sources, osrc)
	}
	if len(uci) == 0 {
		m.Notes = append(m.Notes, "python3-sklearn is not in the cache: the uci domain is missing")
	}
	if len(ocv) == 0 {
		m.Notes = append(m.Notes, "opencv-doc is not in the cache: the opencv domain is missing")
	}
	idx := Index{Format: 1, Width: Size, Height: Size, Classes: Classes}
	for _, s := range sets {
		info, err := writeSet(opt.Out, s)
		if err != nil {
			return nil, err
		}
		idx.Sets = append(idx.Sets, info)
		m.Counts["images/"+s.name] = info.Count
		m.Counts["groups/"+s.name] = len(s.groupNames)
		for c, n := range info.ClassCounts {
			if n > 0 {
				m.Counts["classes/"+s.name+"/"+Classes[c:c+1]] = n
			}
		}
	}
	if err := data.WriteJSON(filepath.Join(opt.Out, "index.json"), idx); err != nil {
		return nil, err
	}
	if c == DefaultConfig {
		if err := opt.Drift(m, expected, 0.25); err != nil {
			return nil, err
		}
	}
	return data.Finish(opt.Out, m, func() error { return writeCard(opt.Out, opt.Cache, m, idx) })
}

func writeSet(dir string, s set) (SetInfo, error) {
	info := SetInfo{Name: s.name, Domain: s.domain, Split: s.split, Count: len(s.labels), Groups: s.groupNames}
	if info.Groups == nil {
		info.Groups = []string{}
	}
	info.ClassCounts = make([]int, len(Classes))
	for _, l := range s.labels {
		info.ClassCounts[l]++
	}
	g := make([]byte, 2*len(s.groups))
	for i, v := range s.groups {
		binary.LittleEndian.PutUint16(g[2*i:], v)
	}
	for ext, b := range map[string][]byte{".images": s.images, ".labels": s.labels, ".groups": g} {
		if err := os.WriteFile(filepath.Join(dir, s.name+ext), b, 0o644); err != nil {
			return info, err
		}
	}
	return info, nil
}

// uciSets reads the UCI 8×8 digits of python3-sklearn: 64 values 0-16 and
// a label per CSV line. About 57% of the lines (by position) form the test
// set, so it holds over 1,000 images.
func uciSets(opt data.BuildOptions) ([]set, data.Source, error) {
	root, err := data.RequirePackage(opt.Cache, "python3-sklearn")
	if err != nil {
		opt.Logf("warning: %v; skipping the uci domain", err)
		return nil, data.Source{}, nil
	}
	p := filepath.Join(root, "usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz")
	f, err := os.Open(p)
	if err != nil {
		return nil, data.Source{}, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, data.Source{}, fmt.Errorf("%s: %w", p, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, data.Source{}, fmt.Errorf("%s: %w", p, err)
	}
	tr := set{name: "digits-uci-train", domain: "uci", split: "train", groupNames: []string{"uci"}}
	te := set{name: "digits-uci-test", domain: "uci", split: "test", groupNames: []string{"uci"}}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i, line := range lines {
		fs := strings.Split(strings.TrimSpace(line), ",")
		if len(fs) != 65 {
			return nil, data.Source{}, fmt.Errorf("%s: line %d has %d fields, want 65", p, i+1, len(fs))
		}
		px := make([]float32, 64)
		for j := 0; j < 64; j++ {
			v, err := strconv.ParseFloat(fs[j], 64)
			if err != nil {
				return nil, data.Source{}, fmt.Errorf("%s: line %d: %w", p, i+1, err)
			}
			px[j] = float32(v / 16)
		}
		lab, err := strconv.ParseFloat(fs[64], 64)
		if err != nil || lab < 0 || lab > 9 {
			return nil, data.Source{}, fmt.Errorf("%s: line %d: bad label %q", p, i+1, fs[64])
		}
		img, ok := finish(upscale(px, 8, 8), canvas, canvas, 0, nil)
		if !ok {
			continue
		}
		s := &tr
		if i%100 < 57 {
			s = &te
		}
		s.images = append(s.images, img[:]...)
		s.labels = append(s.labels, byte(lab))
		s.groups = append(s.groups, 0)
	}
	return []set{tr, te}, data.SourceFromCache(opt.Cache, "python3-sklearn"), nil
}

// opencvSets cuts opencv-doc's digits.png (2000×1000, 20×20 cells, 5 rows
// of 100 cells per class) into images: per class the first 250 cells train,
// the last 250 test.
func opencvSets(opt data.BuildOptions) ([]set, data.Source, error) {
	root, err := data.RequirePackage(opt.Cache, "opencv-doc")
	if err != nil {
		opt.Logf("warning: %v; skipping the opencv domain", err)
		return nil, data.Source{}, nil
	}
	p := filepath.Join(root, "usr/share/doc/opencv-doc/examples/data/digits.png")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, data.Source{}, err
	}
	im, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, data.Source{}, fmt.Errorf("%s: %w", p, err)
	}
	if im.Bounds().Dx() != 2000 || im.Bounds().Dy() != 1000 {
		return nil, data.Source{}, fmt.Errorf("%s: size %v, want 2000×1000", p, im.Bounds().Size())
	}
	gray := image.NewGray(im.Bounds())
	for y := 0; y < 1000; y++ {
		for x := 0; x < 2000; x++ {
			gray.Set(x, y, im.At(x, y))
		}
	}
	tr := set{name: "digits-opencv-train", domain: "opencv", split: "train", groupNames: []string{"opencv"}}
	te := set{name: "digits-opencv-test", domain: "opencv", split: "test", groupNames: []string{"opencv"}}
	for row := 0; row < 50; row++ {
		class := row / 5
		for col := 0; col < 100; col++ {
			px := make([]float32, 400)
			for y := 0; y < 20; y++ {
				for x := 0; x < 20; x++ {
					px[y*20+x] = float32(gray.GrayAt(col*20+x, row*20+y).Y) / 255
				}
			}
			img, ok := finish(upscale(px, 20, 20), canvas, canvas, 0, nil)
			if !ok {
				continue
			}
			s := &tr
			if (row%5)*100+col >= 250 {
				s = &te
			}
			s.images = append(s.images, img[:]...)
			s.labels = append(s.labels, byte(class))
			s.groups = append(s.groups, 0)
		}
	}
	return []set{tr, te}, data.SourceFromCache(opt.Cache, "opencv-doc"), nil
}
