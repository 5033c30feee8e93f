// Package wiseft interpolates the weights of a pretrained and a fine-tuned
// model, as WiSE-FT (Wortsman et al., "Robust fine-tuning of zero-shot
// models", CVPR 2022) does: θ_α = (1−α)·θ0 + α·θ_ft, tensor by tensor, for
// the tensors both models share, with everything else taken from the
// fine-tuned model. `tram interpolate` calls Interpolate.
//
// Both inputs are Hugging Face–style model directories (config.json,
// model.safetensors, possibly tokenizer.json and other files), as
// `tram pretrain` and `tram finetune` write them. The output is a model
// directory of the same kind as the fine-tuned one: its model.safetensors
// holds the same tensors, under the same names, dtypes and shapes, in the
// same order, and every other file of the fine-tuned directory is copied
// byte for byte. The result loads wherever the fine-tuned model loads.
//
// A tensor is interpolated when the pretrained model has a tensor of the
// same name, dtype and shape and the dtype is a float type (F64, F32, F16,
// BF16: the float types the checkpoint package reads). The names match
// with or without the base-model prefix Hugging Face writes when a head is
// present ("bert.", "roberta.", "distilbert.", "vit."): a pretrained
// BertModel's encoder.layer.0… is a fine-tuned classifier's
// bert.encoder.layer.0…. Each element is
// computed in float64 from the exactly decoded inputs and rounded once, to
// nearest even, to the tensor's dtype. α = 0 reproduces the pretrained
// tensors and α = 1 the fine-tuned ones bit for bit (signed zeros and NaNs
// included), and an element equal in both models (a frozen parameter) is
// kept as it is for every α. Float buffers such as batch norm's running
// statistics are interpolated like the parameters (the statistics of the
// interpolated network are not, in general, the interpolated statistics;
// re-estimating them is outside this package).
//
// Every other tensor of the fine-tuned model is copied unchanged and
// reported in Result.FromTuned with the reason: a new classification head
// (the pretrained model has no tensor of that name), a head whose shape
// changed (another number of classes), a dtype that differs, or an integer
// tensor such as num_batches_tracked. Tensors only the pretrained model has
// (a masked-LM head, say) are not written; Result.Ignored names them.
//
// α may be any finite number. WiSE-FT's range is [0, 1] (the paper uses 0.5
// when α is not tuned on held-out data), but extrapolation, α > 1 (past the
// fine-tuned model along θ_ft − θ0) or α < 0, is sometimes used too, and the
// arithmetic and its guarantees are the same, so the API does not forbid
// it; `tram interpolate` asks for --extrapolate outside [0, 1], where an α
// is more likely a typo (50 for 0.5) than intended.
//
// The output is written into a temporary directory beside outDir and renamed
// into place, so outDir holds either its old content or the complete new
// model, never a mixture; on error nothing is left behind. outDir may be
// absent, empty, or an earlier output of Interpolate (a model directory
// whose model.safetensors carries MetaAlpha), which is replaced as a whole;
// any other existing outDir is refused, so a model or data directory is
// never overwritten by mistake. outDir may not be either input or lie
// inside one, nor contain one.
//
// The output is deterministic: the same inputs and arguments give
// byte-identical files. The safetensors metadata is the fine-tuned model's
// plus the keys Meta* below; no time stamps.
package wiseft

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tramlab/tram/checkpoint"
)

// ModelFile is the weights file of a model directory, the one that is
// interpolated; every other file of the fine-tuned directory is copied.
const ModelFile = "model.safetensors"

// Metadata keys Interpolate adds to the fine-tuned model's safetensors
// metadata (replacing them if the fine-tuned model is itself the output of
// an interpolation).
const (
	// MetaAlpha is α, formatted as the shortest decimal that parses back to
	// the same float64 (strconv 'g', -1).
	MetaAlpha = "tram_wiseft_alpha"
	// MetaFrom and MetaTo are the pretrained and the fine-tuned directory,
	// as given to Interpolate (cleaned), so the file does not depend on the
	// directory the call was made from when the paths are relative.
	MetaFrom = "tram_wiseft_from"
	MetaTo   = "tram_wiseft_to"
	// MetaFromSHA256 and MetaToSHA256 are the hex SHA-256 digests of the two
	// model.safetensors files: what the paths pointed to.
	MetaFromSHA256 = "tram_wiseft_from_sha256"
	MetaToSHA256   = "tram_wiseft_to_sha256"
)

