package wiseft

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tramlab/tram/checkpoint"
)

var (
	negZero = float32(math.Copysign(0, -1))
	nan1    = math.Float32frombits(0x7fc00001) // a NaN with a payload
)

// pretrainedTensors and tunedTensors form a small fine-tuning: a shared
// encoder and batch norm, a head for 5 classes replaced by one for 2, a
// masked-LM bias the tuned model dropped, a new classifier, a step counter
// and a tensor whose dtype changed.
func pretrainedTensors() []checkpoint.Tensor {
	return []checkpoint.Tensor{
		{Name: "enc.weight", Shape: []int{2, 3}, Data: []float32{1, -2, 0, negZero, nan1, float32(math.Inf(1))}},
		{Name: "enc.bias", Shape: []int{3}, Data: []float32{0.5, 0.25, 3}},
		{Name: "bn.running_mean", Shape: []int{3}, Data: []float32{0, 0, 0}},
		{Name: "bn.num_batches_tracked", Shape: nil, Data: []float32{100}, DType: "I64"},
		{Name: "head.weight", Shape: []int{5, 3}, Data: make([]float32, 15)},
		{Name: "mlm.bias", Shape: []int{4}, Data: []float32{1, 2, 3, 4}},
		{Name: "proj.weight", Shape: []int{2}, Data: []float32{1, 2}},
	}
}

func tunedTensors() []checkpoint.Tensor {
	return []checkpoint.Tensor{
		{Name: "head.weight", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "enc.weight", Shape: []int{2, 3}, Data: []float32{3, -2, negZero, 0, 7, 1}},
		{Name: "enc.bias", Shape: []int{3}, Data: []float32{0.5, 0.75, -1e-3}},
		{Name: "bn.running_mean", Shape: []int{3}, Data: []float32{1, -1, 0.5}},
		{Name: "bn.num_batches_tracked", Shape: nil, Data: []float32{150}, DType: "I64"},
		{Name: "classifier.bias", Shape: []int{2}, Data: []float32{0.1, -0.1}},
		{Name: "proj.weight", Shape: []int{2}, Data: []float32{1.5, 2.5}, DType: "BF16"},
	}
}

var tunedMeta = map[string]string{"format": "pt", "tram_method": "tram-theta"}

