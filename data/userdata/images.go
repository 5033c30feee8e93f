package userdata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // image folders hold JPEG
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ImageFile is one image of an image folder and its class name.
type ImageFile struct {
	Path, Class string
}

// imageExts are the file extensions of images in a folder.
var imageExts = []string{".png", ".jpg", ".jpeg"}

// IsImage reports whether path has an image extension.
func IsImage(path string) bool {
	return slices.Contains(imageExts, strings.ToLower(filepath.Ext(path)))
}

// ImageFolder lists the images of DIR/<class>/*.png|*.jpg|*.jpeg, classes
// in sorted order and each class's images in sorted path order. Files that
// are not images are skipped; a folder without classes or a class without
// images is an error.
func ImageFolder(dir string) ([]ImageFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []ImageFile
	classes := 0
	for _, e := range ents { // ReadDir sorts by name
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		classes++
		files, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		n := 0
		for _, f := range files {
			if f.Type().IsRegular() && IsImage(f.Name()) {
				out = append(out, ImageFile{Path: filepath.Join(dir, e.Name(), f.Name()), Class: e.Name()})
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("%s: class folder %q holds no .png or .jpg images", dir, e.Name())
		}
	}
	if classes == 0 {
		return nil, fmt.Errorf("%s: no class folders: an image folder is DIR/<class>/*.png|*.jpg", dir)
	}
	return out, nil
}

// ImageFiles lists the images to predict on: the file itself, or every
// image under a directory (recursively) in sorted path order.
func ImageFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && IsImage(p) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no .png or .jpg images", path)
	}
	slices.Sort(out)
	return out, nil
}

// Preprocess turns a decoded image into a model's input: Channels (1:
// gray, 3: RGB) of Size×Size pixels, each value x/255 (Rescale, when not
// 0, replaces 1/255), then (x − Mean[c]) / Std[c] when Mean is set.
// Resize scales an image of another size bilinearly; without it, an image
// of another size is an error.
type Preprocess struct {
	Channels, Size int
	Resize         bool
	Rescale        float64
	Mean, Std      []float64
}

