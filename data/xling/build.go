// Package xling builds GetText-X, a zero-shot cross-lingual text
// classification task made from the gettext catalogues (.mo files) of the
// base image, and loads it.
//
// A message's class is the software family of the catalogue it comes from
// (see [Classes]). English msgids of at least three words are split by a
// hash of the (cleaned) msgid: 30% test, 10% dev, 60% train, so a message
// and all of its translations always fall on one side. Models train on the
// English msgids of the train split and are tested on the translations of
// test-split msgids in de, fr, es, it, ru, sv and zh_CN, capped per class so
// that classes are balanced. Msgids used by catalogues of two classes are
// dropped. Program and project names that reveal a class (git, PostgreSQL,
// GnuPG, dpkg, GTK, …) are replaced by the token "<prog>" in every language.
//
// Output files in the task directory, all JSONL with one object per line:
//
//	train.jsonl, dev.jsonl     {"text": msgid, "label": class, "lang": "en"}
//	test-LANG.jsonl            {"text": msgstr, "label": class, "lang": LANG} (LANG = en, de, …)
//	pairs-train.jsonl          {"en": msgid, "lang": LANG, "text": msgstr} (train split, 7 languages)
//	pretrain.jsonl             {"text": paragraph, "lang": LANG, "source": origin} (unlabelled)
//
// A second task, ManSec-X, is written to mansec/: which kind of man-page
// section (description, options, examples, files-env, notes-bugs) a
// paragraph comes from, trained on English pages that no test language
// translates and tested on manpages-{de,fr,es,pl,ru,uk,it,pt-br}:
//
//	mansec/train.jsonl, mansec/dev.jsonl, mansec/test-LANG.jsonl   {"text", "label", "lang"}
//
// The pretraining corpus holds translated and English man pages,
// fortunes-{de,it,es,ru,pl,cs}, debian-reference-{de,fr,es,it} and the
// train-split catalogue messages of every language; no test or dev message
// and no text equal to a test message (of either task) in any language is
// in it.
package xling

import (
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/data/fortune"
	"github.com/tramlab/tram/data/mo"
	"github.com/tramlab/tram/data/roff"
)

// Classes lists the eight labels in a fixed order.
var Classes = []string{"vcs", "database", "crypto", "toolchain", "shell", "packaging", "desktop", "libc"}

// TestLangs are the languages of the test sets (besides English).
var TestLangs = []string{"de", "fr", "es", "it", "ru", "sv", "zh_CN"}

// Split fractions (percent of the hash space).
const (
	testPct = 30
	devPct  = 10
)

// EnglishManPct is the percentage of English man pages (chosen by a hash of
// their path) in the pretraining corpus; translated pages are all kept.
const EnglishManPct = 35

// TestCapPerClass caps each class of each test language.
const TestCapPerClass = 400

var classOf = map[string]string{
	"git":    "vcs",
	"gnupg2": "crypto", "gnutls30": "crypto", "mit-krb5": "crypto", "Linux-PAM": "crypto", "libidn2": "crypto",
	"binutils": "toolchain", "ld": "toolchain", "gas": "toolchain", "gold": "toolchain", "gprof": "toolchain",
	"opcodes": "toolchain", "bfd": "toolchain", "make": "toolchain", "elfutils": "toolchain",
	"coreutils": "shell", "findutils": "shell", "grep": "shell", "sed": "shell", "tar": "shell",
	"diffutils": "shell", "procps-ng": "shell", "util-linux": "shell", "shadow": "shell", "bash": "shell",
	"wget": "shell", "wget-gnulib": "shell", "psmisc": "shell", "xz": "shell", "man-db": "shell",
	"man-db-gnulib": "shell", "net-tools": "shell",
	"apt": "packaging", "libapt-pkg6.0": "packaging", "dpkg": "packaging", "dpkg-dev": "packaging",
	"PackageKit": "packaging", "appstream": "packaging", "python-apt": "packaging",
	"software-properties": "packaging", "debconf": "packaging", "aptitude": "packaging",
	"gtk20": "desktop", "gtk20-properties": "desktop", "gtk30": "desktop", "gtk30-properties": "desktop",
	"glib20": "desktop", "gdk-pixbuf": "desktop", "xkeyboard-config": "desktop", "gstreamer-1.0": "desktop",
	"gst-plugins-base-1.0": "desktop", "polkit-1": "desktop", "at-spi2-core": "desktop",
	"gsettings-desktop-schemas": "desktop",
	"libc":                      "libc",
}

