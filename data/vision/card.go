package vision

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tramlab/tram/data"
)

// expected holds counts of the recorded build; Build fails when one moves
// by more than 25%.
var expected = map[string]int{
	"faces/blackletter":               25,
	"faces/hershey":                   24,
	"faces/mono":                      41,
	"faces/sans":                      72,
	"faces/script":                    33,
	"faces/segment":                   50,
	"faces/serif":                     48,
	"images/digits-blackletter-test":  1040,
	"images/digits-blackletter-train": 2210,
	"images/digits-hershey-test":      1080,
	"images/digits-hershey-train":     1080,
	"images/digits-opencv-test":       2500,
	"images/digits-opencv-train":      2500,
	"images/digits-print-test":        1140,
	"images/digits-print-train":       3270,
	"images/digits-script-test":       1100,
	"images/digits-script-train":      2200,
	"images/digits-segment-test":      1200,
	"images/digits-segment-train":     1300,
	"images/digits-uci-test":          1026,
	"images/digits-uci-train":         771,
	"images/pretrain-test":            4712,
	"images/pretrain-train":           54064,
	"images/pretrain-val":             1736,
}

func writeCard(dir, cache string, m *data.Manifest, idx Index) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# DigitShift data card\n\n28×28 uint8 glyph and digit images (MNIST convention) whose domains are writing styles: pretrain a CNN on 62 print-glyph classes, fine-tune on one digit domain, test on every domain.\n\n")
	fmt.Fprintf(&b, "## Sources and licences\n\n")
	fmt.Fprintf(&b, "- Print faces (serif, sans, mono): fonts-freefont-ttf, fonts-liberation, fonts-urw-base35, fonts-vollkorn, fonts-oldstandard, fonts-goudybookletter, fonts-open-sans, fonts-cantarell, fonts-quicksand, fonts-beteckna, fonts-okolaks, fonts-inconsolata, fonts-jetbrains-mono, fonts-3270, fonts-gnutypewriter, DejaVu (base image) and the Go fonts of golang.org/x/image (BSD-3-Clause).\n")
	fmt.Fprintf(&b, "- Script/handwriting: fonts-dkg-handwriting, fonts-breip, fonts-bwht, fonts-femkeklaver, fonts-humor-sans, fonts-rufscript, fonts-sjfonts, fonts-kristi, fonts-dancingscript, fonts-kaushanscript, fonts-comic-neue, fonts-tomsontalks, fonts-havana, fonts-joscelyn, fonts-lobster, fonts-leckerli-one, URW Z003.\n")
	fmt.Fprintf(&b, "- Segment displays: fonts-dseg. Blackletter/display: fonts-blankenburg, fonts-gotico-antiqua (Jessen faces only), fonts-klaudia-berenika, fonts-bebas-neue, fonts-routed-gothic.\n")
	fmt.Fprintf(&b, "- Pen strokes: hershey-fonts-data, %d text fonts.\n", m.Counts["faces/hershey"])
	fmt.Fprintf(&b, "- Real handwriting: the UCI optical-digits set as shipped by python3-sklearn (digits.csv.gz, 8×8, upsampled) and opencv-doc's MNIST-derived digits.png (20×20).\n\n")
	b.WriteString(data.LicenseTable(cache, data.TaskVision))
	b.WriteString("\n")
	fmt.Fprintf(&b, "Faces per style: serif %d, sans %d, mono %d, script %d, segment %d, blackletter %d (files whose tables fail to parse or that lack digits are skipped and listed in SUMMARY.txt).\n\n",
		m.Counts["faces/serif"], m.Counts["faces/sans"], m.Counts["faces/mono"], m.Counts["faces/script"], m.Counts["faces/segment"], m.Counts["faces/blackletter"])
	fmt.Fprintf(&b, "## Sets\n\n| set | domain | split | images | faces/sources |\n|---|---|---|---|---|\n")
	total := 0
	for _, s := range idx.Sets {
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d |\n", s.Name, s.Domain, s.Split, s.Count, len(s.Groups))
		total += s.Count
	}
	fmt.Fprintf(&b, "\nTotal %d images, %.1f MB.\n\n", total, float64(total*Pixels)/1e6)
	fmt.Fprintf(&b, "## Rendering and augmentation\n\nGlyph outlines are rasterized at 64 px, cropped to the ink box, fitted into 20×20 preserving aspect and centred by centre of mass in 28×28. Rendering 0 of each (face, class) is undistorted; the others draw a random rotation (±12°), shear (±0.25), x/y scale (0.85–1.15), stroke thickness (erode 1 to dilate 2 px at 64 px; Hershey pen width 3.5–8.5 px) and, half of the time, Gaussian noise (σ ≤ 0.12). Seeds derive from (set, face, class, rendering), so builds are byte-identical.\n\n")
	fmt.Fprintf(&b, "## Known leakage risks and how they were closed\n\n")
	fmt.Fprintf(&b, "- Face overlap: every split is by face (hash of the face id), never by augmented image. Print faces are split 70/10/20 for pretraining; the print digit domain trains on the pretraining train faces and tests on the pretraining test faces, which pretraining never sees. Script, segment, blackletter and Hershey faces are not used in pretraining at all and are split 60/40 by face.\n")
	fmt.Fprintf(&b, "- Identical font files shipped twice are deduplicated by sha256; near-identical faces (weights and italics of one family) can still fall on both sides of a split: they count as different faces.\n")
	fmt.Fprintf(&b, "- UCI digits carry no writer id, so train and test (57%%) are split by line position and may share writers; the OpenCV sheet is split by cell position within each class (first 250 cells train, last 250 test).\n")
	fmt.Fprintf(&b, "- Classes that look alike (0/O/o, 1/I/l, S/s, …) are inherent to the 62-class pretraining task.\n\n")
	fmt.Fprintf(&b, "## Format\n\nindex.json lists the sets; for set NAME: NAME.images (count×784 bytes), NAME.labels (count bytes, index into classes %q), NAME.groups (count uint16 little endian, index into the set's groups). Load with `vision.Load(dir, name)` or `vision.LoadDomain(dir, domain, split)`.\n", Classes)
	return os.WriteFile(filepath.Join(dir, "CARD.md"), []byte(b.String()), 0o644)
}
