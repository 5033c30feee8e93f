package family

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tramlab/tram/checkpoint"
	datavision "github.com/tramlab/tram/data/vision"
	"github.com/tramlab/tram/eval"
	"github.com/tramlab/tram/models/vision"
	"github.com/tramlab/tram/train"
)

// DigitLabels are the ten classes of the digit domains.
var DigitLabels = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// visionValidEvery: the digit domains ship train and test only, so the
// validation set is carved out of train: the images of every 10th face
// (group) when the domain has at least 10, so that validation measures
// unseen faces as the test split does; otherwise every 10th image.
const visionValidEvery = 10

// LoadImages loads a DigitShift set as float pixels in [0, 1].
func LoadImages(dir, name string) (*train.Images, error) {
	im, _, err := loadImagesGroups(dir, name)
	return im, err
}

// loadImagesGroups also returns each image's group (face or source) index
// and the number of groups.
func loadImagesGroups(dir, name string) (*train.Images, []uint16, error) {
	s, err := datavision.Load(dir, name)
	if err != nil {
		return nil, nil, err
	}
	out := &train.Images{Channels: 1, Size: datavision.Size, X: s.Floats(), Y: make([]int32, len(s.Labels))}
	for i, l := range s.Labels {
		out.Y[i] = int32(l)
	}
	if len(s.Groups) < visionValidEvery {
		return out, nil, nil
	}
	return out, s.Group, nil
}

// splitValid separates the validation set from the rest: the examples of
// every k-th group when groups is not nil, else every k-th example.
func splitValid(n, k int, groups []uint16) (trainIdx, validIdx []int) {
	for i := 0; i < n; i++ {
		key := i
		if groups != nil {
			key = int(groups[i])
		}
		if key%k == k-1 {
			validIdx = append(validIdx, i)
		} else {
			trainIdx = append(trainIdx, i)
		}
	}
	return trainIdx, validIdx
}

func openVision(dir string, o Options) (*Setup, error) {
	dd, err := dataDir(o.Data, "vision")
	if err != nil {
		return nil, err
	}
	valid, err := digitDomains(dd)
	if err != nil {
		return nil, err
	}
	if err := checkDomain("vision", o.Domain, valid); err != nil {
		return nil, err
	}
	all, groups, err := loadImagesGroups(dd, "digits-"+o.Domain+"-train")
	if err != nil {
		return nil, err
	}
	ti, vi := splitValid(all.N(), visionValidEvery, groups)
	tr, va := all.Subset(ti), all.Subset(vi)
	if o.ValidMax > 0 && va.N() > o.ValidMax {
		va = va.Subset(seqRange(0, o.ValidMax))
	}
	var cfg vision.Config
	if err := checkpoint.ReadConfig(dir, &cfg); err != nil {
		return nil, err
	}
	old := cfg.NumClasses
	cfg.NumClasses, cfg.SpectralHead = len(DigitLabels), o.SpectralHead
	m, err := vision.New(cfg, o.Seed)
	if err != nil {
		return nil, err
	}
	s := &Setup{Family: "vision", Domain: o.Domain, Model: m, Labels: DigitLabels, TrainSize: tr.N(), Dropout: map[string]float64{}}
	isHead := func(n string) bool { return len(n) >= 3 && n[:3] == "fc." }
	unused, err := transplant(dir, m, func(n string) []string { return []string{n} }, isHead)
	if err != nil {
		return nil, err
	}
	if o.Head == "pretrained-rows" {
		if err := pretrainedRows(dir, m, old); err != nil {
			return nil, err
		}
		s.Notices = append(s.Notices, fmt.Sprintf("head: the pretrained %d-way head's rows of the digits 0-9 (%d tensors)", old, len(unused)))
	} else if len(unused) > 0 {
		s.Notices = append(s.Notices, fmt.Sprintf("head: the pretrained %d-way head was dropped; a new %d-way head is initialized from seed %d", old, len(DigitLabels), o.Seed))
	}
	if o.Dropout != nil && *o.Dropout > 0 {
		s.Notices = append(s.Notices, "dropout: the vision model has no dropout layers; --dropout has no effect")
	}
	s.HeadLo, s.HeadHi = headRange(m.Params(), "fc.")
	task := train.NewImageTask(m, tr, o.Batch, true, o.Seed)
	task.Micro = o.Micro
	s.Task = task
	s.Validate = func() (float64, float64) {
		r := eval.Images(m, va, 256)
		return r.Loss, r.Accuracy()
	}
	s.Save = func(out string, meta map[string]string) error { return vision.SaveWithMetadata(m, out, meta) }
	return s, nil
}

