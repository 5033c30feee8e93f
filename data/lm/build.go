// Package lm builds LM-Register, eight English text domains for
// cross-domain language modelling, plus a general-English pretraining
// corpus, and loads them.
//
// Domains and sources (Debian packages unless marked "base image"):
//
//	tech       FOLDOC entries (dict-foldoc, dictd format)
//	jargon     Jargon File entries (jargon-text)
//	manuals    man pages of sections 4, 5 and 7 (base image; gcloud* excluded)
//	           and the Debian Reference (debian-reference-en)
//	legal      /usr/share/common-licenses and the deduplicated licence
//	           paragraphs of /usr/share/doc/*/copyright (base image)
//	scripture  World English Bible chapters (sword-text-web, SWORD zText)
//	humour     English fortunes (fortunes, fortunes-min) except songs-poems
//	poetry     fortunes' songs-poems
//	satire     The Devil's Dictionary (dict-devil)
//
// Splits are contiguous runs of entries, never random lines: each source
// file is cut in order into train, valid and test at 80% and 90% of its
// bytes (poetry: 90% and 95%), so that neighbouring text stays on one side. Licence
// families (GPL, LGPL, BSD, …) are kept whole on one side of the split.
//
// The pretraining corpus holds GCIDE entries (dict-gcide) and WordNet
// glosses (wordnet-base); a document sharing any 8-word sequence with a
// domain's valid or test text is dropped.
//
// Output layout in the task directory (JSONL, one object per line):
//
//	DOMAIN/train.jsonl, DOMAIN/valid.jsonl, DOMAIN/test.jsonl   {"text": entry, "domain": DOMAIN}
//	pretrain.jsonl                                             {"text": doc, "source": "gcide"|"wordnet"}
package lm

import (
	"compress/gzip"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/data/dictd"
	"github.com/tramlab/tram/data/fortune"
	"github.com/tramlab/tram/data/roff"
	"github.com/tramlab/tram/data/sword"
)

// Domains lists the eight domains in a fixed order.
var Domains = []string{"tech", "jargon", "manuals", "legal", "scripture", "humour", "poetry", "satire"}

// Splits lists the split names.
var Splits = []string{"train", "valid", "test"}

// A Doc is one entry of a domain or of the pretraining corpus.
type Doc struct {
	Text   string `json:"text"`
	Domain string `json:"domain,omitempty"`
	Source string `json:"source,omitempty"`
}

// a group is a run of entries that is split contiguously.
type group struct {
	name    string
	entries []string
}

// fractions of train and valid per domain; the rest is test. Poetry is
// small, so it keeps more for training.
var fractions = map[string][2]float64{
	"poetry": {0.9, 0.05},
}

func fractionsOf(domain string) (float64, float64) {
	if f, ok := fractions[domain]; ok {
		return f[0], f[1]
	}
	return 0.8, 0.1
}

// Build builds LM-Register into opt.Out.
func Build(opt data.BuildOptions) (*data.Manifest, error) {
	return build(opt, expected, 0.25)
}

