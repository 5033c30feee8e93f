package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
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

func TestWriteReadRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.safetensors")
	ts := []Tensor{
		{Name: "w", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "b", Shape: []int{3}, Data: []float32{-1, 0.5, 1e-3}, DType: "BF16"},
		{Name: "n", Shape: []int{}, Data: []float32{7}, DType: "I64"},
	}
	if err := WriteSafetensors(p, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	sf, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	if sf.Metadata["format"] != "pt" || sf.Tensors["b"].DType != "BF16" || sf.Tensors["n"].DType != "I64" {
		t.Fatalf("header %+v %+v", sf.Metadata, sf.Tensors)
	}
	got := make([]float32, 6)
	sf.ReadInto("w", got)
	if got[5] != 6 {
		t.Fatalf("w = %v", got)
	}
	b := make([]float32, 3)
	sf.ReadInto("b", b)
	if b[0] != -1 || b[1] != 0.5 || math.Abs(float64(b[2])-1e-3) > 1e-5 {
		t.Fatalf("bf16 round trip %v", b)
	}
	if err := WriteSafetensors(p, []Tensor{{Name: "x", Shape: []int{2}, Data: []float32{1}}}, nil); err == nil {
		t.Fatal("shape/data mismatch accepted")
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
	if _, err := sf.LoadInto([]Expected{{Names: []string{"a"}, Shape: []int{n / 5}, Dst: dst[:n/5]}, {Names: []string{"b"}, Shape: []int{n - n/5}, Dst: dst[n/5:]}}, nil); err != nil {
		t.Fatal(err)
	}
	sf.Close()
	runtime.ReadMemStats(&after)
	if extra := after.TotalAlloc - before.TotalAlloc; extra > 4<<20 {
		t.Fatalf("loading allocated %d MB beyond the destination", extra>>20)
	}
	if dst[n-1] != float32((n-1)%977) {
		t.Fatal("wrong data")
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
