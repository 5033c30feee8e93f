package family

// This file opens a model for fine-tuning on a dataset the user brings
// (package userdata): labelled texts for an encoder, an image folder for an
// image classifier, text files for a language model.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tramlab/tram/checkpoint"
	"github.com/tramlab/tram/data/userdata"
	"github.com/tramlab/tram/eval"
	"github.com/tramlab/tram/models/vision"
	"github.com/tramlab/tram/models/vit"
	"github.com/tramlab/tram/tokenizer"
	"github.com/tramlab/tram/train"
)

// UserData names the files of a dataset the user brings (read by package
// userdata).
type UserData struct {
	// Train and Valid are the training and validation sets: for an
	// encoder, labelled texts (.jsonl, .csv, .tsv); for an image
	// classifier, image folders DIR/<class>/*.png|*.jpg; for a language
	// model, text (.txt, one document per line, or .jsonl with a text
	// field). Valid may be empty (no validation).
	Train, Valid string
	// Columns name the text, second text and label fields of labelled
	// texts (and the text field of a language model's JSONL).
	Columns userdata.Columns
	// BlockSize is the language model's sequence length when packing text
	// (0: n_positions).
	BlockSize int
}

// labelMaps returns Hugging Face's id2label and label2id of a label list.
func labelMaps(labels []string) (map[string]string, map[string]int) {
	id2label, label2id := map[string]string{}, map[string]int{}
	for i, l := range labels {
		id2label[strconv.Itoa(i)] = l
		label2id[l] = i
	}
	return id2label, label2id
}

// LabelList returns the labels of an id2label map in id order, or nil
// when it does not number 0…n−1.
func LabelList(id2label map[string]string) []string {
	out := make([]string, len(id2label))
	for k, v := range id2label {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= len(out) {
			return nil
		}
		out[i] = v
	}
	return out
}

// sameLabels checks that a checkpoint's head (its id2label) scores labels,
// in that order, for --head keep.
func sameLabels(dir string, id2label map[string]string, labels []string) error {
	have := LabelList(id2label)
	if !slices.Equal(have, labels) {
		return fmt.Errorf("--head keep: %s's head scores %s, the training data has %s: pass --head new for a fresh head sized to the data (Hugging Face's ignore_mismatched_sizes)",
			dir, quoteLabels(have), quoteLabels(labels))
	}
	return nil
}

func quoteLabels(l []string) string {
	if len(l) == 0 {
		return "no named labels"
	}
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, " ") + "]"
}

// openUser opens the model in dir for fine-tuning on o.User's files.
func openUser(dir, fam string, o Options) (*Setup, error) {
	if o.Head == "pretrained-rows" {
		return nil, fmt.Errorf("--head pretrained-rows is for the built-in digit domains; with your own data use --head new or keep")
	}
	c := o.User.Columns
	switch {
	case fam == "lm" && o.Head == "keep":
		return nil, fmt.Errorf("--head keep: %s is a language model, which has no classification head", dir)
	case fam == "lm" && (c.Pair != "" || c.Label != ""):
		return nil, fmt.Errorf("--text-pair-column and --label-column describe labelled texts; %s is a language model, which reads text alone (--text-column)", dir)
	case fam == "vision" && c != userdata.Columns{}:
		return nil, fmt.Errorf("the column flags describe texts; %s is an image model, which reads image folders DIR/<class>/*.png", dir)
	case fam != "lm" && o.User.BlockSize != 0:
		return nil, fmt.Errorf("--block-size packs text for a language model; %s is a %s classifier", dir, fam)
	}
	switch fam {
	case "lm":
		return openUserLM(dir, o)
	case "vision":
		return openUserImages(dir, o)
	}
	return openUserTexts(dir, o)
}

