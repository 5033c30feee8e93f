package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// rawFile builds a safetensors file from a header map and data bytes.
func rawFile(t testing.TB, hdr map[string]any, data []byte) string {
	js, _ := json.Marshal(hdr)
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(js)))
	b.Write(js)
	b.Write(data)
	p := filepath.Join(t.TempDir(), "m.safetensors")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadsF16BF16F32(t *testing.T) {
	vals := []float32{0, 1, -2.5, 0.333251953125, 65504, 6.1035156e-05, 5.9604645e-08}
	var f16, bf16, f32 []byte
	f16bits := []uint16{0x0000, 0x3c00, 0xc100, 0x3555, 0x7bff, 0x0400, 0x0001}
	for i, v := range vals {
		f16 = binary.LittleEndian.AppendUint16(f16, f16bits[i])
		bf16 = binary.LittleEndian.AppendUint16(bf16, uint16(math.Float32bits(v)>>16))
		f32 = binary.LittleEndian.AppendUint32(f32, math.Float32bits(v))
	}
	n := len(vals)
	data := append(append(append([]byte(nil), f16...), bf16...), f32...)
	p := rawFile(t, map[string]any{
		"a": map[string]any{"dtype": "F16", "shape": []int{n}, "data_offsets": []int{0, 2 * n}},
		"b": map[string]any{"dtype": "BF16", "shape": []int{n}, "data_offsets": []int{2 * n, 4 * n}},
		"c": map[string]any{"dtype": "F32", "shape": []int{n}, "data_offsets": []int{4 * n, 8 * n}},
	}, data)
	sf, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	for _, name := range []string{"a", "b", "c"} {
		got := make([]float32, n)
		if err := sf.ReadInto(name, got); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			want := v
			if name == "b" {
				want = math.Float32frombits(math.Float32bits(v) &^ 0xffff) // truncated to bf16
			}
			if got[i] != want {
				t.Errorf("%s[%d] = %v, want %v", name, i, got[i], want)
			}
		}
	}
}

// bf16Nearest rounds finite v to the nearest bfloat16, ties to even, by
// comparing the two neighbours in float64 (independently of the writer's
// bit trick); infinities stay.
func bf16Nearest(v float32) float32 {
	if math.IsInf(float64(v), 0) {
		return v
	}
	b := math.Float32bits(v)
	lo := math.Float32frombits(b &^ 0xffff)
	hi := math.Float32frombits(b&^0xffff + 0x10000) // next bf16 away from zero
	h := float64(hi)
	if math.IsInf(h, 0) { // overflow: IEEE rounds as if the exponent went on
		h = math.Copysign(math.Ldexp(1, 128), h)
	}
	dl, dh := math.Abs(float64(v)-float64(lo)), math.Abs(h-float64(v))
	switch {
	case dl < dh:
		return lo
	case dh < dl:
		return hi
	case b>>16&1 == 0:
		return lo
	}
	return hi
}

