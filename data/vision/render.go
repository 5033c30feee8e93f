package vision

import (
	"image"
	"math"
	"math/rand/v2"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"

	"github.com/tramlab/tram/data/hershey"
)

// Image geometry, MNIST convention: the ink fits a 20×20 box whose centre
// of mass sits at the centre of a 28×28 image; 0 is background, 255 ink.
const (
	Size    = 28
	Pixels  = Size * Size
	box     = 20
	canvas  = 64 // intermediate raster
	fitSide = 52 // longest side of a shape on the canvas
)

type pt struct{ x, y float64 }

// A shape is a glyph to draw: filled outlines (fonts) or pen strokes
// (Hershey), in arbitrary units with y growing downwards.
type shape struct {
	contours [][]pt // closed, filled with the non-zero rule
	strokes  [][]pt // open polylines
}

// aug is one random distortion.
type aug struct {
	rot, shear, sx, sy float64
	thick              int     // dilation (>0) or erosion (<0) steps on the canvas
	strokeW            float64 // stroke width on the canvas, for strokes
	noise              float64 // Gaussian noise σ on the [0,1] scale
}

// clean is the undistorted rendering.
var clean = aug{sx: 1, sy: 1, strokeW: 5.5}

func randomAug(r *rand.Rand) aug {
	a := aug{
		rot:     (r.Float64()*2 - 1) * 12 * math.Pi / 180,
		shear:   (r.Float64()*2 - 1) * 0.25,
		sx:      0.85 + 0.3*r.Float64(),
		sy:      0.85 + 0.3*r.Float64(),
		thick:   []int{-1, 0, 0, 1, 2}[r.IntN(5)],
		strokeW: 3.5 + 5*r.Float64(),
	}
	if r.IntN(2) == 0 {
		a.noise = 0.12 * r.Float64()
	}
	return a
}

// glyphShape loads the outline of glyph gi of f, flattening curves.
func glyphShape(f *sfnt.Font, buf *sfnt.Buffer, gi sfnt.GlyphIndex) (shape, error) {
	segs, err := f.LoadGlyph(buf, gi, fixed.I(256), nil)
	if err != nil {
		return shape{}, err
	}
	var s shape
	var cur []pt
	var last pt
	p := func(v fixed.Point26_6) pt { return pt{float64(v.X) / 64, float64(v.Y) / 64} }
	const steps = 8
	for _, sg := range segs {
		switch sg.Op {
		case sfnt.SegmentOpMoveTo:
			if len(cur) > 1 {
				s.contours = append(s.contours, cur)
			}
			last = p(sg.Args[0])
			cur = []pt{last}
		case sfnt.SegmentOpLineTo:
			last = p(sg.Args[0])
			cur = append(cur, last)
		case sfnt.SegmentOpQuadTo:
			c, e := p(sg.Args[0]), p(sg.Args[1])
			for i := 1; i <= steps; i++ {
				t := float64(i) / steps
				u := 1 - t
				cur = append(cur, pt{u*u*last.x + 2*u*t*c.x + t*t*e.x, u*u*last.y + 2*u*t*c.y + t*t*e.y})
			}
			last = e
		case sfnt.SegmentOpCubeTo:
			c1, c2, e := p(sg.Args[0]), p(sg.Args[1]), p(sg.Args[2])
			for i := 1; i <= steps; i++ {
				t := float64(i) / steps
				u := 1 - t
				cur = append(cur, pt{
					u*u*u*last.x + 3*u*u*t*c1.x + 3*u*t*t*c2.x + t*t*t*e.x,
					u*u*u*last.y + 3*u*u*t*c1.y + 3*u*t*t*c2.y + t*t*t*e.y})
			}
			last = e
		}
	}
	if len(cur) > 1 {
		s.contours = append(s.contours, cur)
	}
	return s, nil
}