// modelDir writes a model directory: config.json, model.safetensors and
// the extra files given (path → content).
func modelDir(t *testing.T, ts []checkpoint.Tensor, meta map[string]string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, ModelFile), ts, meta); err != nil {
		t.Fatal(err)
	}
	if err := checkpoint.WriteJSON(filepath.Join(dir, "config.json"), map[string]any{"model_type": "toy", "num_labels": 2}); err != nil {
		t.Fatal(err)
	}
	for rel, body := range files {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func inputs(t *testing.T) (pre, tun string) {
	pre = modelDir(t, pretrainedTensors(), map[string]string{"format": "pt", "tram_method": "pretrain"}, map[string]string{"CARD.md": "# pretrained\n"})
	tun = modelDir(t, tunedTensors(), tunedMeta, map[string]string{"tokenizer.json": `{"model": {}}`, "run_info.json": "{}\n", "extra/notes.txt": "tuned\n"})
	return pre, tun
}

// tensorBytes returns every tensor's raw little-endian data.
func tensorBytes(t *testing.T, path string) map[string][]byte {
	t.Helper()
	m, err := openModel(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.f.Close()
	out := map[string][]byte{}
	for name := range m.tensors {
		if out[name], err = m.read(name); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// dataSection returns the bytes after a safetensors file's header.
func dataSection(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw[8+binary.LittleEndian.Uint64(raw):]
}

func bitsOf(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = math.Float32bits(x)
	}
	return out
}

func TestInterpolate(t *testing.T) {
	pre, tun := inputs(t)
	preT, tunT := tensorBytes(t, filepath.Join(pre, ModelFile)), tensorBytes(t, filepath.Join(tun, ModelFile))
	preF, _ := checkpoint.ReadAll(filepath.Join(pre, ModelFile))
	tunF, _ := checkpoint.ReadAll(filepath.Join(tun, ModelFile))
	shared := []string{"bn.running_mean", "enc.bias", "enc.weight"}
	wantTaken := []Taken{
		{"bn.num_batches_tracked", NotFloat, "dtype I64 is not a float type"},
		{"classifier.bias", NotInPretrained, "not in the pretrained model"},
		{"head.weight", ShapeDiffers, "shape [2 3] differs from the pretrained model's [5 3]"},
		{"proj.weight", DTypeDiffers, "dtype BF16 differs from the pretrained model's F32"},
	}
	for _, c := range []struct {
		name  string
		alpha float64
		// check compares an interpolated tensor with its inputs.
		check func(t *testing.T, name string, got, a, b []float32)
	}{
		{"alpha 0 is the pretrained model", 0, func(t *testing.T, name string, got, a, b []float32) {
			if !slices.Equal(bitsOf(got), bitsOf(a)) {
				t.Errorf("%s: got %v, want the pretrained %v", name, got, a)
			}
		}},
		{"alpha 1 is the tuned model", 1, func(t *testing.T, name string, got, a, b []float32) {
			if !slices.Equal(bitsOf(got), bitsOf(b)) {
				t.Errorf("%s: got %v, want the tuned %v", name, got, b)
			}
		}},
		{"alpha 0.5 is the midpoint", 0.5, func(t *testing.T, name string, got, a, b []float32) {
			for i := range got {
				want := float32((float64(a[i]) + float64(b[i])) / 2)
				if a[i] == b[i] || (math.IsNaN(float64(a[i])) && math.IsNaN(float64(b[i]))) {
					want = a[i]
				}
				if got[i] != want && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want))) {
					t.Errorf("%s[%d]: got %v, want (%v + %v)/2 = %v", name, i, got[i], a[i], b[i], want)
				}
			}
		}},
		{"alpha 0.25", 0.25, func(t *testing.T, name string, got, a, b []float32) {
			for i := range got {
				want := float32(0.75*float64(a[i]) + 0.25*float64(b[i]))
				if a[i] == b[i] {
					want = a[i]
				}
				if got[i] != want && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want))) {
					t.Errorf("%s[%d]: got %v, want %v", name, i, got[i], want)
				}
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "wise")
			res, err := Interpolate(pre, tun, out, c.alpha)
			if err != nil {
				t.Fatal(err)
			}
			if res.Alpha != c.alpha || !slices.Equal(res.Interpolated, shared) || !slices.Equal(res.FromTuned, wantTaken) ||
				!slices.Equal(res.Ignored, []string{"mlm.bias"}) ||
				!slices.Equal(res.Copied, []string{"config.json", "extra/notes.txt", "run_info.json", "tokenizer.json"}) {
				t.Fatalf("result %+v", res)
			}
			path := filepath.Join(out, ModelFile)
			got, err := checkpoint.ReadAll(path)
			if err != nil {
				t.Fatal(err)
			}
			gotT := tensorBytes(t, path)
			if len(gotT) != len(tunT) {
				t.Fatalf("output has %d tensors, tuned model %d", len(gotT), len(tunT))
			}
			for _, name := range shared {
				c.check(t, name, got[name], preF[name], tunF[name])
			}
			for _, tk := range wantTaken {
				if !bytes.Equal(gotT[tk.Name], tunT[tk.Name]) {
					t.Errorf("%s: not the tuned model's bytes", tk.Name)
				}
			}
			switch c.alpha {
			case 0:
				for _, name := range shared {
					if !bytes.Equal(gotT[name], preT[name]) {
						t.Errorf("%s: not the pretrained model's bytes", name)
					}
				}
			case 1: // the whole data section is the tuned model's
				if !bytes.Equal(dataSection(t, path), dataSection(t, filepath.Join(tun, ModelFile))) {
					t.Error("alpha 1: the data section differs from the tuned model's")
				}
			}
			// Same header as the tuned model, metadata extended.
			sfOut, err := checkpoint.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer sfOut.Close()
			sfTun, _ := checkpoint.Open(filepath.Join(tun, ModelFile))
			defer sfTun.Close()
			for name, info := range sfTun.Tensors {
				o := sfOut.Tensors[name]
				if o.DType != info.DType || !slices.Equal(o.Shape, info.Shape) || o.Begin != info.Begin || o.End != info.End {
					t.Errorf("%s: header %+v, tuned model %+v", name, o, info)
				}
			}
			wantMeta := map[string]string{"format": "pt", "tram_method": "tram-theta", MetaAlpha: map[float64]string{0: "0", 1: "1", 0.5: "0.5", 0.25: "0.25"}[c.alpha],
				MetaFrom: filepath.ToSlash(pre), MetaTo: filepath.ToSlash(tun), MetaFromSHA256: sha(t, filepath.Join(pre, ModelFile)), MetaToSHA256: sha(t, filepath.Join(tun, ModelFile))}
			if !mapsEqual(sfOut.Metadata, wantMeta) {
				t.Errorf("metadata %v, want %v", sfOut.Metadata, wantMeta)
			}
			// Every other file of the tuned directory, byte for byte; nothing
			// of the pretrained one.
			for _, rel := range res.Copied {
				a, _ := os.ReadFile(filepath.Join(tun, rel))
				b, err := os.ReadFile(filepath.Join(out, rel))
				if err != nil || !bytes.Equal(a, b) {
					t.Errorf("%s: not copied byte for byte (%v)", rel, err)
				}
			}
			if _, err := os.Stat(filepath.Join(out, "CARD.md")); err == nil {
				t.Error("the pretrained directory's CARD.md was copied")
			}
			noLeftovers(t, filepath.Dir(out), "wise")
		})
	}
}