// EncodeExamples encodes labelled texts (and their second texts, when
// pair) as the encoder's tokenizer lays them out, special tokens
// included; a text longer than T keeps its first T−1 tokens and its last.
// y are the labels' indices.
func EncodeExamples(tok tokenizer.Tokenizer, ex []userdata.TextExample, y []int32, pair bool, T int, pad int32) *train.Texts {
	s := &train.Texts{T: T, Pad: pad}
	for i, e := range ex {
		var enc tokenizer.Encoding
		if pair {
			enc = tok.EncodePair(e.Text, e.Pair)
		} else {
			enc = tok.EncodeSingle(e.Text)
		}
		ids, types := enc.IDs, enc.TypeIDs
		if len(ids) > T {
			ids = append(ids[:T-1:T-1], ids[len(ids)-1])
			if types != nil {
				types = append(types[:T-1:T-1], types[len(types)-1])
			}
		}
		s.IDs = append(s.IDs, ids)
		if pair {
			s.Types = append(s.Types, types)
		}
		if y != nil {
			s.Labels = append(s.Labels, y[i])
		} else {
			s.Labels = append(s.Labels, 0)
		}
	}
	return s
}

// readLabelledTexts reads a labelled text file and indexes its labels.
func readLabelledTexts(path string, cols userdata.Columns, labels []string) ([]userdata.TextExample, []int32, error) {
	ex, err := userdata.ReadTexts(path, cols, true)
	if err != nil {
		return nil, nil, err
	}
	y, err := userdata.LabelIndex(path, ex, labels)
	return ex, y, err
}

func openUserTexts(dir string, o Options) (*Setup, error) {
	u := o.User
	ex, err := userdata.ReadTexts(u.Train, u.Columns, true)
	if err != nil {
		return nil, err
	}
	raw := make([]string, len(ex))
	for i, e := range ex {
		raw[i] = e.Label
	}
	labels, err := userdata.LabelSet(u.Train, raw)
	if err != nil {
		return nil, err
	}
	y, _ := userdata.LabelIndex(u.Train, ex, labels)
	var va *train.Texts
	var vex []userdata.TextExample
	var vy []int32
	if u.Valid != "" {
		if vex, vy, err = readLabelledTexts(u.Valid, u.Columns, labels); err != nil {
			return nil, err
		}
	}
	enc, err := openEncoder(dir, labels, o)
	if err != nil {
		return nil, err
	}
	s, m := enc.setup, enc.model
	s.Family, s.Domain = "xling", dataName(u.Train)
	pad := int32(m.Config.PadTokenID)
	pair := u.Columns.Pair != ""
	tr := EncodeExamples(enc.tok, ex, y, pair, enc.T, pad)
	if vex != nil {
		va = EncodeExamples(enc.tok, vex, vy, pair, enc.T, pad)
		s.Validate = func() (float64, float64) {
			r := eval.Texts(m, va, 64)
			return r.Loss, r.Accuracy()
		}
	}
	s.TrainSize = tr.N()
	task := train.NewTextClassTask(m, tr, o.Batch, o.Seed)
	task.Micro = o.Micro
	s.Task = task
	return s, nil
}

