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
	"bytes/humour/train":      1765541,
	"bytes/jargon/train":      1141381,
	"bytes/legal/train":       2891708,
	"bytes/manuals/train":     4890902,
	"bytes/poetry/train":      208613,
	"bytes/satire/train":      282350,
	"bytes/scripture/train":   3946059,
	"bytes/tech/train":        4149797,
	"entries/humour/test":     1329,
	"entries/humour/train":    11320,
	"entries/humour/valid":    1361,
	"entries/jargon/test":     150,
	"entries/jargon/train":    1944,
	"entries/jargon/valid":    213,
	"entries/legal/test":      677,
	"entries/legal/train":     2721,
	"entries/legal/valid":     369,
	"entries/manuals/test":    82,
	"entries/manuals/train":   677,
	"entries/manuals/valid":   45,
	"entries/poetry/test":     42,
	"entries/poetry/train":    648,
	"entries/poetry/valid":    30,
	"entries/satire/test":     72,
	"entries/satire/train":    880,
	"entries/satire/valid":    47,
	"entries/scripture/test":  100,
	"entries/scripture/train": 1144,
	"entries/scripture/valid": 145,
	"entries/tech/test":       1176,
	"entries/tech/train":      9625,
	"entries/tech/valid":      1213,
	"pretrain/gcide":          126206,
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

func writeCard(dir, cache string, m *data.Manifest) error {
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
	fmt.Fprintf(&b, "## Splits\n\nContiguous runs of entries, never random lines: every source file (man section, fortune file, testament, dictionary) is cut in order at 80%% and 90%% of its bytes into train, valid and test (poetry 90/5/5, as the source is small). Legal keeps each licence family (GPL, LGPL, BSD, MIT, Apache, …) whole on one side, assigned greedily by size toward 80/10/10 of the text.\n\n")
	fmt.Fprintf(&b, "Licences of the Debian packages used:\n\n%s\n", data.LicenseTable(cache, data.TaskLM))
	fmt.Fprintf(&b, "## Known leakage risks and how they were closed\n\n")
	fmt.Fprintf(&b, "- Near-duplicate licence text across packages: copyright paragraphs are deduplicated (case- and whitespace-insensitive) and families never straddle splits.\n")
	fmt.Fprintf(&b, "- Random-line splits would leak context between neighbouring lines: splits are contiguous.\n")
	fmt.Fprintf(&b, "- Pretraining text quoting a domain (GCIDE quotes the Bible and poets): any pretraining document sharing an 8-word sequence with a valid/test entry is dropped.\n")
	fmt.Fprintf(&b, "- Remaining: FOLDOC and the Jargon File cross-reference each other's headwords; fortunes quote famous authors that GCIDE also quotes in shorter fragments.\n\n")
	fmt.Fprintf(&b, "## Format\n\n`DOMAIN/{train,valid,test}.jsonl` with `{\"text\",\"domain\"}` per entry (paragraphs separated by \\n); `pretrain.jsonl` with `{\"text\",\"source\"}`. Load with `lm.Load(dir, domain, split)` and `lm.LoadPretrain(dir)`.\n")
	return os.WriteFile(filepath.Join(dir, "CARD.md"), []byte(b.String()), 0o644)
}