func hersheyShape(g hershey.Glyph) shape {
	var s shape
	for _, st := range g.Strokes {
		var c []pt
		for _, q := range st {
			c = append(c, pt{q.X, q.Y})
		}
		s.strokes = append(s.strokes, c)
	}
	return s
}

// render draws s with distortion a into a 28×28 image; ok is false when
// nothing visible is left.
func render(s shape, a aug, r *rand.Rand) (img [Pixels]uint8, ok bool) {
	cos, sin := math.Cos(a.rot), math.Sin(a.rot)
	tf := func(q pt) pt {
		x, y := (q.x+a.shear*q.y)*a.sx, q.y*a.sy
		return pt{cos*x - sin*y, sin*x + cos*y}
	}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	var cs, ss [][]pt
	for _, group := range []struct {
		in  [][]pt
		out *[][]pt
	}{{s.contours, &cs}, {s.strokes, &ss}} {
		for _, c := range group.in {
			t := make([]pt, len(c))
			for i, q := range c {
				t[i] = tf(q)
				minX, maxX = math.Min(minX, t[i].x), math.Max(maxX, t[i].x)
				minY, maxY = math.Min(minY, t[i].y), math.Max(maxY, t[i].y)
			}
			*group.out = append(*group.out, t)
		}
	}
	w, h := maxX-minX, maxY-minY
	if !(w > 0 || h > 0) {
		return img, false
	}
	margin := 0.0
	if len(ss) > 0 {
		margin = a.strokeW
	}
	scale := (fitSide - margin) / math.Max(w, h)
	ox := canvas/2 - (minX+maxX)/2*scale
	oy := canvas/2 - (minY+maxY)/2*scale
	toCanvas := func(q pt) pt { return pt{q.x*scale + ox, q.y*scale + oy} }
	cov := make([]float32, canvas*canvas)
	if len(cs) > 0 {
		z := vector.NewRasterizer(canvas, canvas)
		for _, c := range cs {
			q := toCanvas(c[0])
			z.MoveTo(float32(q.x), float32(q.y))
			for _, v := range c[1:] {
				q = toCanvas(v)
				z.LineTo(float32(q.x), float32(q.y))
			}
			z.ClosePath()
		}
		dst := image.NewAlpha(image.Rect(0, 0, canvas, canvas))
		z.Draw(dst, dst.Bounds(), image.Opaque, image.Point{})
		for i, v := range dst.Pix {
			cov[i] = float32(v) / 255
		}
	}
	if len(ss) > 0 {
		var strokes [][]hershey.Point
		for _, c := range ss {
			var st []hershey.Point
			for _, v := range c {
				q := toCanvas(v)
				st = append(st, hershey.Point{X: q.x, Y: q.y})
			}
			strokes = append(strokes, st)
		}
		sc := hershey.Rasterize(strokes, a.strokeW, canvas, canvas)
		for i, v := range sc {
			cov[i] = max(cov[i], v)
		}
	}
	if len(cs) > 0 && a.thick != 0 {
		thicken(cov, a.thick)
	}
	return finish(cov, canvas, canvas, a.noise, r)
}

// thicken dilates (n > 0) or erodes (n < 0) the coverage with a 3×3 window
// |n| times; an erosion that would remove most ink is skipped.
func thicken(cov []float32, n int) {
	ink := func(c []float32) (s float32) {
		for _, v := range c {
			s += v
		}
		return
	}
	before := ink(cov)
	tmp := make([]float32, len(cov))
	for k := 0; k < max(n, -n); k++ {
		for y := 0; y < canvas; y++ {
			for x := 0; x < canvas; x++ {
				v := cov[y*canvas+x]
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						xx, yy := x+dx, y+dy
						var u float32
						if xx >= 0 && yy >= 0 && xx < canvas && yy < canvas {
							u = cov[yy*canvas+xx]
						}
						if n > 0 {
							v = max(v, u)
						} else {
							v = min(v, u)
						}
					}
				}
				tmp[y*canvas+x] = v
			}
		}
		if n < 0 && ink(tmp) < 0.4*before {
			return
		}
		copy(cov, tmp)
	}
}

