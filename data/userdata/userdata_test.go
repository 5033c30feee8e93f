package userdata

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadTexts(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, file, content string
		cols                Columns
		want                []TextExample
	}{
		{"jsonl strings", "a.jsonl", "{\"text\": \"good\", \"label\": \"pos\"}\n\n{\"text\": \"bad\", \"label\": \"neg\"}\n", Columns{},
			[]TextExample{{Text: "good", Label: "pos", Line: 1}, {Text: "bad", Label: "neg", Line: 3}}},
		{"jsonl integer labels", "b.jsonl", `{"sentence": "x", "y": 2}` + "\n" + `{"sentence": "z", "y": 10.0}`, Columns{Text: "sentence", Label: "y"},
			[]TextExample{{Text: "x", Label: "2", Line: 1}, {Text: "z", Label: "10", Line: 2}}},
		{"jsonl pairs", "c.json", `{"premise": "a", "hypothesis": "b", "label": 0}`, Columns{Text: "premise", Pair: "hypothesis"},
			[]TextExample{{Text: "a", Pair: "b", Label: "0", Line: 1}}},
		{"csv quoted", "d.csv", "\ufefflabel,text\npos,\"good, really\"\nneg,\"two\nlines\"\n01,x\n", Columns{},
			[]TextExample{{Text: "good, really", Label: "pos", Line: 2}, {Text: "two\nlines", Label: "neg", Line: 3}, {Text: "x", Label: "1", Line: 5}}},
		{"tsv", "e.tsv", "text\tlabel\nhello\tgreeting\n", Columns{},
			[]TextExample{{Text: "hello", Label: "greeting", Line: 2}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadTexts(write(t, dir, c.file, c.content), c.cols, true)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestReadTextsErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, file, content string
		needLabel           bool
		want                string // substring of the error
	}{
		{"missing text", "a.jsonl", `{"txt": "a", "label": 1}`, true, `a.jsonl:1: missing column "text" (the keys are "label", "txt"`},
		{"missing label", "b.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"}", true, `b.jsonl:2: missing label column "label"`},
		{"fractional label", "c.jsonl", `{"text": "a", "label": 1.5}`, true, `c.jsonl:1: label column "label" is 1.5`},
		{"not an object", "d.jsonl", `{"text": "a", "label": 1}` + "\n[1, 2]", true, "d.jsonl:2: not a JSON object"},
		{"text not a string", "e.jsonl", `{"text": 3, "label": 1}`, true, `e.jsonl:1: column "text" is 3, not a string`},
		{"empty jsonl", "f.jsonl", "\n\n", true, "f.jsonl: no examples (the file is empty)"},
		{"empty csv", "g.csv", "", true, "g.csv: no examples"},
		{"csv header only", "h.csv", "text,label\n", true, "h.csv: no examples"},
		{"csv missing column", "i.csv", "sentence,label\nx,1\n", true, `i.csv:1: missing column "text" (the header has "sentence", "label")`},
		{"csv empty label", "j.csv", "text,label\nx,1\ny,\n", true, `j.csv:3: label column "label" is empty`},
		{"csv ragged", "k.csv", "text,label\nx,1,2\n", true, "k.csv: record on line 2: wrong number of fields"},
		{"unknown format", "l.xml", "<a/>", true, `l.xml: unknown format ".xml"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadTexts(write(t, dir, c.file, c.content), Columns{}, c.needLabel)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	// Without needLabel a file with no label column reads.
	got, err := ReadTexts(write(t, dir, "m.jsonl", `{"text": "a"}`), Columns{}, false)
	if err != nil || len(got) != 1 || got[0].Label != "" {
		t.Errorf("unlabelled: %+v, %v", got, err)
	}
}

func TestLabels(t *testing.T) {
	for _, c := range []struct {
		in, want []string
	}{
		{[]string{"10", "2", "1", "2"}, []string{"1", "2", "10"}},
		{[]string{"pos", "neg", "neutral", "neg"}, []string{"neg", "neutral", "pos"}},
		{[]string{"10", "2", "x"}, []string{"10", "2", "x"}},
		{[]string{"-1", "1", "0"}, []string{"-1", "0", "1"}},
	} {
		got, err := LabelSet("f", c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("LabelSet(%v) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	if _, err := LabelSet("train.csv", []string{"a", "a"}); err == nil || !strings.Contains(err.Error(), `train.csv: only one class ("a")`) {
		t.Errorf("one class: %v", err)
	}
	ex := []TextExample{{Label: "a", Line: 2}, {Label: "c", Line: 7}}
	if _, err := LabelIndex("test.csv", ex, []string{"a", "b"}); err == nil || !strings.Contains(err.Error(), `test.csv:7: label "c" is not one the model knows ("a", "b")`) {
		t.Errorf("unseen label: %v", err)
	}
}

func TestParseNamed(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Named
		ok   bool
	}{
		{"shifted=data/test.csv", Named{"shifted", "data/test.csv"}, true},
		{"data/test-fr.jsonl", Named{"test-fr", "data/test-fr.jsonl"}, true},
		{"imgs/bold/", Named{"bold", "imgs/bold/"}, true},
		{"=x", Named{}, false},
		{"a=", Named{}, false},
		{"", Named{}, false},
	} {
		got, err := ParseNamed(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseNamed(%q) = %v, %v", c.in, got, err)
		}
	}
	var l NamedList
	if err := l.Set("a=x"); err != nil {
		t.Fatal(err)
	}
	if err := l.Set("a=y"); err == nil {
		t.Error("a duplicate name was accepted")
	}
	if l.String() != "a=x" {
		t.Errorf("String() = %q", l.String())
	}
}

func TestReadDocuments(t *testing.T) {
	dir := t.TempDir()
	got, err := ReadDocuments(write(t, dir, "a.txt", "first line\r\n\n  \nsecond\n"), "")
	if err != nil || !slices.Equal(got, []string{"first line", "second"}) {
		t.Errorf("txt: %q, %v", got, err)
	}
	got, err = ReadDocuments(write(t, dir, "b.jsonl", `{"text": "x"}`+"\n"+`{"text": "y", "id": 3}`), "")
	if err != nil || !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("jsonl: %q, %v", got, err)
	}
	for name, content := range map[string]string{"c.txt": "\n \n", "d.jsonl": `{"body": "x"}`, "e.pdf": "x"} {
		if _, err := ReadDocuments(write(t, dir, name, content), ""); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name the file", name, err)
		}
	}
	if !HasTokenIDs(write(t, dir, "f.jsonl", `{"input_ids": [1, 2]}`)) || HasTokenIDs(write(t, dir, "g.jsonl", `{"text": "a"}`)) {
		t.Error("HasTokenIDs")
	}
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func TestImageFolder(t *testing.T) {
	dir := t.TempDir()
	images := [][]uint8{make([]uint8, 4), {0, 255, 255, 0}, {255, 255, 255, 255}}
	if err := WriteImageFolder(dir, images, []string{"b", "a", "b"}, 2); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "b/notes.txt", "not an image")
	files, err := ImageFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []ImageFile{{filepath.Join(dir, "a/00000.png"), "a"}, {filepath.Join(dir, "b/00000.png"), "b"}, {filepath.Join(dir, "b/00001.png"), "b"}}
	if !slices.Equal(files, want) {
		t.Fatalf("ImageFolder = %v, want %v", files, want)
	}
	gray := Preprocess{Channels: 1, Size: 2}
	x, err := gray.Load(nil, files[0].Path)
	if err != nil || !slices.Equal(x, []float32{0, 1, 1, 0}) {
		t.Errorf("gray: %v, %v", x, err)
	}
	rgb := Preprocess{Channels: 3, Size: 2, Mean: []float64{0.5, 0.5, 0.5}, Std: []float64{0.5, 0.5, 0.5}}
	if x, err = rgb.Load(nil, files[0].Path); err != nil || !slices.Equal(x, []float32{-1, 1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1}) {
		t.Errorf("rgb: %v, %v", x, err)
	}
	// Another size is an error unless the model resizes.
	if _, err := (Preprocess{Channels: 1, Size: 4}).Load(nil, files[0].Path); err == nil || !strings.Contains(err.Error(), "image is 2×2; the model takes 4×4") {
		t.Errorf("size mismatch: %v", err)
	}
	up, err := (Preprocess{Channels: 1, Size: 4, Resize: true}).Load(nil, files[2].Path)
	if err != nil || len(up) != 16 || up[5] != 1 {
		t.Errorf("resize: %v, %v", up, err)
	}
	// Truncated and unreadable images name the file.
	raw, _ := os.ReadFile(files[1].Path)
	bad := write(t, dir, "c/bad.png", string(raw[:len(raw)/2]))
	if _, err := gray.Load(nil, bad); err == nil || !strings.Contains(err.Error(), "bad.png: unreadable image") {
		t.Errorf("truncated: %v", err)
	}
	// A colour image is converted to gray.
	c := image.NewRGBA(image.Rect(0, 0, 2, 2))
	c.Set(0, 0, color.RGBA{255, 255, 255, 255})
	writePNG(t, filepath.Join(dir, "d/c.png"), c)
	if x, err := gray.Load(nil, filepath.Join(dir, "d/c.png")); err != nil || x[0] != 1 || x[1] != 0 {
		t.Errorf("colour to gray: %v, %v", x, err)
	}
	empty := t.TempDir()
	if _, err := ImageFolder(empty); err == nil || !strings.Contains(err.Error(), "no class folders") {
		t.Errorf("empty folder: %v", err)
	}
	os.Mkdir(filepath.Join(empty, "cat"), 0o755)
	if _, err := ImageFolder(empty); err == nil || !strings.Contains(err.Error(), `class folder "cat" holds no .png or .jpg images`) {
		t.Errorf("empty class: %v", err)
	}
}

func TestReadPreprocessorConfig(t *testing.T) {
	dir := t.TempDir()
	p := Preprocess{Channels: 3}
	if ok, err := ReadPreprocessorConfig(dir, &p); ok || err != nil {
		t.Fatalf("none: %v, %v", ok, err)
	}
	write(t, dir, "preprocessor_config.json", `{"do_normalize": true, "do_rescale": true, "do_resize": true,
		"image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.5, 0.5], "resample": 2,
		"rescale_factor": 0.00392156862745098, "size": {"height": 8, "width": 8}}`)
	if ok, err := ReadPreprocessorConfig(dir, &p); !ok || err != nil {
		t.Fatalf("read: %v, %v", ok, err)
	}
	if p.Size != 8 || !p.Resize || p.Std[0] != 0.25 || p.Rescale != 0.00392156862745098 {
		t.Errorf("got %+v", p)
	}
	write(t, dir, "preprocessor_config.json", `{"image_mean": [0.5], "image_std": [0.5], "size": 8}`)
	if _, err := ReadPreprocessorConfig(dir, &p); err == nil || !strings.Contains(err.Error(), "need 3 values") {
		t.Errorf("wrong channel count: %v", err)
	}
}
