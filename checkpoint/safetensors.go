// Package checkpoint reads and writes model weights in the safetensors
// format with Hugging Face–style tensor names, next to a config.json, and
// writes every file atomically (temporary file, fsync, rename) so that an
// interrupted save never leaves a half-written model.
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON mapping each tensor name to {"dtype", "shape", "data_offsets"} (plus
// an optional "__metadata__" map of strings), then the raw little-endian
// data. Reading accepts F32, F16, BF16 and F64 (and integer buffers such as
// batch norm's num_batches_tracked) and converts to float32; writing emits
// F32 (BF16 or I64 on request).
package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unsafe"

	"github.com/tramlab/tram/tensor"
)

// Info describes one tensor of a safetensors file.
type Info struct {
	Name       string
	DType      string
	Shape      []int
	Begin, End int64 // byte range within the data section
}

// File is an open safetensors file whose tensors are read on demand.
type File struct {
	path     string
	f        *os.File
	dataOff  int64
	Tensors  map[string]Info
	Metadata map[string]string
}

// maxHeader bounds the JSON header, so a corrupt length cannot make the
// reader allocate gigabytes.
const maxHeader = 100 << 20

var dtypeSize = map[string]int{"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}

// DTypeSize returns the size in bytes of one element of a safetensors
// dtype, or 0 for an unknown one.
func DTypeSize(dtype string) int { return dtypeSize[dtype] }

// Open reads and validates the header of a safetensors file.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	sf, err := parseHeader(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	sf.f = f
	return sf, nil
}

func parseHeader(r io.ReaderAt, size int64, path string) (*File, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("checkpoint: %s: not a valid safetensors file: %s", path, fmt.Sprintf(format, args...))
	}
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, bad("cannot read the 8-byte header length (file has %d bytes)", size)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxHeader || int64(n) > size-8 {
		return nil, bad("header length %d exceeds the file (%d bytes) or the %d-byte limit", n, size, maxHeader)
	}
	hdr := make([]byte, n)
	if _, err := r.ReadAt(hdr, 8); err != nil {
		return nil, bad("cannot read the %d-byte header: %v", n, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, bad("header is not a JSON object: %v", err)
	}
	sf := &File{path: path, dataOff: 8 + int64(n), Tensors: map[string]Info{}}
	dataLen := size - sf.dataOff
	type entry struct {
		DType       string  `json:"dtype"`
		Shape       []int   `json:"shape"`
		DataOffsets []int64 `json:"data_offsets"`
	}
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &sf.Metadata); err != nil {
				return nil, bad("__metadata__ is not a map of strings: %v", err)
			}
			continue
		}
		var e entry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, bad("tensor %q: %v", name, err)
		}
		es, ok := dtypeSize[e.DType]
		if !ok {
			return nil, bad("tensor %q: unknown dtype %q", name, e.DType)
		}
		if len(e.DataOffsets) != 2 {
			return nil, bad("tensor %q: data_offsets must have 2 entries, has %d", name, len(e.DataOffsets))
		}
		count := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && count > math.MaxInt64/int64(d)/8) {
				return nil, bad("tensor %q: invalid shape %v", name, e.Shape)
			}
			count *= int64(d)
		}
		b, en := e.DataOffsets[0], e.DataOffsets[1]
		if b < 0 || en < b || en > dataLen || en-b != count*int64(es) {
			return nil, bad("tensor %q: data_offsets [%d, %d] do not match %s %v (%d bytes) within %d data bytes", name, b, en, e.DType, e.Shape, count*int64(es), dataLen)
		}
		sf.Tensors[name] = Info{Name: name, DType: e.DType, Shape: e.Shape, Begin: b, End: en}
	}
	return sf, nil
}

// Close closes the file.
func (sf *File) Close() error { return sf.f.Close() }