func build(opt data.BuildOptions, expect map[string]int, tol float64) (*data.Manifest, error) {
	if err := opt.PrepareOut(); err != nil {
		return nil, err
	}
	m := &data.Manifest{Task: data.TaskLM, Name: "LM-Register", Format: 1, Counts: map[string]int{}}
	evalShingles := map[uint64]bool{}
	for _, dom := range Domains {
		opt.Logf("domain %s", dom)
		groups, srcs, err := readDomain(dom, opt)
		if err != nil {
			return nil, fmt.Errorf("domain %s: %w", dom, err)
		}
		m.Sources = append(m.Sources, srcs...)
		var splits [3][]string
		if dom == "legal" {
			var fams [3][]string
			splits, fams = splitFamilies(groups)
			for si, fs := range fams {
				for _, f := range fs {
					m.Counts["legal-family/"+Splits[si]+"/"+f]++
				}
			}
		} else {
			ftr, fva := fractionsOf(dom)
			for _, g := range groups {
				a, b := cutPoints(g.entries, ftr, ftr+fva)
				splits[0] = append(splits[0], g.entries[:a]...)
				splits[1] = append(splits[1], g.entries[a:b]...)
				splits[2] = append(splits[2], g.entries[b:]...)
			}
		}
		for si, split := range Splits {
			w, err := data.CreateJSONL(filepath.Join(opt.Out, dom, split+".jsonl"))
			if err != nil {
				return nil, err
			}
			for _, e := range splits[si] {
				w.Write(Doc{Text: e, Domain: dom})
				m.Counts["bytes/"+dom+"/"+split] += len(e)
				if si > 0 {
					addShingles(evalShingles, e)
				}
			}
			m.Counts["entries/"+dom+"/"+split] = w.Count()
			if err := w.Close(); err != nil {
				return nil, err
			}
		}
	}
	srcs, err := writePretrain(opt, evalShingles, m.Counts)
	if err != nil {
		return nil, err
	}
	m.Sources = append(m.Sources, srcs...)
	if err := opt.Drift(m, expect, tol); err != nil {
		return nil, err
	}
	return data.Finish(opt.Out, m, func() error { return writeCard(opt.Out, opt.Cache, m) })
}

// cutPoints returns the contiguous cut points a ≤ b of entries such that
// entries[:a] hold about the fraction f1 of the text's bytes and
// entries[:b] about f2; a group of three or more entries gives every split
// at least one entry.
func cutPoints(entries []string, f1, f2 float64) (a, b int) {
	n := len(entries)
	total := 0
	for _, e := range entries {
		total += len(e)
	}
	a, b = n, n
	cum := 0
	for i, e := range entries {
		if a == n && float64(cum)+float64(len(e))/2 > f1*float64(total) {
			a = i
		}
		if b == n && float64(cum)+float64(len(e))/2 > f2*float64(total) {
			b = i
			break
		}
		cum += len(e)
	}
	if n >= 3 {
		a = min(max(a, 1), n-2)
		b = min(max(b, a+1), n-1)
	}
	return a, b
}

// splitFamilies assigns whole licence families to splits, largest first,
// each to the split furthest below its 80/10/10 share of the text.
func splitFamilies(groups []group) (splits, families [3][]string) {
	type fam struct {
		g     group
		bytes int
	}
	var fams []fam
	total := 0
	for _, g := range groups {
		n := 0
		for _, e := range g.entries {
			n += len(e)
		}
		fams = append(fams, fam{g, n})
		total += n
	}
	sort.SliceStable(fams, func(i, j int) bool {
		if fams[i].bytes != fams[j].bytes {
			return fams[i].bytes > fams[j].bytes
		}
		return fams[i].g.name < fams[j].g.name
	})
	target := [3]float64{0.8, 0.1, 0.1}
	var have [3]int
	for _, f := range fams {
		best, bestDef := 0, -1e18
		for s := 0; s < 3; s++ {
			def := target[s]*float64(total) - float64(have[s])
			if def > bestDef {
				best, bestDef = s, def
			}
		}
		have[best] += f.bytes
		splits[best] = append(splits[best], f.g.entries...)
		families[best] = append(families[best], f.g.name)
	}
	return splits, families
}

// reflow trims each line, joins the lines of a paragraph with spaces and
// separates paragraphs by one newline.
func reflow(s string) string {
	var paras []string
	var cur []string
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r", ""), "\n") {
		t := strings.TrimSpace(line)
		if t == "" {
			if len(cur) > 0 {
				paras = append(paras, strings.Join(cur, " "))
				cur = nil
			}
			continue
		}
		cur = append(cur, t)
	}
	if len(cur) > 0 {
		paras = append(paras, strings.Join(cur, " "))
	}
	return strings.Join(paras, "\n")
}