// Result says what Interpolate did with each tensor and file.
type Result struct {
	Alpha float64
	// Interpolated names the tensors written as (1−α)·θ0 + α·θ_ft, sorted.
	Interpolated []string
	// FromTuned lists the tensors copied unchanged from the fine-tuned
	// model, with the reason, sorted by name.
	FromTuned []Taken
	// Ignored names the pretrained model's tensors that the fine-tuned
	// model lacks (not written), sorted.
	Ignored []string
	// Copied names the other files of the fine-tuned directory, copied byte
	// for byte (slash-separated paths relative to it, sorted).
	Copied []string
}

// Taken is a tensor copied from the fine-tuned model instead of
// interpolated.
type Taken struct {
	Name   string
	Reason Reason
	// Detail says it in words, with the dtypes or shapes involved, e.g.
	// "shape [3 16] differs from the pretrained model's [5 16]".
	Detail string
}

func (t Taken) String() string { return t.Name + ": " + t.Detail }

// Reason is why a tensor was taken from the fine-tuned model.
type Reason int

const (
	// NotInPretrained: the pretrained model has no tensor of that name (a
	// new classification head).
	NotInPretrained Reason = iota + 1
	// NotFloat: the fine-tuned tensor has an integer or boolean dtype (a
	// step counter such as num_batches_tracked).
	NotFloat
	// DTypeDiffers: the pretrained tensor has another dtype.
	DTypeDiffers
	// ShapeDiffers: the pretrained tensor has another shape (a head for
	// another number of classes).
	ShapeDiffers
)