// Names returns the tensor names in sorted order.
func (sf *File) Names() []string {
	names := make([]string, 0, len(sf.Tensors))
	for n := range sf.Tensors {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ReadInto converts tensor name into dst, which must have exactly its
// number of elements. F32 data is read straight into dst.
func (sf *File) ReadInto(name string, dst []float32) error {
	info, ok := sf.Tensors[name]
	if !ok {
		return fmt.Errorf("checkpoint: %s: no tensor %q", sf.path, name)
	}
	es := int64(dtypeSize[info.DType])
	if n := (info.End - info.Begin) / es; n != int64(len(dst)) {
		return fmt.Errorf("checkpoint: %s: tensor %q has %d elements, destination %d", sf.path, name, n, len(dst))
	}
	off := sf.dataOff + info.Begin
	if info.DType == "F32" {
		b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*len(dst))
		if _, err := sf.f.ReadAt(b, off); err != nil {
			return fmt.Errorf("checkpoint: %s: reading %q: %v", sf.path, name, err)
		}
		if !littleEndian {
			for i := range dst {
				dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		}
		return nil
	}
	const chunk = 1 << 16
	buf := make([]byte, min(int64(len(dst))*es, chunk*es))
	for i := 0; i < len(dst); {
		k := min(len(dst)-i, len(buf)/int(es))
		b := buf[:k*int(es)]
		if _, err := sf.f.ReadAt(b, off+int64(i)*es); err != nil {
			return fmt.Errorf("checkpoint: %s: reading %q: %v", sf.path, name, err)
		}
		for j := 0; j < k; j++ {
			dst[i+j] = decode(info.DType, b[j*int(es):])
		}
		i += k
	}
	return nil
}

var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

func decode(dtype string, b []byte) float32 {
	switch dtype {
	case "F64":
		return float32(math.Float64frombits(binary.LittleEndian.Uint64(b)))
	case "F16":
		return f16ToF32(binary.LittleEndian.Uint16(b))
	case "BF16":
		return math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16)
	case "I64":
		return float32(int64(binary.LittleEndian.Uint64(b)))
	case "I32":
		return float32(int32(binary.LittleEndian.Uint32(b)))
	case "I16":
		return float32(int16(binary.LittleEndian.Uint16(b)))
	case "I8":
		return float32(int8(b[0]))
	case "U8", "BOOL":
		return float32(b[0])
	}
	panic("checkpoint: unreachable dtype " + dtype)
}

// f16ToF32 converts an IEEE half-precision value.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		for man&0x400 == 0 {
			man <<= 1
			exp--
		}
		exp++
		man &= 0x3ff
		return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
	case exp == 31:
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}

// ReadAll reads every tensor of a safetensors file as float32, by name
// (with its shape in the file's header). Use it for small files such as
// reference outputs; models load with LoadInto.
func ReadAll(path string) (map[string][]float32, error) {
	sf, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	out := make(map[string][]float32, len(sf.Tensors))
	for name, info := range sf.Tensors {
		buf := make([]float32, (info.End-info.Begin)/int64(dtypeSize[info.DType]))
		if err := sf.ReadInto(name, buf); err != nil {
			return nil, err
		}
		out[name] = buf
	}
	return out, nil
}

// WriteJSON writes v as indented JSON to path atomically (config.json).
func WriteJSON(path string, v any) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(js, '\n'))
		return err
	})
}

// ReadConfig decodes dir/config.json into v; errors name the file.
func ReadConfig(dir string, v any) error {
	path := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Tensor is one named tensor to write.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
	// DType is "F32" (default), "BF16" or "I64" (for integer buffers such as
	// num_batches_tracked).
	DType string
}

// WriteSafetensors writes tensors (in the given order) and metadata to path
// atomically.
func WriteSafetensors(path string, tensors []Tensor, metadata map[string]string) error {
	raw := make([]RawTensor, len(tensors))
	for i, t := range tensors {
		dt := t.DType
		if dt == "" {
			dt = "F32"
		}
		if dt != "F32" && dt != "BF16" && dt != "I64" {
			return fmt.Errorf("checkpoint: cannot write %q as %s", t.Name, dt)
		}
		n := int64(1)
		for _, d := range t.Shape {
			n *= int64(d)
		}
		if n != int64(len(t.Data)) {
			return fmt.Errorf("checkpoint: tensor %q: shape %v does not match %d values", t.Name, t.Shape, len(t.Data))
		}
		raw[i] = RawTensor{Name: t.Name, DType: dt, Shape: t.Shape, Size: n * int64(dtypeSize[dt])}
	}
	return WriteRaw(path, raw, metadata, func(w io.Writer) error {
		buf := make([]byte, 0, 1<<16)
		for _, t := range tensors {
			for _, v := range t.Data {
				switch t.DType {
				case "", "F32":
					buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
				case "BF16":
					buf = binary.LittleEndian.AppendUint16(buf, f32ToBF16(v))
				case "I64":
					buf = binary.LittleEndian.AppendUint64(buf, uint64(int64(v)))
				}
				if len(buf) >= 1<<16-8 {
					if _, err := w.Write(buf); err != nil {
						return err
					}
					buf = buf[:0]
				}
			}
		}
		_, err := w.Write(buf)
		return err
	})
}

// RawTensor is one tensor of a safetensors file written by WriteRaw: its
// name, dtype ("F32", "F16", "BF16", "F64", "I64", …), shape and size in
// bytes.
type RawTensor struct {
	Name, DType string
	Shape       []int
	Size        int64
}