func readDomain(dom string, opt data.BuildOptions) ([]group, []data.Source, error) {
	pkg := func(name string) (string, data.Source, error) {
		root, err := data.RequirePackage(opt.Cache, name)
		return root, data.SourceFromCache(opt.Cache, name), err
	}
	switch dom {
	case "tech", "satire":
		name, base := "dict-foldoc", "foldoc"
		if dom == "satire" {
			name, base = "dict-devil", "devil"
		}
		root, src, err := pkg(name)
		if err != nil {
			return nil, nil, err
		}
		d, err := dictd.Open(filepath.Join(root, "usr/share/dictd", base))
		if err != nil {
			return nil, nil, err
		}
		var es []string
		for _, e := range d.Entries() {
			if t := reflow(e); t != "" {
				es = append(es, t)
			}
		}
		return []group{{base, es}}, []data.Source{src}, nil
	case "jargon":
		root, src, err := pkg("jargon-text")
		if err != nil {
			return nil, nil, err
		}
		b, err := readGzip(filepath.Join(root, "usr/share/doc/jargon-text/jargon.txt.gz"))
		if err != nil {
			return nil, nil, err
		}
		return []group{{"jargon", jargonEntries(string(b))}}, []data.Source{src}, nil
	case "manuals":
		var groups []group
		var nfiles int
		var files []string
		for _, sec := range []string{"man4", "man5", "man7"} {
			var es []string
			paths, _ := filepath.Glob(filepath.Join(opt.SysPath("/usr/share/man"), sec, "*"))
			sort.Strings(paths)
			for _, p := range paths {
				if strings.HasPrefix(filepath.Base(p), "gcloud") {
					continue
				}
				if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
					continue
				}
				pg, err := roff.ReadFile(p)
				if err != nil {
					return nil, nil, err
				}
				if pg.Link {
					continue
				}
				var paras []string
				for _, para := range pg.Paragraphs {
					paras = append(paras, para.Text)
				}
				if t := strings.Join(paras, "\n"); t != "" {
					es = append(es, t)
					files = append(files, sec+"/"+filepath.Base(p))
				}
			}
			nfiles += len(es)
			groups = append(groups, group{sec, es})
		}
		root, src, err := pkg("debian-reference-en")
		if err != nil {
			return nil, nil, err
		}
		html, _ := filepath.Glob(filepath.Join(root, "usr/share/debian-reference", "*.en.html"))
		sort.Strings(html)
		var es []string
		for _, f := range html {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, nil, err
			}
			es = append(es, chunk(data.HTMLParagraphs(b), 2000)...)
		}
		groups = append(groups, group{"debian-reference", es})
		return groups, []data.Source{src, {Name: "/usr/share/man/man{4,5,7} (base image)", Files: nfiles, SHA256: data.HashStrings(files), Note: "sha256 of the sorted page list"}}, nil
	case "legal":
		return legalGroups(opt)
	case "scripture":
		root, src, err := pkg("sword-text-web")
		if err != nil {
			return nil, nil, err
		}
		dir := filepath.Join(root, "usr/share/sword/modules/texts/ztext/engWEB2015eb")
		var groups []group
		for _, t := range []string{"ot", "nt"} {
			ents, err := sword.ReadTestament(dir, t)
			if err != nil {
				return nil, nil, err
			}
			var es []string
			for _, ch := range sword.Chapters(ents) {
				es = append(es, ch.Text)
			}
			groups = append(groups, group{t, es})
		}
		return groups, []data.Source{src}, nil
	case "humour", "poetry":
		var groups []group
		var srcs []data.Source
		for _, name := range []string{"fortunes", "fortunes-min"} {
			root, src, err := pkg(name)
			if err != nil {
				return nil, nil, err
			}
			srcs = append(srcs, src)
			dir := filepath.Join(root, "usr/share/games/fortunes")
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				n := e.Name()
				if !e.Type().IsRegular() || strings.Contains(n, ".") {
					continue
				}
				if (dom == "poetry") != (n == "songs-poems") || humourSkip[n] {
					continue
				}
				es, err := fortune.ReadFile(filepath.Join(dir, n))
				if err != nil {
					return nil, nil, err
				}
				groups = append(groups, group{n, es})
			}
		}
		return groups, srcs, nil
	}
	return nil, nil, fmt.Errorf("unknown domain %q", dom)
}