func (r Reason) String() string {
	switch r {
	case NotInPretrained:
		return "not in the pretrained model"
	case NotFloat:
		return "not a float dtype"
	case DTypeDiffers:
		return "dtype differs"
	case ShapeDiffers:
		return "shape differs"
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// Interpolate writes into outDir the model θ_α = (1−α)·θ0 + α·θ_ft of the
// pretrained model in pretrainedDir (θ0) and the fine-tuned model in
// tunedDir (θ_ft), as the package comment describes, and reports what it
// did with every tensor. It is an error when α is not finite, when either
// directory or its model.safetensors is missing or unreadable, when the two
// models share no tensor (different architectures), and when outDir is
// neither absent, empty nor an earlier output of Interpolate.
func Interpolate(pretrainedDir, tunedDir, outDir string, alpha float64) (*Result, error) {
	if math.IsNaN(alpha) || math.IsInf(alpha, 0) {
		return nil, fmt.Errorf("wiseft: alpha must be a finite number, got %v", alpha)
	}
	from, to, out := filepath.Clean(pretrainedDir), filepath.Clean(tunedDir), filepath.Clean(outDir)
	for _, d := range []string{from, to} {
		if err := checkModelDir(d); err != nil {
			return nil, err
		}
	}
	if err := checkOut(out, from, to); err != nil {
		return nil, err
	}
	pre, err := openModel(filepath.Join(from, ModelFile))
	if err != nil {
		return nil, err
	}
	defer pre.f.Close()
	tun, err := openModel(filepath.Join(to, ModelFile))
	if err != nil {
		return nil, err
	}
	defer tun.f.Close()

	res := &Result{Alpha: alpha}
	mix := map[string]string{} // fine-tuned name → the pretrained tensor's
	used := map[string]bool{}
	for _, name := range sortedNames(tun.tensors) {
		b := tun.tensors[name]
		preName, ok := pretrainedName(name, pre.tensors)
		a := pre.tensors[preName]
		if ok {
			used[preName] = true
		}
		var t Taken
		switch {
		case !ok:
			t = Taken{name, NotInPretrained, "not in the pretrained model"}
		case !isFloat(b.DType):
			t = Taken{name, NotFloat, "dtype " + b.DType + " is not a float type"}
		case a.DType != b.DType:
			t = Taken{name, DTypeDiffers, fmt.Sprintf("dtype %s differs from the pretrained model's %s", b.DType, a.DType)}
		case !slices.Equal(a.Shape, b.Shape):
			t = Taken{name, ShapeDiffers, fmt.Sprintf("shape %v differs from the pretrained model's %v", b.Shape, a.Shape)}
		default:
			mix[name] = preName
			res.Interpolated = append(res.Interpolated, name)
			continue
		}
		res.FromTuned = append(res.FromTuned, t)
	}
	for _, name := range sortedNames(pre.tensors) {
		if !used[name] {
			res.Ignored = append(res.Ignored, name)
		}
	}
	if len(res.Interpolated) == 0 {
		return nil, fmt.Errorf("wiseft: %s and %s share no float tensor of the same name, dtype and shape (%d tensors, %d taken as they are): are they the same architecture?",
			pre.path, tun.path, len(tun.tensors), len(res.FromTuned))
	}

	meta := map[string]string{}
	for k, v := range tun.meta {
		meta[k] = v
	}
	meta[MetaAlpha] = strconv.FormatFloat(alpha, 'g', -1, 64)
	meta[MetaFrom], meta[MetaTo] = filepath.ToSlash(from), filepath.ToSlash(to)
	if meta[MetaFromSHA256], err = hashFile(pre.f, pre.path); err != nil {
		return nil, err
	}
	if meta[MetaToSHA256], err = hashFile(tun.f, tun.path); err != nil {
		return nil, err
	}

	others, err := listFiles(to)
	if err != nil {
		return nil, err
	}
	err = writeDir(out, func(dir string) error {
		if err := writeModel(filepath.Join(dir, ModelFile), pre, tun, mix, alpha, meta); err != nil {
			return err
		}
		for _, rel := range others {
			if err := copyFile(filepath.Join(to, rel), filepath.Join(dir, rel)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, rel := range others {
		res.Copied = append(res.Copied, filepath.ToSlash(rel))
	}
	return res, nil
}

// basePrefixes are the prefixes Hugging Face's save_pretrained writes on a
// base model's tensors when the model has a head (BertForSequenceClassification's
// bert.encoder…, BertModel's encoder…).
var basePrefixes = []string{"bert.", "roberta.", "distilbert.", "vit."}

// pretrainedName returns the name of the pretrained tensor that matches the
// fine-tuned tensor name: the same name, else the name without or with a
// base-model prefix.
func pretrainedName(name string, pre map[string]checkpoint.Info) (string, bool) {
	if _, ok := pre[name]; ok {
		return name, true
	}
	for _, p := range basePrefixes {
		if rest, ok := strings.CutPrefix(name, p); ok {
			if _, ok := pre[rest]; ok {
				return rest, true
			}
		}
		if _, ok := pre[p+name]; ok {
			return p + name, true
		}
	}
	return "", false
}

// model is an open safetensors file read by raw byte ranges.
type model struct {
	path    string
	f       *os.File
	dataOff int64
	tensors map[string]checkpoint.Info
	meta    map[string]string
}

// openModel validates the header with the checkpoint package and keeps the
// file open for reading the tensors' bytes as they are.
func openModel(path string) (*model, error) {
	sf, err := checkpoint.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wiseft: %w", err)
	}
	m := &model{path: path, tensors: sf.Tensors, meta: sf.Metadata}
	sf.Close()
	if m.f, err = os.Open(path); err != nil {
		return nil, fmt.Errorf("wiseft: %w", err)
	}
	var n [8]byte
	if _, err := m.f.ReadAt(n[:], 0); err != nil {
		m.f.Close()
		return nil, fmt.Errorf("wiseft: %s: %w", path, err)
	}
	m.dataOff = 8 + int64(binary.LittleEndian.Uint64(n[:]))
	return m, nil
}

func (m *model) read(name string) ([]byte, error) {
	info := m.tensors[name]
	b := make([]byte, info.End-info.Begin)
	if _, err := m.f.ReadAt(b, m.dataOff+info.Begin); err != nil {
		return nil, fmt.Errorf("wiseft: %s: reading %q: %w", m.path, name, err)
	}
	return b, nil
}

func sortedNames(ts map[string]checkpoint.Info) []string {
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func hashFile(f *os.File, path string) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, math.MaxInt64)); err != nil {
		return "", fmt.Errorf("wiseft: %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeModel writes the fine-tuned model's tensors, in the order of their
// data in its file, interpolating those in mix.
func writeModel(path string, pre, tun *model, mix map[string]string, alpha float64, meta map[string]string) error {
	order := sortedNames(tun.tensors)
	slices.SortStableFunc(order, func(x, y string) int {
		return cmp.Compare(tun.tensors[x].Begin, tun.tensors[y].Begin)
	})
	raw := make([]checkpoint.RawTensor, len(order))
	for i, name := range order {
		info := tun.tensors[name]
		raw[i] = checkpoint.RawTensor{Name: name, DType: info.DType, Shape: info.Shape, Size: info.End - info.Begin}
	}
	return checkpoint.WriteRaw(path, raw, meta, func(w io.Writer) error {
		for _, name := range order {
			b, err := tun.read(name)
			if err != nil {
				return err
			}
			if preName, ok := mix[name]; ok {
				a, err := pre.read(preName)
				if err != nil {
					return err
				}
				lerp(tun.tensors[name].DType, b, a, b, alpha)
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
}
