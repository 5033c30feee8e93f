package xling

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tramlab/tram/data"
)

// expected holds the counts of the recorded build (base image of
// 2026-11, Debian bookworm); Build fails when a count moves by more than 25%.
var expected = map[string]int{
	"dev/en":                    5108,
	"mansec/dev":                2572,
	"mansec/test/de":            1500,
	"mansec/test/es":            1156,
	"mansec/test/fr":            1500,
	"mansec/test/it":            739,
	"mansec/test/pl":            1293,
	"mansec/test/pt_BR":         827,
	"mansec/test/ru":            1278,
	"mansec/test/uk":            1242,
	"mansec/train":              20560,
	"pretrain/catalogues":       520706,
	"pretrain/debian-reference": 21163,
	"pretrain/fortunes":         66644,
	"pretrain/man":              75828,
	"test/de":                   3035,
	"test/en":                   3139,
	"test/es":                   3101,
	"test/fr":                   3133,
	"test/it":                   3084,
	"test/ru":                   3137,
	"test/sv":                   3138,
	"test/zh_CN":                3131,
	"train/en":                  30318,
	"train/en/crypto":           2383,
	"train/en/database":         5571,
	"train/en/desktop":          3998,
	"train/en/libc":             685,
	"train/en/packaging":        1832,
	"train/en/shell":            3357,
	"train/en/toolchain":        9012,
	"train/en/vcs":              3480,
}