func sha(t *testing.T, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := hashFile(f, path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// noLeftovers fails if parent holds anything but the names given.
func noLeftovers(t *testing.T, parent string, names ...string) {
	t.Helper()
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if !slices.Contains(names, e.Name()) {
			t.Errorf("%s left behind in %s", e.Name(), parent)
		}
	}
}

// treeBytes reads every file under dir.
func treeBytes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

func TestDeterministicAndReplace(t *testing.T) {
	pre, tun := inputs(t)
	parent := t.TempDir()
	a, b := filepath.Join(parent, "a"), filepath.Join(parent, "b")
	for _, out := range []string{a, b} {
		if _, err := Interpolate(pre, tun, out, 0.3); err != nil {
			t.Fatal(err)
		}
	}
	ta, tb := treeBytes(t, a), treeBytes(t, b)
	if len(ta) != 5 || !mapsEqual(ta, tb) {
		t.Fatalf("two calls differ or miss files: %d and %d files", len(ta), len(tb))
	}
	// An earlier output is replaced as a whole: a stale file goes, and the
	// same call gives the same bytes again.
	os.WriteFile(filepath.Join(a, "stale.txt"), []byte("x"), 0o644)
	if _, err := Interpolate(pre, tun, a, 0.7); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(a, "stale.txt")); err == nil {
		t.Error("the earlier output was not replaced as a whole")
	}
	if _, err := Interpolate(pre, tun, a, 0.3); err != nil {
		t.Fatal(err)
	}
	if !mapsEqual(treeBytes(t, a), tb) {
		t.Error("rewriting the same interpolation gave other bytes")
	}
	// An empty directory is fine too.
	empty := filepath.Join(parent, "empty")
	os.Mkdir(empty, 0o755)
	if _, err := Interpolate(pre, tun, empty, 0.3); err != nil {
		t.Fatal(err)
	}
	noLeftovers(t, parent, "a", "b", "empty")
}

// rawTensor is a tensor given by its bytes, for dtypes the checkpoint
// package does not write.
type rawTensor struct {
	name, dtype string
	shape       []int
	vals        []float64
}

func encodeVals(dtype string, vals []float64) []byte {
	var b []byte
	for _, v := range vals {
		switch dtype {
		case "F64":
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		case "F32":
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v)))
		case "F16":
			b = binary.LittleEndian.AppendUint16(b, uint16(f16.encode(v)))
		case "BF16":
			b = binary.LittleEndian.AppendUint16(b, uint16(bf16.encode(v)))
		}
	}
	return b
}