// dataName names a dataset by its file or folder name, for records.
func dataName(path string) string {
	b := filepath.Base(filepath.Clean(path))
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// imagePreprocess returns how the image model in dir takes images: its
// preprocessor_config.json when present, else the model's own size and
// channels with pixels scaled to [0, 1] (tram's image models) or, for ViT,
// normalized with mean and standard deviation 0.5 as ViTImageProcessor's
// defaults.
func imagePreprocess(dir string) (userdata.Preprocess, error) {
	var c struct {
		ModelType   string `json:"model_type"`
		InChannels  int    `json:"in_channels"`
		NumChannels int    `json:"num_channels"`
		ImageSize   int    `json:"image_size"`
	}
	if err := checkpoint.ReadConfig(dir, &c); err != nil {
		return userdata.Preprocess{}, err
	}
	p := userdata.Preprocess{Channels: max(c.InChannels, c.NumChannels, 1), Size: c.ImageSize, Rescale: 1.0 / 255}
	if p.Size == 0 {
		p.Size = 28
	}
	if c.ModelType == "vit" {
		p.Resize = true
		p.Mean, p.Std = slices.Repeat([]float64{0.5}, p.Channels), slices.Repeat([]float64{0.5}, p.Channels)
	}
	if _, err := userdata.ReadPreprocessorConfig(dir, &p); err != nil {
		return p, err
	}
	if p.Size != c.ImageSize && c.ImageSize != 0 {
		return p, fmt.Errorf("%s: preprocessor_config.json's size %d differs from config.json's image_size %d", dir, p.Size, c.ImageSize)
	}
	return p, nil
}

// LoadImageFolder loads an image folder's images for a model taking p's
// input, labelled by their class's index in labels.
func LoadImageFolder(dir string, labels []string, p userdata.Preprocess) (*train.Images, error) {
	files, err := userdata.ImageFolder(dir)
	if err != nil {
		return nil, err
	}
	index := map[string]int32{}
	for i, l := range labels {
		index[l] = int32(i)
	}
	out := &train.Images{Channels: p.Channels, Size: p.Size}
	for _, f := range files {
		y, ok := index[f.Class]
		if !ok {
			return nil, fmt.Errorf("%s: class %q is not one the model knows (%s)", filepath.Dir(f.Path), f.Class, quoteLabels(labels))
		}
		if out.X, err = p.Load(out.X, f.Path); err != nil {
			return nil, err
		}
		out.Y = append(out.Y, y)
	}
	return out, nil
}

// folderClasses returns the sorted class names of an image folder.
func folderClasses(dir string) ([]string, error) {
	files, err := userdata.ImageFolder(dir)
	if err != nil {
		return nil, err
	}
	var raw []string
	for _, f := range files {
		raw = append(raw, f.Class)
	}
	return userdata.LabelSet(dir, raw)
}

func openUserImages(dir string, o Options) (*Setup, error) {
	u := o.User
	labels, err := folderClasses(u.Train)
	if err != nil {
		return nil, err
	}
	pre, err := imagePreprocess(dir)
	if err != nil {
		return nil, err
	}
	tr, err := LoadImageFolder(u.Train, labels, pre)
	if err != nil {
		return nil, err
	}
	var va *train.Images
	if u.Valid != "" {
		if va, err = LoadImageFolder(u.Valid, labels, pre); err != nil {
			return nil, err
		}
	}
	im, err := openImageModel(dir, labels, o)
	if err != nil {
		return nil, err
	}
	s, m := im.setup, im.model
	s.Domain, s.TrainSize = dataName(u.Train), tr.N()
	task := train.NewImageTask(m, tr, o.Batch, true, o.Seed)
	task.Micro = o.Micro
	s.Task = task
	if va != nil {
		s.Validate = func() (float64, float64) {
			r := eval.Images(m, va, 256)
			return r.Loss, r.Accuracy()
		}
	}
	return s, nil
}

// imageModel is an image classifier being set up for fine-tuning.
type imageModel struct {
	model vision.Model
	setup *Setup // Family, Model, Labels, Dropout, Notices, HeadLo/HeadHi and Save set
}

// openImageModel loads the image classifier in dir with a head for
// labels: a fresh one from o.Seed (o.Head "new"), or the checkpoint's own
// when o.Head is "keep" and its labels are these.
func openImageModel(dir string, labels []string, o Options) (*imageModel, error) {
	var probe struct {
		ModelType string `json:"model_type"`
	}
	if err := checkpoint.ReadConfig(dir, &probe); err != nil {
		return nil, err
	}
	id2label, label2id := labelMaps(labels)
	s := &Setup{Family: "vision", Labels: labels, Dropout: map[string]float64{}}
	var m vision.Model
	var save func(out string, meta map[string]string) error
	if probe.ModelType == "vit" {
		var cfg vit.Config
		if err := checkpoint.ReadConfig(dir, &cfg); err != nil {
			return nil, err
		}
		fresh := vit.IsHead
		if o.Head == "keep" {
			if err := sameLabels(dir, cfg.ID2Label, labels); err != nil {
				return nil, err
			}
			fresh = nil
		}
		v, err := vit.LoadWith(dir, vit.LoadOptions{Fresh: fresh, Seed: o.Seed, ID2Label: id2label})
		if err != nil {
			return nil, err
		}
		v.Config.Label2ID, v.Config.Architectures = label2id, []string{"ViTForImageClassification"}
		if fresh != nil {
			s.Notices = append(s.Notices, fmt.Sprintf("head: a new %d-way classifier is initialized from seed %d (the checkpoint's, if any, was dropped)", len(labels), o.Seed))
		}
		if o.Dropout != nil {
			v.Config.HiddenDropout, v.Config.AttnDropout = *o.Dropout, *o.Dropout
		}
		s.Dropout = map[string]float64{"hidden_dropout_prob": v.Config.HiddenDropout, "attention_probs_dropout_prob": v.Config.AttnDropout}
		if v.Config.HiddenDropout > 0 || v.Config.AttnDropout > 0 {
			s.Notices = append(s.Notices, fmt.Sprintf("dropout on (hidden %.2g, attention %.2g): d_t measures dropout noise too", v.Config.HiddenDropout, v.Config.AttnDropout))
		}
		m, save = v, func(out string, meta map[string]string) error {
			// config.json keeps the pretrained model's dropout.
			tuned := v.Config
			v.Config.HiddenDropout, v.Config.AttnDropout = cfg.HiddenDropout, cfg.AttnDropout
			defer func() { v.Config = tuned }()
			return v.SaveWithMetadata(out, meta)
		}
		s.HeadLo, s.HeadHi = headRange(v.Params(), "classifier.")
	} else {
		var cfg vision.Config
		if err := checkpoint.ReadConfig(dir, &cfg); err != nil {
			return nil, err
		}
		old := cfg
		cfg.NumClasses, cfg.SpectralHead = len(labels), o.SpectralHead
		cfg.ID2Label, cfg.Label2ID = id2label, label2id
		r, err := vision.New(cfg, o.Seed)
		if err != nil {
			return nil, err
		}
		fresh := func(n string) bool { return strings.HasPrefix(n, "fc.") }
		if o.Head == "keep" {
			if err := sameLabels(dir, old.ID2Label, labels); err != nil {
				return nil, err
			}
			fresh = func(string) bool { return false }
		}
		unused, err := transplant(dir, r, func(n string) []string { return []string{n} }, fresh)
		if err != nil {
			return nil, err
		}
		if len(unused) > 0 {
			s.Notices = append(s.Notices, fmt.Sprintf("head: the pretrained %d-way head was dropped; a new %d-way head is initialized from seed %d", old.NumClasses, len(labels), o.Seed))
		}
		if o.Dropout != nil && *o.Dropout > 0 {
			s.Notices = append(s.Notices, "dropout: the vision model has no dropout layers; --dropout has no effect")
		}
		m, save = r, func(out string, meta map[string]string) error { return vision.SaveWithMetadata(r, out, meta) }
		s.HeadLo, s.HeadHi = headRange(r.Params(), "fc.")
	}
	s.Model = m
	pre := filepath.Join(dir, "preprocessor_config.json")
	s.Save = func(out string, meta map[string]string) error {
		if err := save(out, meta); err != nil {
			return err
		}
		if _, err := os.Stat(pre); err == nil {
			return copyFile(pre, filepath.Join(out, "preprocessor_config.json"))
		}
		return nil
	}
	return &imageModel{model: m, setup: s}, nil
}

func openUserLM(dir string, o Options) (*Setup, error) {
	u := o.User
	docs, err := userdata.ReadDocuments(u.Train, u.Columns.Text)
	if err != nil {
		return nil, err
	}
	var vdocs []string
	if u.Valid != "" {
		if vdocs, err = userdata.ReadDocuments(u.Valid, u.Columns.Text); err != nil {
			return nil, err
		}
	}
	s, m, tok, err := openLMModel(dir, o)
	if err != nil {
		return nil, err
	}
	s.Domain = dataName(u.Train)
	T := u.BlockSize
	if T == 0 {
		T = m.Config.NPositions
	}
	if T < 2 || T > m.Config.NPositions {
		return nil, fmt.Errorf("--block-size %d: must lie in [2, n_positions %d]", T, m.Config.NPositions)
	}
	eot := eotID(tok)
	data := train.Pack(tok, docs, T, eot, 0)
	if data.N() == 0 {
		return nil, fmt.Errorf("%s: too little text for one %d-token block", u.Train, T)
	}
	var valid *train.Sequences
	if vdocs != nil {
		if valid = train.Pack(tok, vdocs, T, eot, 0); valid.N() == 0 {
			return nil, fmt.Errorf("%s: too little text for one %d-token block", u.Valid, T)
		}
	}
	setLMData(s, m, data, valid, o)
	return s, nil
}