func writeCard(dir, cache string, m *data.Manifest) error {
	c := m.Counts
	var b strings.Builder
	fmt.Fprintf(&b, "# GetText-X data card\n\n")
	fmt.Fprintf(&b, "Zero-shot cross-lingual classification: which software family (%s) a UI message belongs to. ", strings.Join(Classes, ", "))
	fmt.Fprintf(&b, "Train on English msgids, test on translations in %s.\n\n", strings.Join(TestLangs, ", "))
	fmt.Fprintf(&b, "## Sources and licences\n\n")
	fmt.Fprintf(&b, "- gettext catalogues `/usr/share/locale/*/LC_MESSAGES/*.mo` of the base image (%d files); the licence of the package that ships a catalogue applies to its messages (see /usr/share/doc/PKG/copyright).\n", srcFiles(m, "/usr/share/locale/*/LC_MESSAGES/*.mo"))
	fmt.Fprintf(&b, "- pretraining: man pages of the base image (all translated pages and a fixed %d%% sample of the English ones, by hash of the path; their packages' licences), fortunes-{de,it,es,ru,pl,cs} and debian-reference-{de,fr,es,it} (see the table below).\n", EnglishManPct)
	fmt.Fprintf(&b, "- ManSec-X test pages: manpages-{de,fr,es,pl,ru,uk,it,pt-br} (see the table below).\n\n")
	fmt.Fprintf(&b, "## Splits\n\nA message's split is fixed by a hash of its cleaned English msgid (test %d%%, dev %d%%, train %d%%), so a msgid and all its translations fall on one side. Messages of fewer than 3 words are dropped; msgids used by two classes are dropped (%d).\n\n", testPct, devPct, 100-testPct-devPct, c["dropped/ambiguous"])
	fmt.Fprintf(&b, "| split | total |")
	for _, cl := range Classes {
		fmt.Fprintf(&b, " %s |", cl)
	}
	fmt.Fprintf(&b, "\n|---|---|%s\n", strings.Repeat("---|", len(Classes)))
	row := func(name, key string) {
		fmt.Fprintf(&b, "| %s | %d |", name, c[key])
		for _, cl := range Classes {
			fmt.Fprintf(&b, " %d |", c[key+"/"+cl])
		}
		b.WriteString("\n")
	}
	row("train (en)", "train/en")
	row("dev (en)", "dev/en")
	row("test-en", "test/en")
	for _, l := range TestLangs {
		row("test-"+l, "test/"+l)
	}
	fmt.Fprintf(&b, "\nTest sets are capped at %d messages per class and language (class-balanced where the catalogues allow).\n\n", TestCapPerClass)
	fmt.Fprintf(&b, "Pretraining corpus (pretrain.jsonl): %d paragraphs/messages, %.1f MB of text: man pages %d, fortunes %d, debian-reference %d, train-split catalogue messages %d; %d candidates dropped because they equal a test message.\n", c["pretrain/man"]+c["pretrain/fortunes"]+c["pretrain/debian-reference"]+c["pretrain/catalogues"], float64(c["pretrain/bytes"])/1e6, c["pretrain/man"], c["pretrain/fortunes"], c["pretrain/debian-reference"], c["pretrain/catalogues"], c["pretrain/excluded-test-text"])
	fmt.Fprintf(&b, "Aligned train pairs (pairs-train.jsonl):")
	for _, l := range TestLangs {
		fmt.Fprintf(&b, " %s %d", l, c["pairs/"+l])
	}
	fmt.Fprintf(&b, ".\n\n")
	fmt.Fprintf(&b, "Licences of the Debian packages used:\n\n%s\n", data.LicenseTable(cache, data.TaskXling))
	fmt.Fprintf(&b, "## Known leakage risks and how they were closed\n\n")
	fmt.Fprintf(&b, "- Program and project names (git, PostgreSQL/psql, GnuPG/gpg, dpkg/apt, GTK/GLib, grep/sed/tar, libc, …) name the class: they are replaced by `<prog>` in every language, in the task files, the pairs and the catalogue part of the pretraining corpus. The word \"make\" is not masked (it is ordinary English).\n")
	fmt.Fprintf(&b, "- The same msgid in several catalogues: splits are by msgid, so it cannot be in train and test at once; msgids shared by two classes are dropped.\n")
	fmt.Fprintf(&b, "- Pretraining: only train-split catalogue messages enter it, and any paragraph equal to a test message (any language, masked or not) is removed.\n")
	fmt.Fprintf(&b, "- Remaining signals: formatting conventions (printf specifiers, option syntax like --foo, markup) survive translation and differ between families; names transliterated in translations are not masked.\n\n")
	fmt.Fprintf(&b, "## ManSec-X (mansec/)\n\nWhich kind of man-page section a paragraph comes from: %s. Section headings are mapped to labels in every language; headings that mean both ERRORS and BUGS (German FEHLER, Polish BŁĘDY, Spanish ERRORES, Russian ОШИБКИ) are left out. Train/dev: paragraphs of %d English pages of the base image that none of the test languages translates (dev = a 10%% hash sample; caps %d/%d per class). Test: the pages of manpages-{de,fr,es,pl,ru,uk,it,pt-br} (capped at %d per class and language).\n\n", strings.Join(ManSecClasses, ", "), c["mansec/pages/en"], manSecTrainCap, manSecDevCap, manSecTestCap)
	fmt.Fprintf(&b, "| split | total |")
	for _, cl := range ManSecClasses {
		fmt.Fprintf(&b, " %s |", cl)
	}
	fmt.Fprintf(&b, "\n|---|---|%s\n", strings.Repeat("---|", len(ManSecClasses)))
	msRow := func(name, key string) {
		fmt.Fprintf(&b, "| %s | %d |", name, c[key])
		for _, cl := range ManSecClasses {
			fmt.Fprintf(&b, " %d |", c[key+"/"+cl])
		}
		b.WriteString("\n")
	}
	msRow("train (en)", "mansec/train")
	msRow("dev (en)", "mansec/dev")
	for _, l := range ManSecLangs {
		msRow("test-"+l, "mansec/test/"+l)
	}
	fmt.Fprintf(&b, "\nLeakage: the English counterpart of every test page is excluded from training (and translated pages are compared by file name); test paragraphs are removed from the pretraining corpus. Remaining: option syntax (-x, --foo) marks the options class in every language, which is part of the task.\n\n")
	fmt.Fprintf(&b, "## Format\n\nJSONL, one object per line: train.jsonl/dev.jsonl/test-LANG.jsonl `{\"text\",\"label\",\"lang\"}`; pairs-train.jsonl `{\"en\",\"lang\",\"text\"}`; pretrain.jsonl `{\"text\",\"lang\",\"source\"}`. Load with `xling.Load(dir, split)`, `xling.Load(dir+\"/mansec\", split)` for ManSec-X, `xling.LoadPairs(dir)` and `xling.LoadPretrain(dir)`.\n")
	return os.WriteFile(filepath.Join(dir, "CARD.md"), []byte(b.String()), 0o644)
}

func srcFiles(m *data.Manifest, name string) int {
	for _, s := range m.Sources {
		if s.Name == name {
			return s.Files
		}
	}
	return 0
}
