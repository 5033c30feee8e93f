package lm

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/data/dictd"
)

func writeFile(t *testing.T, path string, content []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// dict writes a dictd dictionary holding entries.
func dict(t *testing.T, base string, entries []string) {
	var text, index strings.Builder
	for i, e := range entries {
		fmt.Fprintf(&index, "w%03d\t%s\t%s\n", i, dictd.EncodeNumber(int64(text.Len())), dictd.EncodeNumber(int64(len(e))))
		text.WriteString(e)
	}
	writeFile(t, base+".index", []byte(index.String()))
	writeFile(t, base+".dict.dz", gz(text.String()))
}

func zText(t *testing.T, dir, testament string, entries []string) {
	var raw bytes.Buffer
	var bzv []byte
	for _, e := range entries {
		rec := make([]byte, 10)
		binary.LittleEndian.PutUint32(rec[4:], uint32(raw.Len()))
		binary.LittleEndian.PutUint16(rec[8:], uint16(len(e)))
		bzv = append(bzv, rec...)
		raw.WriteString(e)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()
	bzs := make([]byte, 12)
	binary.LittleEndian.PutUint32(bzs[4:], uint32(z.Len()))
	binary.LittleEndian.PutUint32(bzs[8:], uint32(raw.Len()))
	writeFile(t, filepath.Join(dir, testament+".bzs"), bzs)
	writeFile(t, filepath.Join(dir, testament+".bzv"), bzv)
	writeFile(t, filepath.Join(dir, testament+".bzz"), z.Bytes())
}

func words(prefix string, i int) string {
	return fmt.Sprintf("%s entry %d says something quite long about the subject number %d and more words", prefix, i, i)
}

func fixture(t *testing.T) (sysroot, cache string, plant string) {
	sysroot, cache = t.TempDir(), t.TempDir()
	pkg := func(name string) string {
		root := data.PackageRoot(cache, name)
		writeFile(t, filepath.Join(root, data.StampFile), []byte("x\n"))
		return root
	}
	var foldoc, devil []string
	for i := 0; i < 10; i++ {
		foldoc = append(foldoc, fmt.Sprintf("term%d\n\n   %s\n", i, words("foldoc", i)))
		devil = append(devil, fmt.Sprintf("WORD%d, n.  %s\n", i, words("devil", i)))
	}
	dict(t, filepath.Join(pkg("dict-foldoc"), "usr/share/dictd/foldoc"), foldoc)
	dict(t, filepath.Join(pkg("dict-devil"), "usr/share/dictd/devil"), devil)
	plant = "WORD9, n. " + words("devil", 9) // the devil's test entry, quoted by GCIDE
	dict(t, filepath.Join(pkg("dict-gcide"), "usr/share/dictd/gcide"), []string{
		"Apple\n   A fruit of the apple tree, round and red or green.\n",
		"Quote\n   " + plant + "\n",
	})
	var jargon strings.Builder
	jargon.WriteString("Chapter 1. Intro\n   not an entry\n")
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&jargon, "   :hack%d: n.\n\n   %s\n\n", i, words("jargon", i))
	}
	jargon.WriteString("Appendix A. Hacker Folklore\n   :notme: excluded\n")
	writeFile(t, filepath.Join(pkg("jargon-text"), "usr/share/doc/jargon-text/jargon.txt.gz"), gz(jargon.String()))
	var html strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&html, "<p>%s %s</p>\n", words("reference", i), strings.Repeat("padding text ", 160))
	}
	writeFile(t, filepath.Join(pkg("debian-reference-en"), "usr/share/debian-reference/ch01.en.html"), []byte(html.String()))
	sw := filepath.Join(pkg("sword-text-web"), "usr/share/sword/modules/texts/ztext/engWEB2015eb")
	for _, tst := range []string{"ot", "nt"} {
		ents := []string{""}
		for c := 1; c <= 5; c++ {
			ents = append(ents, fmt.Sprintf(`<chapter n="%d" osisID="%s.%d" sID="x"/>`, c, tst, c), "<w>"+words(tst+" verse", c)+"</w>")
		}
		zText(t, sw, tst, ents)
	}
	var humorists, poems, fortunes strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&humorists, "%s\n%%\n", words("humour", i))
		fmt.Fprintf(&poems, "%s\n%%\n", words("poem", i))
		fmt.Fprintf(&fortunes, "%s\n%%\n", words("fortune", i))
	}
	fr := pkg("fortunes")
	writeFile(t, filepath.Join(fr, "usr/share/games/fortunes/humorists"), []byte(humorists.String()))
	writeFile(t, filepath.Join(fr, "usr/share/games/fortunes/songs-poems"), []byte(poems.String()))
	writeFile(t, filepath.Join(fr, "usr/share/games/fortunes/songs-poems.dat"), []byte{0, 1, 2})
	writeFile(t, filepath.Join(pkg("fortunes-min"), "usr/share/games/fortunes/fortunes"), []byte(fortunes.String()))
	wn := pkg("wordnet-base")
	for _, pos := range []string{"noun", "verb", "adj", "adv"} {
		writeFile(t, filepath.Join(wn, "usr/share/wordnet/data."+pos), []byte(
			"  1 This software and database is being provided\n00001740 03 n 02 big_thing 0 entity 0 000 | that which is perceived to exist\n"))
	}
	for _, sec := range []string{"4", "5", "7"} {
		for i := 0; i < 4; i++ {
			writeFile(t, filepath.Join(sysroot, "usr/share/man/man"+sec, fmt.Sprintf("page%d.%s", i, sec)),
				[]byte(fmt.Sprintf(".TH PAGE%d %s\n.SH DESCRIPTION\n%s\n", i, sec, words("man"+sec, i))))
		}
	}
	writeFile(t, filepath.Join(sysroot, "usr/share/man/man7/gcloud-thing.7"), []byte(".TH G 7\n.SH NAME\ngcloud text must not appear\n"))
	lic := map[string]string{
		"GPL-3":      "GNU GENERAL PUBLIC LICENSE. " + words("gpl", 1),
		"Apache-2.0": "Apache License Version 2.0. " + words("apache", 1),
		"BSD":        "Redistribution and use in source and binary forms, with or without modification. " + words("bsd", 1),
		"MIT":        "Permission is hereby granted, free of charge, to any person. " + words("mit", 1),
		"LGPL-2.1":   "GNU Lesser General Public License. " + words("lgpl", 1),
	}
	for name, text := range lic {
		writeFile(t, filepath.Join(sysroot, "usr/share/common-licenses", name), []byte(text+"\n"))
	}
	for i := 0; i < 6; i++ {
		writeFile(t, filepath.Join(sysroot, fmt.Sprintf("usr/share/doc/pkg%d/copyright", i)), []byte(fmt.Sprintf(
			"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: 2020 Someone\nLicense: GPL-2+\n This program is free software; you can redistribute it under the GNU General Public License. %s\n .\n %s\n",
			words("copyright", i), words("gpl paragraph", i%3))))
	}
	return sysroot, cache, plant
}