// humourSkip lists fortune files that are not prose humour.
var humourSkip = map[string]bool{"art": true, "ascii-art": true, "translate-me": true}

var jargonHead = regexp.MustCompile(`^   :[^:]+:`)

func jargonEntries(s string) []string {
	var out []string
	var cur []string
	in := false
	flush := func() {
		if t := reflow(strings.Join(cur, "\n")); t != "" {
			out = append(out, t)
		}
		cur = nil
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "Appendix A.") {
			break
		}
		if jargonHead.MatchString(line) {
			if in {
				flush()
			}
			in = true
			cur = []string{line}
			continue
		}
		if in {
			cur = append(cur, line)
		}
	}
	if in {
		flush()
	}
	return out
}

func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// chunk joins consecutive paragraphs into entries of about size bytes.
func chunk(paras []string, size int) []string {
	var out []string
	var cur []string
	n := 0
	for _, p := range paras {
		cur = append(cur, p)
		n += len(p)
		if n >= size {
			out = append(out, strings.Join(cur, "\n"))
			cur, n = nil, 0
		}
	}
	if len(cur) > 0 {
		out = append(out, strings.Join(cur, "\n"))
	}
	return out
}

// Family returns the licence family of a licence text or copyright
// paragraph, or "other".
func Family(text string) string {
	t := strings.ToLower(text)
	switch {
	case strings.Contains(t, "lesser general public") || strings.Contains(t, "library general public"):
		return "lgpl"
	case strings.Contains(t, "affero"):
		return "agpl"
	case strings.Contains(t, "gnu general public") || strings.Contains(t, "gpl"):
		return "gpl"
	case strings.Contains(t, "free documentation license"):
		return "gfdl"
	case strings.Contains(t, "apache license"):
		return "apache"
	case strings.Contains(t, "mozilla public"):
		return "mpl"
	case strings.Contains(t, "artistic license") || strings.Contains(t, "perl itself"):
		return "artistic"
	case strings.Contains(t, "creative commons") || strings.Contains(t, "cc0"):
		return "cc"
	case strings.Contains(t, "redistribution and use in source and binary forms"):
		return "bsd"
	case strings.Contains(t, "permission is hereby granted, free of charge"):
		return "mit"
	case strings.Contains(t, "public domain"):
		return "public-domain"
	case strings.Contains(t, "permission to use, copy, modify"):
		return "isc-like"
	}
	return "other"
}

func legalGroups(opt data.BuildOptions) ([]group, []data.Source, error) {
	byFam := map[string][]string{}
	seen := map[uint64]bool{}
	add := func(text string) {
		t := reflow(text)
		if len(strings.Fields(t)) < 20 {
			return
		}
		h := fnv.New64a()
		io.WriteString(h, strings.Join(strings.Fields(strings.ToLower(t)), " "))
		if seen[h.Sum64()] {
			return
		}
		seen[h.Sum64()] = true
		f := Family(t)
		byFam[f] = append(byFam[f], t)
	}
	lic, _ := filepath.Glob(opt.SysPath("/usr/share/common-licenses/*"))
	sort.Strings(lic)
	var names []string
	for _, p := range lic {
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		names = append(names, filepath.Base(p))
		// A whole licence is one entry: its family is its name's.
		t := reflow(string(b))
		h := fnv.New64a()
		io.WriteString(h, strings.Join(strings.Fields(strings.ToLower(t)), " "))
		seen[h.Sum64()] = true
		f := Family(t)
		byFam[f] = append(byFam[f], t)
	}
	cps, _ := filepath.Glob(opt.SysPath("/usr/share/doc/*/copyright"))
	sort.Strings(cps)
	for _, p := range cps {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // dangling links in /usr/share/doc are not our business
		}
		for _, para := range copyrightParagraphs(string(b)) {
			add(para)
		}
	}
	if len(names) == 0 && len(cps) == 0 {
		return nil, nil, fmt.Errorf("no licences under %s", opt.SysPath("/usr/share/common-licenses"))
	}
	var groups []group
	for _, f := range data.SortedKeys(byFam) {
		groups = append(groups, group{f, byFam[f]})
	}
	return groups, []data.Source{
		{Name: "/usr/share/common-licenses (base image)", Files: len(names), SHA256: data.HashStrings(names)},
		{Name: "/usr/share/doc/*/copyright (base image)", Files: len(cps)},
	}, nil
}