func writeRaw(t *testing.T, dir string, ts []rawTensor) {
	t.Helper()
	var raw []checkpoint.RawTensor
	var data []byte
	for _, x := range ts {
		b := encodeVals(x.dtype, x.vals)
		raw = append(raw, checkpoint.RawTensor{Name: x.name, DType: x.dtype, Shape: x.shape, Size: int64(len(b))})
		data = append(data, b...)
	}
	err := checkpoint.WriteRaw(filepath.Join(dir, ModelFile), raw, nil, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDTypes interpolates F64, F32, F16 and BF16 tensors, with signed
// zeros, infinities and NaN at the ends.
func TestDTypes(t *testing.T) {
	pre, tun := t.TempDir(), t.TempDir()
	a := []float64{1, 0.1, -4, math.Copysign(0, -1), 0, math.Inf(-1), math.NaN(), 3}
	b := []float64{2, 0.3, 4, 0, math.Copysign(0, -1), 5, 1, 3}
	var pt, tt []rawTensor
	for _, dt := range []string{"F64", "F32", "F16", "BF16"} {
		pt = append(pt, rawTensor{"w." + dt, dt, []int{len(a)}, a})
		tt = append(tt, rawTensor{"w." + dt, dt, []int{len(b)}, b})
	}
	writeRaw(t, pre, pt)
	writeRaw(t, tun, tt)
	preT, tunT := tensorBytes(t, filepath.Join(pre, ModelFile)), tensorBytes(t, filepath.Join(tun, ModelFile))
	for _, alpha := range []float64{0, 1, 0.5, 2} {
		out := filepath.Join(t.TempDir(), "out")
		res, err := Interpolate(pre, tun, out, alpha)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Interpolated) != 4 || len(res.FromTuned) != 0 {
			t.Fatalf("alpha %v: %+v", alpha, res)
		}
		got := tensorBytes(t, filepath.Join(out, ModelFile))
		for _, dt := range []string{"F64", "F32", "F16", "BF16"} {
			name := "w." + dt
			var want []byte
			switch alpha {
			case 0:
				want = preT[name]
			case 1:
				want = tunT[name]
			default:
				// From the inputs as stored in the dtype (0.1 is not exact).
				es := len(preT[name]) / len(a)
				mixed := make([]float64, len(a))
				for i := range a {
					x, y := decodeOne(dt, preT[name][i*es:]), decodeOne(dt, tunT[name][i*es:])
					mixed[i] = float64((1-alpha)*x) + float64(alpha*y)
				}
				mixed[len(a)-1] = 3 // equal in both: kept exactly
				want = encodeVals(dt, mixed)
			}
			if alpha == 0 || alpha == 1 {
				if !bytes.Equal(got[name], want) {
					t.Errorf("alpha %v %s: bytes differ from the input", alpha, name)
				}
				continue
			}
			es := len(want) / len(a)
			for i := range a {
				g, w := got[name][i*es:(i+1)*es], want[i*es:(i+1)*es]
				if i == 6 { // NaN
					if !math.IsNaN(decodeOne(dt, g)) {
						t.Errorf("alpha %v %s[%d]: got %v, want NaN", alpha, name, i, decodeOne(dt, g))
					}
					continue
				}
				if !bytes.Equal(g, w) {
					t.Errorf("alpha %v %s[%d]: got %v, want %v", alpha, name, i, decodeOne(dt, g), decodeOne(dt, w))
				}
			}
		}
	}
}

func decodeOne(dtype string, b []byte) float64 {
	switch dtype {
	case "F64":
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	case "F32":
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	case "F16":
		return f16.decode(uint64(binary.LittleEndian.Uint16(b)))
	}
	return bf16.decode(uint64(binary.LittleEndian.Uint16(b)))
}

// TestRounding checks the single rounding to F16, BF16 and F32 against
// exhaustive round trips, Go's float32 conversion and the nearest-value
// definition.
func TestRounding(t *testing.T) {
	for _, f := range []format{f16, bf16} {
		for h := uint64(0); h < 1<<16; h++ {
			v := f.decode(h)
			if math.IsNaN(v) {
				if !math.IsNaN(f.decode(f.encode(v))) {
					t.Fatalf("%v: NaN %#x does not stay NaN", f, h)
				}
				continue
			}
			if got := f.encode(v); got != h {
				t.Fatalf("%v: encode(decode(%#04x) = %v) = %#04x", f, h, v, got)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		// Values across F32's range, subnormals included.
		x := math.Ldexp(r.Float64()+0.5, r.IntN(300)-150)
		if r.IntN(2) == 0 {
			x = -x
		}
		if math.Abs(x) <= math.MaxFloat32 {
			if got, want := f32.encode(x), uint64(math.Float32bits(float32(x))); got != want {
				t.Fatalf("f32.encode(%v) = %#x, float32 gives %#x", x, got, want)
			}
		}
		for _, f := range []format{f16, bf16} {
			h := f.encode(x)
			got := f.decode(h)
			if math.IsInf(got, 0) {
				maxFinite := f.decode(uint64(1<<f.ebits-1)<<f.mbits - 1)
				ulp := maxFinite - f.decode(uint64(1<<f.ebits-1)<<f.mbits-2)
				if math.Abs(x) < maxFinite+ulp/2 {
					t.Fatalf("%v: %v became %v", f, x, got)
				}
				continue
			}
			for _, n := range []uint64{h - 1, h + 1} { // the neighbours on either side
				if n>>(f.ebits+f.mbits) != h>>(f.ebits+f.mbits) || math.IsInf(f.decode(n), 0) {
					continue
				}
				d, dn := math.Abs(x-got), math.Abs(x-f.decode(n))
				if d > dn || (d == dn && h&1 != 0) {
					t.Fatalf("%v: %v rounded to %v (%#x), but %v (%#x) is nearer or even", f, x, got, h, f.decode(n), n)
				}
			}
		}
	}
	// One rounding, not two: through float32, 1 + 2⁻⁸ + 2⁻³⁰ would first
	// become 1 + 2⁻⁸, a tie that BF16 rounds to 1.
	if got := bf16.encode(1 + 0x1p-8 + 0x1p-30); got != 0x3f81 {
		t.Errorf("bf16.encode(1 + 2^-8 + 2^-30) = %#x, want 0x3f81", got)
	}
	// 65520 is the F16 tie between 65504 and infinity; just below, 65504.
	if f16.encode(65520) != 0x7c00 || f16.encode(65519.99) != 0x7bff || f16.encode(-1e9) != 0xfc00 {
		t.Error("F16 overflow")
	}
	if f16.encode(0x1p-25) != 0 || f16.encode(0x1p-25+0x1p-40) != 1 || f16.encode(math.Copysign(0, -1)) != 0x8000 {
		t.Error("F16 subnormals")
	}
	if toF32(1e300) != math.Float32bits(float32(math.Inf(1))) || toF32(-math.MaxFloat32*(1+0x1p-30)) != math.Float32bits(-math.MaxFloat32) {
		t.Error("F32 beyond its range")
	}
}

func TestErrors(t *testing.T) {
	pre, tun := inputs(t)
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	missing := filepath.Join(parent, "nope")
	noModel := t.TempDir()
	os.WriteFile(filepath.Join(noModel, "config.json"), []byte("{}"), 0o644)
	sharded := t.TempDir()
	os.WriteFile(filepath.Join(sharded, ModelFile+".index.json"), []byte("{}"), 0o644)
	corrupt := t.TempDir()
	os.WriteFile(filepath.Join(corrupt, ModelFile), []byte("not a safetensors file"), 0o644)
	other := modelDir(t, []checkpoint.Tensor{{Name: "x.weight", Shape: []int{2}, Data: []float32{1, 2}}}, nil, nil)
	busy := t.TempDir()
	os.WriteFile(filepath.Join(busy, "data.txt"), []byte("keep me"), 0o644)
	for _, c := range []struct {
		name               string
		from, to, out      string
		alpha              float64
		want               string
		keep               string // a file that must survive
		outMustNotBeLeft   bool
		skipLeftoversCheck bool
	}{
		{"NaN alpha", pre, tun, out, math.NaN(), "alpha must be a finite number, got NaN", "", true, false},
		{"infinite alpha", pre, tun, out, math.Inf(1), "alpha must be a finite number, got +Inf", "", true, false},
		{"missing pretrained", missing, tun, out, 0.5, "model directory " + missing + " does not exist", "", true, false},
		{"missing tuned", pre, missing, out, 0.5, "model directory " + missing + " does not exist", "", true, false},
		{"file, not directory", filepath.Join(pre, "CARD.md"), tun, out, 0.5, filepath.Join(pre, "CARD.md") + " is not a model directory", "", true, false},
		{"no model.safetensors", pre, noModel, out, 0.5, noModel + " has no model.safetensors", "", true, false},
		{"sharded", sharded, tun, out, 0.5, "sharded checkpoints are not supported", "", true, false},
		{"corrupt", corrupt, tun, out, 0.5, filepath.Join(corrupt, ModelFile) + ": not a valid safetensors file", "", true, false},
		{"nothing shared", other, tun, out, 0.5, "share no float tensor", "", true, false},
		{"out is the tuned model", pre, tun, tun, 0.5, "must be neither an input model directory nor inside or around one", filepath.Join(tun, ModelFile), false, true},
		{"out inside the pretrained model", pre, tun, filepath.Join(pre, "wise"), 0.5, "must be neither", "", false, true},
		{"out around an input", pre, tun, filepath.Dir(tun), 0.5, "must be neither", filepath.Join(tun, ModelFile), false, true},
		{"out holds other data", pre, tun, busy, 0.5, busy + " exists and holds no model.safetensors", filepath.Join(busy, "data.txt"), false, true},
		{"out is a model", pre, tun, other, 0.5, "its model.safetensors has no tram_wiseft_alpha metadata", filepath.Join(other, ModelFile), false, true},
		{"out is a file", pre, tun, filepath.Join(busy, "data.txt"), 0.5, "exists and is not a directory", filepath.Join(busy, "data.txt"), false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var before []byte
			if c.keep != "" {
				before, _ = os.ReadFile(c.keep)
			}
			res, err := Interpolate(c.from, c.to, c.out, c.alpha)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, %v; want an error containing %q", res, err, c.want)
			}
			if c.keep != "" {
				if after, _ := os.ReadFile(c.keep); !bytes.Equal(before, after) {
					t.Errorf("%s changed", c.keep)
				}
			}
			if c.outMustNotBeLeft {
				if _, err := os.Stat(c.out); err == nil {
					t.Errorf("%s was created", c.out)
				}
			}
			if !c.skipLeftoversCheck {
				noLeftovers(t, parent)
			}
		})
	}
}

// TestBaseModelPrefix: a pretrained base model saved without the prefix
// Hugging Face writes when a head is present (BertModel: encoder.…) and a
// fine-tuned classifier with it (bert.encoder.…) share their encoder, and
// the output keeps the fine-tuned names.
func TestBaseModelPrefix(t *testing.T) {
	pre := modelDir(t, []checkpoint.Tensor{
		{Name: "encoder.weight", Shape: []int{2}, Data: []float32{1, 3}},
		{Name: "bert.pooler.weight", Shape: []int{1}, Data: []float32{2}},
		{Name: "cls.bias", Shape: []int{1}, Data: []float32{9}},
	}, nil, nil)
	tun := modelDir(t, []checkpoint.Tensor{
		{Name: "bert.encoder.weight", Shape: []int{2}, Data: []float32{3, 5}},
		{Name: "pooler.weight", Shape: []int{1}, Data: []float32{4}},
		{Name: "classifier.weight", Shape: []int{1}, Data: []float32{7}},
	}, nil, nil)
	out := filepath.Join(t.TempDir(), "mid")
	res, err := Interpolate(pre, tun, out, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Interpolated, []string{"bert.encoder.weight", "pooler.weight"}) || !slices.Equal(res.Ignored, []string{"cls.bias"}) ||
		len(res.FromTuned) != 1 || res.FromTuned[0].Name != "classifier.weight" {
		t.Fatalf("result %+v", res)
	}
	got, err := checkpoint.ReadAll(filepath.Join(out, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]float32{"bert.encoder.weight": {2, 4}, "pooler.weight": {3}, "classifier.weight": {7}} {
		if !slices.Equal(got[name], want) {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
}