// finish crops the ink of a w×h coverage image, fits it into the 20×20 box
// preserving its aspect, centres its centre of mass in 28×28, adds noise and
// quantizes.
func finish(cov []float32, w, h int, noise float64, r *rand.Rand) (img [Pixels]uint8, ok bool) {
	x0, y0, x1, y1 := w, h, -1, -1
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if cov[y*w+x] > 0.1 {
				x0, x1 = min(x0, x), max(x1, x)
				y0, y1 = min(y0, y), max(y1, y)
			}
		}
	}
	if x1 < 0 {
		return img, false
	}
	cw, ch := float64(x1-x0+1), float64(y1-y0+1)
	s := box / math.Max(cw, ch)
	ow, oh := max(1, int(math.Round(cw*s))), max(1, int(math.Round(ch*s)))
	small := make([]float64, ow*oh)
	// Box-filter resampling by 4×4 supersampling with bilinear lookups.
	at := func(x, y float64) float64 {
		x -= 0.5
		y -= 0.5
		xi, yi := int(math.Floor(x)), int(math.Floor(y))
		fx, fy := x-float64(xi), y-float64(yi)
		get := func(xx, yy int) float64 {
			if xx < 0 || yy < 0 || xx >= w || yy >= h {
				return 0
			}
			return float64(cov[yy*w+xx])
		}
		return (1-fy)*((1-fx)*get(xi, yi)+fx*get(xi+1, yi)) + fy*((1-fx)*get(xi, yi+1)+fx*get(xi+1, yi+1))
	}
	const ss = 4
	sx, sy := cw/float64(ow), ch/float64(oh)
	var mass, mx, my float64
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			var acc float64
			for j := 0; j < ss; j++ {
				for i := 0; i < ss; i++ {
					acc += at(float64(x0)+(float64(ox)+(float64(i)+0.5)/ss)*sx, float64(y0)+(float64(oy)+(float64(j)+0.5)/ss)*sy)
				}
			}
			v := acc / (ss * ss)
			small[oy*ow+ox] = v
			mass += v
			mx += v * (float64(ox) + 0.5)
			my += v * (float64(oy) + 0.5)
		}
	}
	if mass <= 0 {
		return img, false
	}
	dx := int(math.Round(Size/2 - mx/mass))
	dy := int(math.Round(Size/2 - my/mass))
	dx = min(max(dx, 0), Size-ow)
	dy = min(max(dy, 0), Size-oh)
	var f [Pixels]float64
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			f[(y+dy)*Size+x+dx] = small[y*ow+x]
		}
	}
	for i, v := range f {
		if noise > 0 {
			v += r.NormFloat64() * noise
		}
		img[i] = uint8(math.Round(255 * math.Min(math.Max(v, 0), 1)))
	}
	return img, true
}

// upscale bilinearly resizes a w×h image to canvas×canvas, for the real
// handwriting sources.
func upscale(src []float32, w, h int) []float32 {
	out := make([]float32, canvas*canvas)
	for y := 0; y < canvas; y++ {
		for x := 0; x < canvas; x++ {
			fx := (float64(x)+0.5)*float64(w)/canvas - 0.5
			fy := (float64(y)+0.5)*float64(h)/canvas - 0.5
			xi, yi := int(math.Floor(fx)), int(math.Floor(fy))
			ax, ay := fx-float64(xi), fy-float64(yi)
			get := func(xx, yy int) float64 {
				xx = min(max(xx, 0), w-1)
				yy = min(max(yy, 0), h-1)
				return float64(src[yy*w+xx])
			}
			out[y*canvas+x] = float32((1-ay)*((1-ax)*get(xi, yi)+ax*get(xi+1, yi)) + ay*((1-ax)*get(xi, yi+1)+ax*get(xi+1, yi+1)))
		}
	}
	return out
}
