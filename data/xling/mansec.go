package xling

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/data/roff"
)

// ManSec-X, the second task of the xling build (directory mansec/): which
// kind of man-page section a paragraph comes from. Models train on English
// pages that are translated in none of the test languages and are tested
// on the translated pages of manpages-{de,fr,es,pl,ru,uk,it,pt-br}.

// ManSecClasses lists the ManSec-X labels.
var ManSecClasses = []string{"description", "options", "examples", "files-env", "notes-bugs"}

// ManSecLangs are the test languages of ManSec-X (man directory names).
var ManSecLangs = []string{"de", "fr", "es", "pl", "ru", "uk", "it", "pt_BR"}

// Caps on paragraphs per class.
const (
	manSecTrainCap = 6000
	manSecDevCap   = 800
	manSecTestCap  = 300
)

// sectionClass maps upper-cased section headings, in every language, to a
// label. Headings that mean both ERRORS and BUGS in a language (German
// FEHLER, Polish BŁĘDY, Spanish ERRORES, Russian ОШИБКИ) are left out.
var sectionClass = map[string]string{}

func init() {
	for class, heads := range map[string]string{
		"description": "DESCRIPTION|BESCHREIBUNG|DESCRIPCIÓN|OPIS|ОПИСАНИЕ|ОПИС|DESCRIZIONE|DESCRIÇÃO",
		"options":     "OPTIONS|OPTIONEN|OPCIONES|OPCJE|ПАРАМЕТРЫ|ОПЦИИ|КЛЮЧИ|ПАРАМЕТРИ|ОПЦІЇ|OPZIONI|OPÇÕES",
		"examples":    "EXAMPLES|EXAMPLE|BEISPIELE|BEISPIEL|EXEMPLES|EXEMPLE|EJEMPLOS|EJEMPLO|PRZYKŁADY|PRZYKŁAD|ПРИМЕРЫ|ПРИМЕР|ПРИКЛАДИ|ПРИКЛАД|ESEMPI|ESEMPIO|EXEMPLOS|EXEMPLO",
		"files-env":   "FILES|FILE|ENVIRONMENT|DATEIEN|UMGEBUNG|UMGEBUNGSVARIABLEN|FICHIERS|ENVIRONNEMENT|ARCHIVOS|FICHEROS|ENTORNO|PLIKI|ŚRODOWISKO|ФАЙЛЫ|ОКРУЖЕНИЕ|ФАЙЛИ|СЕРЕДОВИЩЕ|AMBIENTE|ARQUIVOS",
		"notes-bugs":  "NOTES|NOTE|BUGS|BUG|ANMERKUNGEN|HINWEISE|BOGUES|NOTAS|UWAGI|ЗАМЕЧАНИЯ|ПРИМЕЧАНИЯ|ДЕФЕКТЫ|ПРИМІТКИ|ЗАУВАЖЕННЯ|ВАДИ",
	} {
		for _, h := range strings.Split(heads, "|") {
			sectionClass[h] = class
		}
	}
}

// SectionClass returns the ManSec-X label of a section heading, or "".
func SectionClass(heading string) string {
	return sectionClass[strings.ToUpper(strings.TrimSpace(heading))]
}

// pageName is a man page's file name without compression suffix, e.g. "ls.1".
func pageName(path string) string { return strings.TrimSuffix(filepath.Base(path), ".gz") }

type manPara struct {
	text, class string
	h           uint64
}

// manParagraphs converts the pages and returns their labelled paragraphs in
// hash order.
func manParagraphs(paths []string) []manPara {
	var out []manPara
	for _, p := range paths {
		if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
			continue
		}
		pg, err := roff.ReadFile(p)
		if err != nil || pg.Link {
			continue
		}
		for _, para := range pg.Paragraphs {
			cl := SectionClass(para.Section)
			if cl == "" || words(para.Text) < 3 {
				continue
			}
			out = append(out, manPara{para.Text, cl, hash64("mansec:" + para.Text)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].h != out[j].h {
			return out[i].h < out[j].h
		}
		return out[i].text < out[j].text
	})
	return out
}

// buildManSec writes mansec/{train,dev,test-LANG}.jsonl and adds every test
// paragraph to testTexts so that the pretraining corpus leaves them out.
func buildManSec(opt data.BuildOptions, testTexts map[uint64]bool, counts map[string]int) ([]data.Source, error) {
	translated := map[string]bool{}
	var sources []data.Source
	testPages := map[string][]string{}
	for _, lang := range ManSecLangs {
		pkg := "manpages-" + strings.ToLower(strings.ReplaceAll(lang, "_", "-"))
		root, err := data.RequirePackage(opt.Cache, pkg)
		if err != nil {
			return nil, err
		}
		sources = append(sources, data.SourceFromCache(opt.Cache, pkg))
		paths, _ := filepath.Glob(filepath.Join(root, "usr/share/man", lang, "man*", "*"))
		sort.Strings(paths)
		testPages[lang] = paths
		for _, p := range paths {
			translated[pageName(p)] = true
		}
		base, _ := filepath.Glob(filepath.Join(opt.SysPath("/usr/share/man"), lang, "man*", "*"))
		for _, p := range base {
			translated[pageName(p)] = true
		}
	}
	enPaths, _ := filepath.Glob(filepath.Join(opt.SysPath("/usr/share/man"), "man*", "*"))
	sort.Strings(enPaths)
	var train []string
	for _, p := range enPaths {
		if n := pageName(p); !translated[n] && !strings.HasPrefix(n, "gcloud") {
			train = append(train, p)
		}
	}
	counts["mansec/pages/en"] = len(train)
	write := func(name string, paras []manPara, lang string, capPer int, split string) error {
		w, err := data.CreateJSONL(filepath.Join(opt.Out, "mansec", name))
		if err != nil {
			return err
		}
		per := map[string]int{}
		for _, p := range paras {
			if per[p.class] >= capPer {
				continue
			}
			per[p.class]++
			w.Write(Example{Text: p.text, Label: p.class, Lang: lang})
			counts["mansec/"+split+"/"+p.class]++
			counts["mansec/"+split]++
			if split != "train" && split != "dev" {
				testTexts[hash64(p.text)] = true
			}
		}
		return w.Close()
	}
	var trainParas, devParas []manPara
	for _, p := range manParagraphs(train) {
		if hash64("mansec-split:"+p.text)%10 == 0 {
			devParas = append(devParas, p)
		} else {
			trainParas = append(trainParas, p)
		}
	}
	if err := write("train.jsonl", trainParas, "en", manSecTrainCap, "train"); err != nil {
		return nil, err
	}
	if err := write("dev.jsonl", devParas, "en", manSecDevCap, "dev"); err != nil {
		return nil, err
	}
	for _, lang := range ManSecLangs {
		counts["mansec/pages/"+lang] = len(testPages[lang])
		if err := write("test-"+lang+".jsonl", manParagraphs(testPages[lang]), lang, manSecTestCap, "test/"+lang); err != nil {
			return nil, err
		}
	}
	sources = append(sources, data.Source{Name: "/usr/share/man/man* (base image, ManSec-X train)", Files: len(train), SHA256: data.HashStrings(train)})
	return sources, nil
}