// WriteRaw writes a safetensors file atomically: the header for tensors
// (data in the given order) and metadata, then what data writes, which
// must be each tensor's bytes in that order, little-endian.
func WriteRaw(path string, tensors []RawTensor, metadata map[string]string, data func(w io.Writer) error) error {
	hdr := map[string]any{}
	if len(metadata) > 0 {
		hdr["__metadata__"] = metadata
	}
	var off int64
	for _, t := range tensors {
		if _, dup := hdr[t.Name]; dup {
			return fmt.Errorf("checkpoint: tensor %q written twice", t.Name)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		hdr[t.Name] = map[string]any{"dtype": t.DType, "shape": shape, "data_offsets": []int64{off, off + t.Size}}
		off += t.Size
	}
	js, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	for len(js)%8 != 0 { // align the data section, as the reference writer does
		js = append(js, ' ')
	}
	return WriteAtomic(path, func(w io.Writer) error {
		var lb [8]byte
		binary.LittleEndian.PutUint64(lb[:], uint64(len(js)))
		if _, err := w.Write(lb[:]); err != nil {
			return err
		}
		if _, err := w.Write(js); err != nil {
			return err
		}
		return data(w)
	})
}

// f32ToBF16 rounds to nearest even.
func f32ToBF16(v float32) uint16 {
	b := math.Float32bits(v)
	if v != v {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// WriteAtomic writes a file through write into a temporary file in the same
// directory, syncs it and renames it over path, so readers see either the
// old file or the complete new one. The file is readable by everyone
// (mode 0644), as os.WriteFile would leave it under the usual umask.
func WriteAtomic(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := &bufWriter{f: tmp, buf: make([]byte, 0, 1<<20)}
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.flush(); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, e := os.Open(dir); e == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

type bufWriter struct {
	f   *os.File
	buf []byte
}

func (b *bufWriter) Write(p []byte) (int, error) {
	if len(b.buf)+len(p) > cap(b.buf) {
		if err := b.flush(); err != nil {
			return 0, err
		}
		if len(p) > cap(b.buf) {
			return b.f.Write(p)
		}
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *bufWriter) flush() error {
	_, err := b.f.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// LoadError lists every problem found while matching a file to a model.
type LoadError struct {
	Path     string
	Problems []string
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("checkpoint: %s does not fit the model (%d problems):\n  %s", e.Path, len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// ExpectedFor lists the tensors of ts (model parameters or buffers) for
// LoadInto, each under the file names names(tensor name) gives.
func ExpectedFor(ts []*tensor.Tensor[float32], names func(string) []string) []Expected {
	exp := make([]Expected, 0, len(ts))
	for _, t := range ts {
		exp = append(exp, Expected{Names: names(t.Name()), Shape: t.Shape(), Dst: t.Data})
	}
	return exp
}

// Expected is a tensor the model needs, with the file names it may have
// (the first is its canonical name; later ones are accepted aliases such as
// a "transformer." prefix).
type Expected struct {
	Names []string
	Shape []int
	Dst   []float32
}

// LoadInto reads every expected tensor into its destination and returns,
// for each, the name it had in the file. It checks
// presence, dtype and shape of all of them and reports every problem in one
// *LoadError, including tensors in the file that the model does not use
// (except names matching ignore). Nothing is partially loaded on error:
// destinations are written only after all checks pass.
func (sf *File) LoadInto(expected []Expected, ignore func(name string) bool) ([]string, error) {
	var problems []string
	used := map[string]bool{}
	found := make([]string, len(expected))
	for i, e := range expected {
		for _, n := range e.Names {
			if _, ok := sf.Tensors[n]; ok {
				found[i] = n
				break
			}
		}
		if found[i] == "" {
			problems = append(problems, fmt.Sprintf("missing tensor %q (expected %s %v)", e.Names[0], "float", e.Shape))
			continue
		}
		info := sf.Tensors[found[i]]
		used[found[i]] = true
		switch info.DType {
		case "F32", "F16", "BF16", "F64":
		default:
			if !strings.HasSuffix(found[i], "num_batches_tracked") {
				problems = append(problems, fmt.Sprintf("tensor %q: dtype %s, expected a float type (F32, F16, BF16)", found[i], info.DType))
			}
		}
		if !slices.Equal(info.Shape, e.Shape) && !(len(e.Shape) == 0 && len(info.Shape) == 1 && info.Shape[0] == 1) {
			problems = append(problems, fmt.Sprintf("tensor %q: shape %v, expected %v", found[i], info.Shape, e.Shape))
		}
	}
	for _, n := range sf.Names() {
		if !used[n] && (ignore == nil || !ignore(n)) {
			problems = append(problems, fmt.Sprintf("unexpected tensor %q (%s %v) is not part of the model", n, sf.Tensors[n].DType, sf.Tensors[n].Shape))
		}
	}
	if len(problems) > 0 {
		return nil, &LoadError{Path: sf.path, Problems: problems}
	}
	for i, e := range expected {
		if err := sf.ReadInto(found[i], e.Dst); err != nil {
			return nil, err
		}
	}
	return found, nil
}