func TestBuild(t *testing.T) {
	sysroot, cache, plant := fixture(t)
	out := filepath.Join(t.TempDir(), "lm")
	m, err := build(data.BuildOptions{Cache: cache, Out: out, Sysroot: sysroot}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range Domains {
		for _, s := range Splits {
			docs, err := Load(out, d, s)
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) == 0 {
				t.Errorf("%s/%s is empty", d, s)
			}
			for _, doc := range docs {
				if doc.Domain != d {
					t.Errorf("%s/%s: domain %q", d, s, doc.Domain)
				}
				if strings.Contains(doc.Text, "gcloud") || strings.Contains(doc.Text, "notme") {
					t.Errorf("excluded text in %s/%s: %q", d, s, doc.Text)
				}
			}
		}
	}
	// Contiguous: FOLDOC entries 0-7 train, 8 valid, 9 test.
	train, _ := Load(out, "tech", "train")
	test, _ := Load(out, "tech", "test")
	if len(train) != 8 || !strings.Contains(train[7].Text, "entry 7 ") || len(test) != 1 || !strings.Contains(test[0].Text, "entry 9 ") {
		t.Errorf("tech split not contiguous: %d train, test %q", len(train), test)
	}
	// Licence families never straddle splits.
	famSplit := map[string]string{}
	for _, s := range Splits {
		docs, _ := Load(out, "legal", s)
		for _, d := range docs {
			f := Family(d.Text)
			if prev, ok := famSplit[f]; ok && prev != s {
				t.Errorf("family %s in %s and %s", f, prev, s)
			}
			famSplit[f] = s
		}
	}
	pre, err := LoadPretrain(out)
	if err != nil {
		t.Fatal(err)
	}
	srcs := map[string]bool{}
	for _, d := range pre {
		srcs[d.Source] = true
		if strings.Contains(d.Text, plant) {
			t.Error("pretraining holds a satire test entry")
		}
	}
	if !srcs["gcide"] || !srcs["wordnet"] || m.Counts["pretrain/excluded/gcide"] != 1 {
		t.Errorf("pretraining sources %v, excluded %d", srcs, m.Counts["pretrain/excluded/gcide"])
	}
	m2, err := build(data.BuildOptions{Cache: cache, Out: filepath.Join(t.TempDir(), "lm"), Sysroot: sysroot}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Files, m2.Files) {
		t.Error("two builds differ")
	}
}

func TestMissingPackage(t *testing.T) {
	_, err := Build(data.BuildOptions{Cache: t.TempDir(), Out: t.TempDir(), Sysroot: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "dict-foldoc") || !strings.Contains(err.Error(), "tram data fetch") {
		t.Errorf("got %v", err)
	}
}

func TestWordNetGlosses(t *testing.T) {
	got := WordNetGlosses("  1 licence\n00001740 03 n 02 big_thing 0 entity 0 000 | that which exists  \n")
	if len(got) != 1 || got[0] != "big thing, entity: that which exists" {
		t.Errorf("got %q", got)
	}
}

func ExampleFamily() {
	fmt.Println(Family("Permission is hereby granted, free of charge, to any person obtaining a copy"))
	fmt.Println(Family("This library is free software; under the GNU Lesser General Public License"))
	// Output:
	// mit
	// lgpl
}