// DigitDomains lists the digit domains of the vision data under data (the
// directory --data names, holding vision/): see digitDomains.
func DigitDomains(data string) ([]string, error) {
	dd, err := dataDir(data, "vision")
	if err != nil {
		return nil, err
	}
	return digitDomains(dd)
}

// digitDomains lists the digit domains of a built vision directory dd:
// every domain D with both sets digits-D-train and digits-D-test in its
// index.json. DigitShift's domains come in the order of
// data/vision.DigitDomains, any others (those of `tram data demo`) after
// them in the index's order. So one mechanism serves DigitShift, a build
// that lacks an optional domain, and the demo data.
func digitDomains(dd string) ([]string, error) {
	idx, err := datavision.ReadIndex(dd)
	if err != nil {
		return nil, err
	}
	has := map[string]map[string]bool{}
	var order []string
	for _, s := range idx.Sets {
		rest, ok := strings.CutPrefix(s.Name, "digits-")
		if !ok {
			continue
		}
		for _, split := range []string{"train", "test"} {
			if d, ok := strings.CutSuffix(rest, "-"+split); ok && d != "" {
				if has[d] == nil {
					has[d] = map[string]bool{}
					order = append(order, d)
				}
				has[d][split] = true
			}
		}
	}
	var out []string
	for _, d := range datavision.DigitDomains {
		if has[d]["train"] && has[d]["test"] {
			out = append(out, d)
		}
	}
	for _, d := range order {
		if !slices.Contains(datavision.DigitDomains, d) && has[d]["train"] && has[d]["test"] {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no digit domains (sets digits-DOMAIN-train and digits-DOMAIN-test) in index.json", dd)
	}
	return out, nil
}

// digitHead returns the model in dir, a pretrained 62-way glyph classifier
// (data/vision.Classes), as a ten-way digit classifier whose head is the
// pretrained head's digit rows: the zero-shot digit classifier that
// fine-tuning with --head pretrained-rows starts from.
func digitHead(dir string) (vision.Model, error) {
	var cfg vision.Config
	if err := checkpoint.ReadConfig(dir, &cfg); err != nil {
		return nil, err
	}
	old := cfg.NumClasses
	cfg.NumClasses = len(DigitLabels)
	m, err := vision.New(cfg, 0)
	if err != nil {
		return nil, err
	}
	isHead := func(n string) bool { return len(n) >= 3 && n[:3] == "fc." }
	if _, err := transplant(dir, m, func(n string) []string { return []string{n} }, isHead); err != nil {
		return nil, err
	}
	return m, pretrainedRows(dir, m, old)
}

// pretrainedRows copies the first ten rows (the digits: data/vision.Classes
// starts with 0-9) of the pretrained head into m's new head.
func pretrainedRows(dir string, m vision.Model, old int) error {
	if old < len(DigitLabels) {
		return fmt.Errorf("--head pretrained-rows: the pretrained head has %d classes, fewer than the ten digits", old)
	}
	sf, err := checkpoint.Open(dir + "/model.safetensors")
	if err != nil {
		return err
	}
	defer sf.Close()
	ps := m.Params()
	for _, name := range []string{"fc.weight", "fc.bias"} {
		dst := ps.Get(name)
		if dst == nil {
			dst = ps.Get(name + "_orig") // spectral head: weight_orig
		}
		info, ok := sf.Tensors[name]
		if !ok {
			info, ok = sf.Tensors[name+"_orig"]
			name += "_orig"
		}
		if dst == nil || !ok {
			return fmt.Errorf("--head pretrained-rows: %s not found", name)
		}
		full := make([]float32, prod(info.Shape))
		if err := sf.ReadInto(name, full); err != nil {
			return err
		}
		copy(dst.Data, full[:dst.Len()]) // rows 0-9 of a row-major [classes, in] matrix, or the first 10 biases
	}
	return nil
}

func prod(s []int) int {
	n := 1
	for _, v := range s {
		n *= v
	}
	return n
}
