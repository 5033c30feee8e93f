package lm

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
	"bytes/humour/train":      1750919,
	"bytes/jargon/train":      1094343,
	"bytes/legal/train":       2891708,
	"bytes/manuals/train":     4192537,
	"bytes/poetry/train":      208613,
	"bytes/satire/train":      253880,
	"bytes/scripture/train":   3853327,
	"bytes/tech/train":        4144336,
	"entries/humour/test":     1397,
	"entries/humour/train":    11208,
	"entries/humour/valid":    1405,
	"entries/jargon/test":     231,
	"entries/jargon/train":    1846,
	"entries/jargon/valid":    230,
	"entries/legal/test":      677,
	"entries/legal/train":     2721,
	"entries/legal/valid":     369,
	"entries/manuals/test":    81,
	"entries/manuals/train":   644,
	"entries/manuals/valid":   79,
	"entries/poetry/test":     36,
	"entries/poetry/train":    648,
	"entries/poetry/valid":    36,
	"entries/satire/test":     100,
	"entries/satire/train":    799,
	"entries/satire/valid":    100,
	"entries/scripture/test":  139,
	"entries/scripture/train": 1111,
	"entries/scripture/valid": 139,
	"entries/tech/test":       1201,
	"entries/tech/train":      9611,
	"entries/tech/valid":      1202,
	"pretrain/gcide":          126209,
	"pretrain/wordnet":        117655,
}

var domainSources = map[string]string{
	"tech":      "FOLDOC, dict-foldoc (GFDL-1.1+)",
	"jargon":    "The Jargon File 4.4.7, jargon-text (public domain)",
	"manuals":   "man pages sections 4/5/7 of the base image (manpages: various free licences) and the Debian Reference, debian-reference-en (GPL-2+)",
	"legal":     "/usr/share/common-licenses and /usr/share/doc/*/copyright of the base image (licence texts; verbatim copying permitted)",
	"scripture": "World English Bible, sword-text-web (public domain)",
	"humour":    "fortunes, fortunes-min (BSD; the collections' quotations are their authors')",
	"poetry":    "fortunes songs-poems (BSD collection)",
	"satire":    "Ambrose Bierce, The Devil's Dictionary, dict-devil (public domain)",
}

func writeCard(dir string, m *data.Manifest) error {
	c := m.Counts
	var b strings.Builder
	fmt.Fprintf(&b, "# LM-Register data card\n\nEight English text domains for cross-domain language modelling (the paper's M2D2 setup, scaled down), and a general-English pretraining corpus.\n\n")
	fmt.Fprintf(&b, "## Domains\n\n| domain | source (licence) | train KB | valid KB | test KB | train/valid/test entries |\n|---|---|---|---|---|---|\n")
	for _, d := range Domains {
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %.0f | %d/%d/%d |\n", d, domainSources[d],
			float64(c["bytes/"+d+"/train"])/1e3, float64(c["bytes/"+d+"/valid"])/1e3, float64(c["bytes/"+d+"/test"])/1e3,
			c["entries/"+d+"/train"], c["entries/"+d+"/valid"], c["entries/"+d+"/test"])
	}
	fmt.Fprintf(&b, "\nPretraining corpus: GCIDE (dict-gcide, GPL-3+) %d entries, %.1f MB; WordNet 3.0 glosses (wordnet-base, WordNet licence) %d synsets, %.1f MB. Dropped for sharing an 8-word sequence with a domain's valid/test text: GCIDE %d, WordNet %d.\n\n",
		c["pretrain/gcide"], float64(c["bytes/pretrain/gcide"])/1e6, c["pretrain/wordnet"], float64(c["bytes/pretrain/wordnet"])/1e6, c["pretrain/excluded/gcide"], c["pretrain/excluded/wordnet"])
	fmt.Fprintf(&b, "## Splits\n\nContiguous runs of entries, never random lines: every source file (man section, fortune file, testament, dictionary) is cut in order into 80%% train, 10%% valid, 10%% test (poetry 90/5/5, as the source is small). Legal keeps each licence family (GPL, LGPL, BSD, MIT, Apache, …) whole on one side, assigned greedily by size toward 80/10/10 of the text.\n\n")
	fmt.Fprintf(&b, "## Known leakage risks and how they were closed\n\n")
	fmt.Fprintf(&b, "- Near-duplicate licence text across packages: copyright paragraphs are deduplicated (case- and whitespace-insensitive) and families never straddle splits.\n")
	fmt.Fprintf(&b, "- Random-line splits would leak context between neighbouring lines: splits are contiguous.\n")
	fmt.Fprintf(&b, "- Pretraining text quoting a domain (GCIDE quotes the Bible and poets): any pretraining document sharing an 8-word sequence with a valid/test entry is dropped.\n")
	fmt.Fprintf(&b, "- Remaining: FOLDOC and the Jargon File cross-reference each other's headwords; fortunes quote famous authors that GCIDE also quotes in shorter fragments.\n\n")
	fmt.Fprintf(&b, "## Format\n\n`DOMAIN/{train,valid,test}.jsonl` with `{\"text\",\"domain\"}` per entry (paragraphs separated by \\n); `pretrain.jsonl` with `{\"text\",\"source\"}`. Load with `lm.Load(dir, domain, split)` and `lm.LoadPretrain(dir)`.\n")
	return os.WriteFile(filepath.Join(dir, "CARD.md"), []byte(b.String()), 0o644)
}