// ReadPreprocessorConfig reads a Hugging Face preprocessor_config.json
// (ViTImageProcessor's keys: do_resize, size, do_rescale, rescale_factor,
// do_normalize, image_mean, image_std) into p, keeping p's Channels. It
// reports false when dir has none.
func ReadPreprocessorConfig(dir string, p *Preprocess) (bool, error) {
	path := filepath.Join(dir, "preprocessor_config.json")
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var c struct {
		DoResize      *bool           `json:"do_resize"`
		Size          json.RawMessage `json:"size"`
		DoRescale     *bool           `json:"do_rescale"`
		RescaleFactor *float64        `json:"rescale_factor"`
		DoNormalize   *bool           `json:"do_normalize"`
		ImageMean     []float64       `json:"image_mean"`
		ImageStd      []float64       `json:"image_std"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return false, fmt.Errorf("%s: %v", path, err)
	}
	p.Resize = c.DoResize == nil || *c.DoResize
	if len(c.Size) > 0 {
		var n int
		var hw struct{ Height, Width, ShortestEdge int }
		if json.Unmarshal(c.Size, &n) == nil {
			p.Size = n
		} else if err := json.Unmarshal(c.Size, &hw); err == nil && hw.Height > 0 && hw.Height == hw.Width {
			p.Size = hw.Height
		} else {
			return false, fmt.Errorf("%s: size %s: tram needs square images ({\"height\": N, \"width\": N})", path, c.Size)
		}
	}
	p.Rescale = 1.0 / 255
	if c.DoRescale != nil && !*c.DoRescale {
		p.Rescale = 1
	} else if c.RescaleFactor != nil {
		p.Rescale = *c.RescaleFactor
	}
	p.Mean, p.Std = nil, nil
	if c.DoNormalize == nil || *c.DoNormalize {
		if len(c.ImageMean) != p.Channels || len(c.ImageStd) != p.Channels {
			return false, fmt.Errorf("%s: image_mean and image_std need %d values (one per channel), got %d and %d", path, p.Channels, len(c.ImageMean), len(c.ImageStd))
		}
		for _, s := range c.ImageStd {
			if !(s > 0) {
				return false, fmt.Errorf("%s: image_std %v: every value must be > 0", path, c.ImageStd)
			}
		}
		p.Mean, p.Std = c.ImageMean, c.ImageStd
	}
	return true, nil
}

// Load decodes the image at path and appends its Channels×Size×Size
// values to dst.
func (p Preprocess) Load(dst []float32, path string) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return dst, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return dst, fmt.Errorf("%s: unreadable image: %v", path, err)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w == 0 || h == 0 {
		return dst, fmt.Errorf("%s: empty image", path)
	}
	if (w != p.Size || h != p.Size) && !p.Resize {
		return dst, fmt.Errorf("%s: image is %d×%d; the model takes %d×%d images (all images must have its size)", path, w, h, p.Size, p.Size)
	}
	// Pixels as floats in [0, 255], channel-major.
	px := make([]float64, p.Channels*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := img.At(b.Min.X+x, b.Min.Y+y)
			if p.Channels == 1 {
				g := color.GrayModel.Convert(c).(color.Gray)
				px[y*w+x] = float64(g.Y)
				continue
			}
			r, gg, bb, _ := c.RGBA()
			px[y*w+x] = float64(r >> 8)
			px[w*h+y*w+x] = float64(gg >> 8)
			px[2*w*h+y*w+x] = float64(bb >> 8)
		}
	}
	scale := p.Rescale
	if scale == 0 {
		scale = 1.0 / 255
	}
	S := p.Size
	for c := 0; c < p.Channels; c++ {
		plane := px[c*w*h : (c+1)*w*h]
		for y := 0; y < S; y++ {
			for x := 0; x < S; x++ {
				var v float64
				if w == S && h == S {
					v = plane[y*w+x]
				} else {
					v = bilinear(plane, w, h, (float64(x)+0.5)*float64(w)/float64(S)-0.5, (float64(y)+0.5)*float64(h)/float64(S)-0.5)
				}
				v *= scale
				if p.Mean != nil {
					v = (v - p.Mean[c]) / p.Std[c]
				}
				dst = append(dst, float32(v))
			}
		}
	}
	return dst, nil
}

// bilinear samples plane (w×h) at (x, y), pixel centers at integers,
// clamped at the borders.
func bilinear(plane []float64, w, h int, x, y float64) float64 {
	x = math.Max(0, math.Min(x, float64(w-1)))
	y = math.Max(0, math.Min(y, float64(h-1)))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
	fx, fy := x-float64(x0), y-float64(y0)
	top := plane[y0*w+x0]*(1-fx) + plane[y0*w+x1]*fx
	bot := plane[y1*w+x0]*(1-fx) + plane[y1*w+x1]*fx
	return top*(1-fy) + bot*fy
}

// WriteImageFolder writes gray images (size×size bytes each, row-major)
// as PNG files DIR/<label>/<index>.png, index counting per label from 0
// in the order given: the image-folder layout ImageFolder reads.
func WriteImageFolder(dir string, images [][]uint8, labels []string, size int) error {
	if len(images) != len(labels) {
		return fmt.Errorf("WriteImageFolder: %d images, %d labels", len(images), len(labels))
	}
	count := map[string]int{}
	for i, px := range images {
		if len(px) != size*size {
			return fmt.Errorf("WriteImageFolder: image %d has %d pixels, want %d×%d", i, len(px), size, size)
		}
		sub := filepath.Join(dir, labels[i])
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		img := &image.Gray{Pix: px, Stride: size, Rect: image.Rect(0, 0, size, size)}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return err
		}
		name := filepath.Join(sub, fmt.Sprintf("%05d.png", count[labels[i]]))
		count[labels[i]]++
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