var postgresDomain = regexp.MustCompile(`^(postgres|psql|pg_[a-z_]+|plpgsql|pgscripts|libpq5|initdb|ecpg[a-z_]*)-[0-9]+$`)

// Class returns the class of a gettext domain (the .mo file's base name
// without ".mo"), or "" when the domain is not part of the task.
func Class(domain string) string {
	if c, ok := classOf[domain]; ok {
		return c
	}
	if postgresDomain.MatchString(domain) {
		return "database"
	}
	return ""
}

// maskWords are the class-revealing names replaced by Mask, matched as
// whole ASCII words, case-insensitively. Mask also handles the forms
// pg_*, gpg*, dpkg* (with hyphenated suffixes), apt-get/-cache/-key/-mark,
// procps-ng, util-linux, gdk-pixbuf and gtk+.
var maskWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`git gitk github gitlab postgresql postgres psql libpq initdb ecpg plpgsql
		gnupg gpgsm dirmngr gnutls kerberos krb5 kinit kadmin pam libidn libidn2 binutils objdump readelf
		objcopy bfd elfutils gprof coreutils findutils grep sed tar diffutils procps bash wget apt aptitude
		packagekit appstream debconf debian gtk gtk2 gtk3 gtk4 glib gio gdk gstreamer polkit xkb gnome glibc libc`) {
		maskWords[w] = true
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// Mask replaces class-revealing program and project names (git,
// PostgreSQL, GnuPG, dpkg, apt-get, GTK, grep, libc, …) by "<prog>".
func Mask(s string) string {
	var b strings.Builder
	last := 0 // s[last:i] is pending output
	for i := 0; i < len(s); {
		if !isWordByte(s[i]) || i > 0 && isWordByte(s[i-1]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		end := maskMatch(s, i, j)
		if end < 0 {
			i = j
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:i])
		b.WriteString("<prog>")
		last, i = end, end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// maskMatch reports where a masked name starting at the word s[i:j] ends,
// or -1.
func maskMatch(s string, i, j int) int {
	w := strings.ToLower(s[i:j])
	hasSuffix := func(suf string) bool {
		return j+len(suf) <= len(s) && strings.EqualFold(s[j:j+len(suf)], suf) && (j+len(suf) == len(s) || !isWordByte(s[j+len(suf)]))
	}
	switch {
	case w == "util" && hasSuffix("-linux"):
		return j + len("-linux")
	case w == "gdk" && hasSuffix("-pixbuf"):
		return j + len("-pixbuf")
	case w == "procps" && hasSuffix("-ng"):
		return j + len("-ng")
	case w == "apt":
		for _, suf := range []string{"-get", "-cache", "-key", "-mark"} {
			if hasSuffix(suf) {
				return j + len(suf)
			}
		}
	case w == "gtk" && j < len(s) && s[j] == '+':
		return j + 1
	case strings.HasPrefix(w, "pg_") && len(w) > 3 && strings.Trim(w[3:], "abcdefghijklmnopqrstuvwxyz_") == "":
		return j
	case (strings.HasPrefix(w, "gpg") || strings.HasPrefix(w, "dpkg")) && strings.Trim(w, "abcdefghijklmnopqrstuvwxyz") == "":
		// gpg[a-z-]* and dpkg[a-z-]*, as a regexp would match them: the
		// longest run of letters and hyphens that ends at a word boundary.
		r := j
		for r < len(s) && (s[r] == '-' || s[r] >= 'a' && s[r] <= 'z' || s[r] >= 'A' && s[r] <= 'Z') {
			r++
		}
		base := i + 3
		if strings.HasPrefix(w, "dpkg") {
			base = i + 4
		}
		for e := r; e >= base; e-- {
			after := e < len(s) && isWordByte(s[e])
			if isWordByte(s[e-1]) != after {
				return e
			}
		}
		return -1
	}
	if maskWords[w] {
		return j
	}
	return -1
}

var mnemonicRE = regexp.MustCompile(`\(_[A-Za-z0-9]\)|\(&[A-Za-z0-9]\)`)

// Clean normalizes a catalogue string: Latin-1 decoded when it is not
// UTF-8, whitespace collapsed, keyboard mnemonics ("_Open", "(_O)") removed.
func Clean(s string) string {
	if !utf8.ValidString(s) { // a few catalogues are still ISO-8859-1
		r := make([]rune, len(s))
		for i := 0; i < len(s); i++ {
			r[i] = rune(s[i])
		}
		s = string(r)
	}
	if strings.Contains(s, "(_") || strings.Contains(s, "(&") {
		s = mnemonicRE.ReplaceAllString(s, "")
	}
	if !strings.Contains(s, "_") {
		return strings.Join(strings.Fields(s), " ")
	}
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if r == '_' && i+1 < len(rs) && unicode.IsLetter(rs[i+1]) && (i == 0 || !unicode.IsLetter(rs[i-1]) && !unicode.IsDigit(rs[i-1])) {
			continue
		}
		b.WriteRune(r)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func words(s string) int {
	n := 0
	for _, f := range strings.Fields(s) {
		if strings.IndexFunc(f, unicode.IsLetter) >= 0 {
			n++
		}
	}
	return n
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	io.WriteString(h, s)
	return h.Sum64()
}

// SplitOf returns "test", "dev" or "train" for a cleaned English msgid.
func SplitOf(msgid string) string {
	switch p := hash64(msgid) % 100; {
	case p < testPct:
		return "test"
	case p < testPct+devPct:
		return "dev"
	}
	return "train"
}

// An Example is one labelled message.
type Example struct {
	Text  string `json:"text"`
	Label string `json:"label"`
	Lang  string `json:"lang"`
}

type catalog struct {
	path, lang, domain, class string
}

func listCatalogs(root string) ([]catalog, error) {
	paths, err := filepath.Glob(filepath.Join(root, "*", "LC_MESSAGES", "*.mo"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []catalog
	for _, p := range paths {
		lang := filepath.Base(filepath.Dir(filepath.Dir(p)))
		dom := strings.TrimSuffix(filepath.Base(p), ".mo")
		out = append(out, catalog{p, lang, dom, Class(dom)})
	}
	return out, nil
}

type msgInfo struct {
	classes map[string]bool
	tr      map[string]string // lang -> cleaned translation (first catalogue wins)
}

// Build builds GetText-X into opt.Out.
func Build(opt data.BuildOptions) (*data.Manifest, error) {
	return build(opt, expected, 0.25)
}

func build(opt data.BuildOptions, expect map[string]int, tol float64) (*data.Manifest, error) {
	if err := opt.PrepareOut(); err != nil {
		return nil, err
	}
	locale := opt.SysPath("/usr/share/locale")
	cats, err := listCatalogs(locale)
	if err != nil {
		return nil, err
	}
	if len(cats) == 0 {
		return nil, fmt.Errorf("no .mo catalogues under %s: GetText-X needs the base image's locale files", locale)
	}
	opt.Logf("reading %d catalogues under %s", len(cats), locale)
	isTest := map[string]bool{}
	for _, l := range TestLangs {
		isTest[l] = true
	}
	msgs := map[string]*msgInfo{}
	var catPaths []string
	parsed := make([]*mo.Catalog, len(cats))
	for i, c := range cats {
		catPaths = append(catPaths, strings.TrimPrefix(c.path, locale))
		if c.class == "" {
			continue
		}
		cat, err := mo.ReadFile(c.path)
		if err != nil {
			return nil, err
		}
		parsed[i] = cat
		for _, m := range cat.Messages {
			en := Clean(m.ID)
			if words(en) < 3 {
				continue
			}
			mi := msgs[en]
			if mi == nil {
				mi = &msgInfo{classes: map[string]bool{}, tr: map[string]string{}}
				msgs[en] = mi
			}
			mi.classes[c.class] = true
			if isTest[c.lang] && len(m.Str) > 0 {
				if t := Clean(m.Str[0]); t != "" && t != en {
					if _, ok := mi.tr[c.lang]; !ok {
						mi.tr[c.lang] = t
					}
				}
			}
		}
	}
	ens := data.SortedKeys(msgs)
	counts := map[string]int{}
	type item struct {
		en, class string
		h         uint64
	}
	var train, dev, test []item
	for _, en := range ens {
		mi := msgs[en]
		if len(mi.classes) != 1 {
			counts["dropped/ambiguous"]++
			continue
		}
		var cl string
		for c := range mi.classes {
			cl = c
		}
		it := item{en, cl, hash64("order:" + en)}
		switch SplitOf(en) {
		case "test":
			test = append(test, it)
		case "dev":
			dev = append(dev, it)
		default:
			train = append(train, it)
		}
	}
	// Stable, hash-ordered lists: class-balanced caps take a pseudo-random
	// but fixed subset.
	byHash := func(xs []item) {
		sort.Slice(xs, func(i, j int) bool {
			if xs[i].h != xs[j].h {
				return xs[i].h < xs[j].h
			}
			return xs[i].en < xs[j].en
		})
	}
	byHash(train)
	byHash(dev)
	byHash(test)
	write := func(name string, xs []Example) error {
		w, err := data.CreateJSONL(filepath.Join(opt.Out, name))
		if err != nil {
			return err
		}
		for _, x := range xs {
			if err := w.Write(x); err != nil {
				w.Close()
				return err
			}
		}
		return w.Close()
	}
	english := func(split string, xs []item, capPer int) []Example {
		var out []Example
		per := map[string]int{}
		for _, it := range xs {
			if capPer > 0 && per[it.class] >= capPer {
				continue
			}
			per[it.class]++
			out = append(out, Example{Mask(it.en), it.class, "en"})
			counts[split+"/en/"+it.class]++
			counts[split+"/en"]++
		}
		return out
	}
	if err := write("train.jsonl", english("train", train, 0)); err != nil {
		return nil, err
	}
	if err := write("dev.jsonl", english("dev", dev, 0)); err != nil {
		return nil, err
	}
	if err := write("test-en.jsonl", english("test", test, TestCapPerClass)); err != nil {
		return nil, err
	}
	testTexts := map[uint64]bool{} // every test message, every language, for pretraining exclusion
	for _, it := range test {
		testTexts[hash64(it.en)] = true
		testTexts[hash64(Mask(it.en))] = true
		for _, t := range msgs[it.en].tr {
			testTexts[hash64(t)] = true
			testTexts[hash64(Mask(t))] = true
		}
	}
	for _, lang := range TestLangs {
		var out []Example
		per := map[string]int{}
		for _, it := range test {
			t, ok := msgs[it.en].tr[lang]
			if !ok || per[it.class] >= TestCapPerClass {
				continue
			}
			per[it.class]++
			out = append(out, Example{Mask(t), it.class, lang})
			counts["test/"+lang+"/"+it.class]++
			counts["test/"+lang]++
		}
		if err := write("test-"+lang+".jsonl", out); err != nil {
			return nil, err
		}
	}
	// Aligned train pairs in the test languages.
	pw, err := data.CreateJSONL(filepath.Join(opt.Out, "pairs-train.jsonl"))
	if err != nil {
		return nil, err
	}
	for _, it := range train {
		for _, lang := range TestLangs {
			if t, ok := msgs[it.en].tr[lang]; ok {
				pw.Write(struct {
					En   string `json:"en"`
					Lang string `json:"lang"`
					Text string `json:"text"`
				}{Mask(it.en), lang, Mask(t)})
				counts["pairs/"+lang]++
			}
		}
	}
	if err := pw.Close(); err != nil {
		return nil, err
	}
	msSrcs, err := buildManSec(opt, testTexts, counts)
	if err != nil {
		return nil, err
	}
	pre, err := writePretrain(opt, cats, parsed, testTexts, counts)
	if err != nil {
		return nil, err
	}
	m := &data.Manifest{Task: data.TaskXling, Name: "GetText-X", Format: 1, Counts: counts}
	m.Sources = append(m.Sources, data.Source{Name: "/usr/share/locale/*/LC_MESSAGES/*.mo", Files: len(cats), SHA256: data.HashStrings(catPaths), Note: "sha256 of the sorted file list"})
	m.Sources = append(m.Sources, pre...)
	m.Sources = append(m.Sources, msSrcs...)
	if err := opt.Drift(m, expect, tol); err != nil {
		return nil, err
	}
	return data.Finish(opt.Out, m, func() error { return writeCard(opt.Out, opt.Cache, m) })
}

type pretrainRec struct {
	Text   string `json:"text"`
	Lang   string `json:"lang"`
	Source string `json:"source"`
}

func writePretrain(opt data.BuildOptions, cats []catalog, parsed []*mo.Catalog, testTexts map[uint64]bool, counts map[string]int) ([]data.Source, error) {
	w, err := data.CreateJSONL(filepath.Join(opt.Out, "pretrain.jsonl"))
	if err != nil {
		return nil, err
	}
	defer w.Close()
	seen := map[uint64]bool{}
	emit := func(text, lang, source string) {
		text = strings.TrimSpace(text)
		if words(text) < 3 {
			return
		}
		if h := hash64(lang + "\x00" + text); seen[h] {
			counts["pretrain/duplicates"]++
			return
		} else {
			seen[h] = true
		}
		if testTexts[hash64(text)] || testTexts[hash64(Clean(text))] {
			counts["pretrain/excluded-test-text"]++
			return
		}
		w.Write(pretrainRec{text, lang, source})
		counts["pretrain/"+source]++
		counts["pretrain/bytes"] += len(text)
	}
	var sources []data.Source
	// 1. Man pages of the base image, English and translated.
	manRoot := opt.SysPath("/usr/share/man")
	pages, _ := filepath.Glob(filepath.Join(manRoot, "*", "man*", "*"))
	enPages, _ := filepath.Glob(filepath.Join(manRoot, "man*", "*"))
	pages = append(pages, enPages...)
	sort.Strings(pages)
	nman := 0
	for _, p := range pages {
		rel, _ := filepath.Rel(manRoot, p)
		lang := "en"
		if parts := strings.Split(filepath.ToSlash(rel), "/"); len(parts) == 3 {
			lang = parts[0]
		}
		if strings.HasPrefix(filepath.Base(p), "gcloud") {
			continue
		}
		if lang == "en" && hash64("man:"+filepath.ToSlash(rel))%100 >= EnglishManPct {
			continue // English is plentiful: keep a fixed sample
		}
		st, err := os.Lstat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		pg, err := roff.ReadFile(p)
		if err != nil || pg.Link {
			continue
		}
		nman++
		for _, para := range pg.Paragraphs {
			emit(para.Text, lang, "man")
		}
	}
	sources = append(sources, data.Source{Name: "/usr/share/man (base image)", Files: nman})
	// 2. Fortunes in other languages.
	for _, lang := range []string{"de", "it", "es", "ru", "pl", "cs"} {
		pkg := "fortunes-" + lang
		root, err := data.RequirePackage(opt.Cache, pkg)
		if err != nil {
			return nil, err
		}
		files := regularFiles(filepath.Join(root, "usr/share/games/fortunes", lang))
		for _, f := range files {
			if strings.HasSuffix(f, ".dat") || strings.HasSuffix(f, ".u8") {
				continue
			}
			if _, err := os.Stat(f + ".u8"); err == nil {
				f += ".u8"
			}
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			if lang == "ru" && !isUTF8(b) {
				continue // KOI8-R files are read through their .u8 twin when there is one
			}
			for _, e := range fortune.Parse(b) {
				emit(e, lang, "fortunes")
			}
		}
		sources = append(sources, data.SourceFromCache(opt.Cache, pkg))
	}
	// 3. Debian Reference translations.
	for _, lang := range []string{"de", "fr", "es", "it"} {
		pkg := "debian-reference-" + lang
		root, err := data.RequirePackage(opt.Cache, pkg)
		if err != nil {
			return nil, err
		}
		files, _ := filepath.Glob(filepath.Join(root, "usr/share/debian-reference", "*."+lang+".html"))
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			for _, p := range data.HTMLParagraphs(b) {
				emit(p, lang, "debian-reference")
			}
		}
		sources = append(sources, data.SourceFromCache(opt.Cache, pkg))
	}
	// 4. Train-split catalogue messages of every language.
	for i, c := range cats {
		if strings.HasPrefix(c.lang, "en") {
			continue
		}
		cat := parsed[i]
		if cat == nil {
			var err error
			if cat, err = mo.ReadFile(c.path); err != nil {
				return nil, err
			}
		}
		for _, m := range cat.Messages {
			en := Clean(m.ID)
			if words(en) < 3 || SplitOf(en) != "train" || len(m.Str) == 0 {
				continue
			}
			if t := Clean(m.Str[0]); t != en {
				emit(Mask(t), c.lang, "catalogues")
			}
		}
	}
	return sources, w.Close()
}

func isUTF8(b []byte) bool { return utf8.Valid(b) }

func regularFiles(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}
