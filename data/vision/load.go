package vision

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Index describes a built DigitShift directory (index.json).
type Index struct {
	Format  int       `json:"format"`
	Width   int       `json:"width"`
	Height  int       `json:"height"`
	Classes string    `json:"classes"` // class i is the character Classes[i]
	Sets    []SetInfo `json:"sets"`
}

// SetInfo describes one set.
type SetInfo struct {
	Name        string   `json:"name"`   // e.g. "digits-script-test"; files NAME.images, NAME.labels, NAME.groups
	Domain      string   `json:"domain"` // print, script, segment, blackletter, hershey, uci or opencv
	Split       string   `json:"split"`  // train, val or test
	Count       int      `json:"count"`
	Groups      []string `json:"groups"`       // face or source names indexed by NAME.groups
	ClassCounts []int    `json:"class_counts"` // images per class
}

// A Set is a loaded set of images.
type Set struct {
	SetInfo
	Images []uint8  // Count×784, row-major 28×28 images
	Labels []uint8  // class index per image
	Group  []uint16 // index into Groups per image
}

// Image returns the 784 pixels of image i.
func (s *Set) Image(i int) []uint8 { return s.Images[i*Pixels : (i+1)*Pixels] }

// ReadIndex reads dir/index.json.
func ReadIndex(dir string) (*Index, error) {
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("vision: %w (build it with \"tram data build vision\")", err)
	}
	var idx Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("vision: %s: %w", filepath.Join(dir, "index.json"), err)
	}
	return &idx, nil
}

// Load reads the set named name (for example "pretrain-train" or
// "digits-hershey-test") from a built DigitShift directory.
func Load(dir, name string) (*Set, error) {
	idx, err := ReadIndex(dir)
	if err != nil {
		return nil, err
	}
	for _, info := range idx.Sets {
		if info.Name != name {
			continue
		}
		s := &Set{SetInfo: info}
		read := func(ext string, want int) ([]byte, error) {
			p := filepath.Join(dir, name+ext)
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("vision: %w", err)
			}
			if len(b) != want {
				return nil, fmt.Errorf("vision: %s has %d bytes, want %d", p, len(b), want)
			}
			return b, nil
		}
		if s.Images, err = read(".images", info.Count*Pixels); err != nil {
			return nil, err
		}
		if s.Labels, err = read(".labels", info.Count); err != nil {
			return nil, err
		}
		g, err := read(".groups", 2*info.Count)
		if err != nil {
			return nil, err
		}
		s.Group = make([]uint16, info.Count)
		for i := range s.Group {
			s.Group[i] = binary.LittleEndian.Uint16(g[2*i:])
			if int(s.Group[i]) >= len(info.Groups) {
				return nil, fmt.Errorf("vision: %s.groups: image %d names group %d of %d", name, i, s.Group[i], len(info.Groups))
			}
		}
		for i, l := range s.Labels {
			if int(l) >= len(idx.Classes) {
				return nil, fmt.Errorf("vision: %s.labels: image %d has class %d of %d", name, i, l, len(idx.Classes))
			}
		}
		return s, nil
	}
	return nil, fmt.Errorf("vision: no set %q in %s", name, dir)
}

// LoadDomain loads the digit set of a domain and split ("train" or "test").
func LoadDomain(dir, domain, split string) (*Set, error) {
	return Load(dir, "digits-"+domain+"-"+split)
}

// Floats returns all images as float32 in [0, 1] (pixel/255), Count×784,
// ready for a network's input.
func (s *Set) Floats() []float32 {
	out := make([]float32, len(s.Images))
	for i, v := range s.Images {
		out[i] = float32(v) / 255
	}
	return out
}