// copyrightParagraphs splits a copyright file into paragraphs, turning the
// " ." blank lines of DEP-5 continuation fields into paragraph breaks and
// dropping field names.
func copyrightParagraphs(s string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == "" || t == ".":
			flush()
		case !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") && dep5Field.MatchString(line):
			flush()
			if _, v, _ := strings.Cut(line, ":"); strings.TrimSpace(v) != "" && !strings.HasPrefix(line, "License:") {
				cur = append(cur, strings.TrimSpace(v))
			}
		default:
			cur = append(cur, t)
		}
	}
	flush()
	return out
}

var dep5Field = regexp.MustCompile(`^[A-Za-z-]+:`)

var spaceRE = regexp.MustCompile(`\s+`)

func shingles(s string, fn func(uint64)) {
	ws := strings.Fields(strings.ToLower(s))
	const k = 8
	for i := 0; i+k <= len(ws); i++ {
		h := fnv.New64a()
		for _, w := range ws[i : i+k] {
			io.WriteString(h, w)
			h.Write([]byte{0})
		}
		fn(h.Sum64())
	}
}

func addShingles(set map[uint64]bool, s string) { shingles(s, func(h uint64) { set[h] = true }) }

func overlaps(set map[uint64]bool, s string) bool {
	hit := false
	shingles(s, func(h uint64) {
		if set[h] {
			hit = true
		}
	})
	return hit
}

func writePretrain(opt data.BuildOptions, eval map[uint64]bool, counts map[string]int) ([]data.Source, error) {
	w, err := data.CreateJSONL(filepath.Join(opt.Out, "pretrain.jsonl"))
	if err != nil {
		return nil, err
	}
	defer w.Close()
	emit := func(text, source string) {
		if text == "" {
			return
		}
		if overlaps(eval, text) {
			counts["pretrain/excluded/"+source]++
			return
		}
		w.Write(Doc{Text: text, Source: source})
		counts["pretrain/"+source]++
		counts["bytes/pretrain/"+source] += len(text)
	}
	root, err := data.RequirePackage(opt.Cache, "dict-gcide")
	if err != nil {
		return nil, err
	}
	d, err := dictd.Open(filepath.Join(root, "usr/share/dictd/gcide"))
	if err != nil {
		return nil, err
	}
	for _, e := range d.Entries() {
		emit(reflow(e), "gcide")
	}
	wroot, err := data.RequirePackage(opt.Cache, "wordnet-base")
	if err != nil {
		return nil, err
	}
	for _, pos := range []string{"noun", "verb", "adj", "adv"} {
		b, err := os.ReadFile(filepath.Join(wroot, "usr/share/wordnet", "data."+pos))
		if err != nil {
			return nil, err
		}
		for _, g := range WordNetGlosses(string(b)) {
			emit(g, "wordnet")
		}
	}
	return []data.Source{data.SourceFromCache(opt.Cache, "dict-gcide"), data.SourceFromCache(opt.Cache, "wordnet-base")}, w.Close()
}

// WordNetGlosses returns "word, word: gloss" for every synset line of a
// WordNet data.POS file, skipping the licence header.
func WordNetGlosses(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if line == "" || line[0] == ' ' {
			continue
		}
		head, gloss, ok := strings.Cut(line, " | ")
		if !ok {
			continue
		}
		f := strings.Fields(head)
		if len(f) < 5 {
			continue
		}
		var n int
		fmt.Sscanf(f[3], "%x", &n)
		var ws []string
		for i := 0; i < n && 4+2*i < len(f); i++ {
			ws = append(ws, strings.ReplaceAll(f[4+2*i], "_", " "))
		}
		out = append(out, strings.Join(ws, ", ")+": "+strings.TrimSpace(spaceRE.ReplaceAllString(gloss, " ")))
	}
	return out
}