// TestWriteReadRoundTrip writes F32, BF16 and I64 tensors (sizes that
// cross the writer's and the reader's 64 KiB chunks, special values, an
// empty tensor and a scalar) and reads every element back: F32 bit for
// bit, BF16 as the nearest bfloat16 (ties to even), I64 exactly.
func TestWriteReadRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.safetensors")
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 0.5, 1e-3, -1e-3, math.MaxFloat32, -math.MaxFloat32,
		math.SmallestNonzeroFloat32, 1e-40, float32(math.Inf(1)), float32(math.Inf(-1)),
		1 + 1.0/256, 1 + 1.0/128 + 1.0/256, 1 + 1.0/256 + 1.0/65536, 3.14159265}
	big := make([]float32, 70007)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(20)-10)))
	}
	copy(big, special)
	ints := []float32{0, 1, -1, 7, -123456, 1 << 24, -(1 << 24)}
	ts := []Tensor{
		{Name: "w", Shape: []int{70007}, Data: big},
		{Name: "b", Shape: []int{7, 10001}, Data: big, DType: "BF16"},
		{Name: "s", Shape: []int{len(special)}, Data: special, DType: "BF16"},
		{Name: "n", Shape: []int{}, Data: []float32{7}, DType: "I64"},
		{Name: "i", Shape: []int{len(ints)}, Data: ints, DType: "I64"},
		{Name: "e", Shape: []int{0, 3}, Data: []float32{}},
	}
	if err := WriteSafetensors(p, ts, map[string]string{"format": "pt", "k": "v"}); err != nil {
		t.Fatal(err)
	}
	sf, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	if len(sf.Metadata) != 2 || sf.Metadata["format"] != "pt" || sf.Metadata["k"] != "v" {
		t.Fatalf("metadata %v", sf.Metadata)
	}
	if names := strings.Join(sf.Names(), ","); names != "b,e,i,n,s,w" {
		t.Fatalf("names %s", names)
	}
	all, err := ReadAll(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range ts {
		info := sf.Tensors[tt.Name]
		dt := tt.DType
		if dt == "" {
			dt = "F32"
		}
		if info.DType != dt || fmt.Sprint(info.Shape) != fmt.Sprint(tt.Shape) {
			t.Fatalf("%s: header dtype %s shape %v, wrote %s %v", tt.Name, info.DType, info.Shape, dt, tt.Shape)
		}
		got := make([]float32, len(tt.Data))
		if err := sf.ReadInto(tt.Name, got); err != nil {
			t.Fatalf("%s: %v", tt.Name, err)
		}
		for i, v := range tt.Data {
			want := v
			if dt == "BF16" {
				want = bf16Nearest(v)
			}
			if math.Float32bits(got[i]) != math.Float32bits(want) {
				t.Fatalf("%s[%d]: wrote %v (%s), read %v, want %v", tt.Name, i, v, dt, got[i], want)
			}
			if math.Float32bits(all[tt.Name][i]) != math.Float32bits(got[i]) {
				t.Fatalf("%s[%d]: ReadAll %v, ReadInto %v", tt.Name, i, all[tt.Name][i], got[i])
			}
		}
	}
	if err := sf.ReadInto("w", make([]float32, 5)); err == nil || !strings.Contains(err.Error(), "70007 elements, destination 5") {
		t.Fatalf("short destination: %v", err)
	}
	if err := sf.ReadInto("nope", nil); err == nil || !strings.Contains(err.Error(), `no tensor "nope"`) {
		t.Fatalf("missing tensor: %v", err)
	}
	for _, c := range []struct {
		ts   []Tensor
		want string
	}{
		{[]Tensor{{Name: "x", Shape: []int{2}, Data: []float32{1}}}, "does not match 1 values"},
		{[]Tensor{{Name: "x", Shape: []int{1}, Data: []float32{1}, DType: "F16"}}, "cannot write"},
		{[]Tensor{{Name: "x", Shape: []int{1}, Data: []float32{1}}, {Name: "x", Shape: []int{1}, Data: []float32{2}}}, "written twice"},
	} {
		if err := WriteSafetensors(p, c.ts, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("WriteSafetensors: error %v, want %q", err, c.want)
		}
	}
	// A failed write leaves the previous file intact.
	if again, err := ReadAll(p); err != nil || len(again) != len(ts) {
		t.Fatalf("file after failed writes: %d tensors, %v", len(again), err)
	}
}

func TestMalformedFilesGiveClearErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	huge := binary.LittleEndian.AppendUint64(nil, 1<<40)
	cases := []struct {
		name, want string
		path       string
	}{
		{"empty", "header length", write("empty", nil)},
		{"huge header", "exceeds the file", write("huge", huge)},
		{"not json", "not a JSON object", write("nj", append(binary.LittleEndian.AppendUint64(nil, 3), "abc"...))},
		{"bad dtype", `unknown dtype "Q8"`, rawFile(t, map[string]any{"x": map[string]any{"dtype": "Q8", "shape": []int{1}, "data_offsets": []int{0, 1}}}, []byte{0})},
		{"offsets", "do not match", rawFile(t, map[string]any{"x": map[string]any{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{0, 4}}}, make([]byte, 8))},
		{"past end", "do not match", rawFile(t, map[string]any{"x": map[string]any{"dtype": "F32", "shape": []int{4}, "data_offsets": []int{0, 16}}}, make([]byte, 8))},
		{"negative dim", "invalid shape", rawFile(t, map[string]any{"x": map[string]any{"dtype": "F32", "shape": []int{-1}, "data_offsets": []int{0, 0}}}, nil)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(c.path)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
				t.Fatalf("error %v should name the file and say %q", err, c.want)
			}
		})
	}
}

// FuzzOpen: no input may crash the reader; whatever opens must read back.
func FuzzOpen(f *testing.F) {
	var good bytes.Buffer
	js := []byte(`{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"a":"b"}}`)
	binary.Write(&good, binary.LittleEndian, uint64(len(js)))
	good.Write(js)
	good.Write([]byte{0, 60, 0, 192})
	f.Add(good.Bytes())
	f.Add([]byte{})
	f.Add(binary.LittleEndian.AppendUint64(nil, 2))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "f.safetensors")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Skip()
		}
		sf, err := Open(p)
		if err != nil {
			return
		}
		defer sf.Close()
		for name, info := range sf.Tensors {
			n := (info.End - info.Begin) / int64(DTypeSize(info.DType))
			if n > 1<<20 {
				continue
			}
			if err := sf.ReadInto(name, make([]float32, n)); err != nil {
				t.Fatalf("tensor %q opened but cannot be read: %v", name, err)
			}
		}
	})
}

// TestLoadMemory loads a 125M-parameter-sized F32 file (500 MB) into
// preallocated destinations: the reader itself must allocate almost
// nothing beyond the header (the destinations are the ~1× of the file).
func TestLoadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 500 MB file")
	}
	const n = 125_000_000
	p := filepath.Join(t.TempDir(), "big.safetensors")
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(i % 977)
	}
	if err := WriteSafetensors(p, []Tensor{{Name: "a", Shape: []int{n / 5}, Data: data[:n/5]}, {Name: "b", Shape: []int{n - n/5}, Data: data[n/5:]}}, nil); err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, n)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sf, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	found, err := sf.LoadInto([]Expected{{Names: []string{"a"}, Shape: []int{n / 5}, Dst: dst[:n/5]}, {Names: []string{"b"}, Shape: []int{n - n/5}, Dst: dst[n/5:]}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sf.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if strings.Join(found, ",") != "a,b" {
		t.Fatalf("loaded names %v", found)
	}
	if extra := after.TotalAlloc - before.TotalAlloc; extra > 4<<20 {
		t.Fatalf("loading allocated %d MB beyond the destination", extra>>20)
	}
	for i, v := range dst {
		if v != float32(i%977) {
			t.Fatalf("element %d: %v, want %v", i, v, float32(i%977))
		}
	}
}

func BenchmarkLoad125M(b *testing.B) {
	const n = 125_000_000
	p := filepath.Join(b.TempDir(), "big.safetensors")
	if err := WriteSafetensors(p, []Tensor{{Name: "a", Shape: []int{n}, Data: make([]float32, n)}}, nil); err != nil {
		b.Fatal(err)
	}
	dst := make([]float32, n)
	b.SetBytes(4 * n)
	for b.Loop() {
		sf, err := Open(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sf.LoadInto([]Expected{{Names: []string{"a"}, Shape: []int{n}, Dst: dst}}, nil); err != nil {
			b.Fatal(err)
		}
		sf.Close()
	}
}
