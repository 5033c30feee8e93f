package xling

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tramlab/tram/data"
	"github.com/tramlab/tram/data/mo"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func fakePackage(t *testing.T, cache, name string, files map[string]string) {
	root := data.PackageRoot(cache, name)
	writeFile(t, filepath.Join(root, data.StampFile), "x\n")
	for p, c := range files {
		writeFile(t, filepath.Join(root, p), c)
	}
}

var topics = map[string][]string{
	"git":       {"branch", "commit", "rebase", "remote", "stash"},
	"coreutils": {"file", "directory", "owner", "size", "link"},
}

func msgid(domain string, i int) string {
	return fmt.Sprintf("cannot update the %s number %d now", topics[domain][i%5], i)
}

// fixture builds a sysroot with two classes' catalogues in several
// languages and a cache with the pretraining packages.
func fixture(t *testing.T) (sysroot, cache string) {
	sysroot, cache = t.TempDir(), t.TempDir()
	for _, lang := range append([]string{"pl"}, TestLangs...) {
		for dom := range topics {
			var msgs []mo.Message
			for i := 0; i < 40; i++ {
				en := msgid(dom, i)
				if dom == "git" && i == 0 {
					en += " in git"
				}
				msgs = append(msgs, mo.Message{ID: en, Str: []string{fmt.Sprintf("[%s] %s", lang, en)}})
			}
			msgs = append(msgs, mo.Message{ID: "shared message in both", Str: []string{lang + " shared message text"}})
			msgs = append(msgs, mo.Message{ID: "too short", Str: []string{"x"}})
			writeFile(t, filepath.Join(sysroot, "usr/share/locale", lang, "LC_MESSAGES", dom+".mo"), string(mo.Encode("", msgs)))
		}
	}
	// A man page that quotes one German test message verbatim.
	var testDe string
	for i := 0; i < 40 && testDe == ""; i++ {
		if SplitOf(Clean(msgid("coreutils", i))) == "test" {
			testDe = "[de] " + msgid("coreutils", i)
		}
	}
	if testDe == "" {
		t.Fatal("fixture has no test message")
	}
	writeFile(t, filepath.Join(sysroot, "usr/share/man/de/man1/foo.1"), ".TH FOO 1\n.SH BESCHREIBUNG\nfoo zeigt Dateien an und mehr.\n.PP\n"+testDe+"\n")
	writeFile(t, filepath.Join(sysroot, "usr/share/man/man1/foo.1"), ".TH FOO 1\n.SH DESCRIPTION\nfoo shows files and more.\n")
	for _, l := range []string{"de", "it", "es", "ru", "pl", "cs"} {
		fakePackage(t, cache, "fortunes-"+l, map[string]string{
			"usr/share/games/fortunes/" + l + "/misc": "ein kleiner Spruch hier\n%\nnoch ein Spruch dort\n"})
	}
	for _, l := range []string{"de", "fr", "es", "it"} {
		fakePackage(t, cache, "debian-reference-"+l, map[string]string{
			"usr/share/debian-reference/ch01." + l + ".html": "<html><p>Debian Referenz Kapitel eins &amp; mehr</p></html>"})
	}
	for _, l := range ManSecLangs {
		pkg := "manpages-" + strings.ToLower(strings.ReplaceAll(l, "_", "-"))
		fakePackage(t, cache, pkg, map[string]string{
			"usr/share/man/" + l + "/man1/foo.1": ".TH FOO 1\n.SH BESCHREIBUNG\nfoo zeigt alle Dateien an.\n.SH OPTIONEN\n.TP\n-a, --all zeigt auch versteckte Dateien\n.SH DATEIEN\n/etc/foo.conf ist die Konfigurationsdatei\n"})
	}
	writeFile(t, filepath.Join(sysroot, "usr/share/man/man1/bar.1"), ".TH BAR 1\n.SH DESCRIPTION\nbar prints the bars.\n.SH OPTIONS\n.TP\n-v, --verbose prints more words\n.SH EXAMPLES\nbar -v prints many bars\n.SH BUGS\nbar has no known bugs at all.\n")
	return sysroot, cache
}

func TestBuild(t *testing.T) {
	sysroot, cache := fixture(t)
	out := filepath.Join(t.TempDir(), "xling")
	m, err := build(data.BuildOptions{Cache: cache, Out: out, Sysroot: sysroot}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Counts["dropped/ambiguous"] != 1 {
		t.Errorf("ambiguous = %d, want 1", m.Counts["dropped/ambiguous"])
	}
	train, err := Load(out, "train")
	if err != nil || len(train) == 0 {
		t.Fatalf("train: %d, %v", len(train), err)
	}
	seen := map[string]string{}
	for _, split := range []string{"train", "dev", "test-en"} {
		xs, err := Load(out, split)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range xs {
			if prev, ok := seen[x.Text]; ok {
				t.Errorf("%q in %s and %s", x.Text, prev, split)
			}
			seen[x.Text] = split
			if x.Label != "vcs" && x.Label != "shell" || x.Lang != "en" {
				t.Errorf("bad example %+v", x)
			}
			if strings.Contains(strings.ToLower(x.Text), "git") {
				t.Errorf("unmasked: %q", x.Text)
			}
		}
	}
	tests := map[string]bool{}
	for _, l := range TestLangs {
		xs, err := Load(out, "test-"+l)
		if err != nil || len(xs) == 0 {
			t.Fatalf("test-%s: %d, %v", l, len(xs), err)
		}
		for _, x := range xs {
			if x.Lang != l || !strings.HasPrefix(x.Text, "["+l+"]") {
				t.Errorf("bad test example %+v", x)
			}
			tests[x.Text] = true
		}
	}
	docs, err := LoadPretrain(out)
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]int{}
	for _, d := range docs {
		sources[d.Source]++
		if tests[d.Text] {
			t.Errorf("test message in pretraining: %+v", d)
		}
	}
	for _, s := range []string{"man", "fortunes", "debian-reference", "catalogues"} {
		if sources[s] == 0 {
			t.Errorf("no pretraining text from %s: %v", s, sources)
		}
	}
	if m.Counts["pretrain/excluded-test-text"] == 0 {
		t.Error("the planted test message was not excluded")
	}
	pairs, err := LoadPairs(out)
	if err != nil || len(pairs) == 0 {
		t.Fatalf("pairs: %d, %v", len(pairs), err)
	}
	// ManSec-X: English train from bar(1) only (foo(1) is translated), tests in every language.
	msTrain, err := Load(filepath.Join(out, "mansec"), "train")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range msTrain {
		if strings.Contains(x.Text, "foo") {
			t.Errorf("translated page in ManSec-X train: %+v", x)
		}
	}
	if m.Counts["mansec/train"]+m.Counts["mansec/dev"] != 4 {
		t.Errorf("ManSec-X English paragraphs: %d train, %d dev, want 4", m.Counts["mansec/train"], m.Counts["mansec/dev"])
	}
	for _, l := range ManSecLangs {
		xs, err := Load(filepath.Join(out, "mansec"), "test-"+l)
		if err != nil || len(xs) != 3 || xs[0].Lang != l {
			t.Errorf("ManSec-X test-%s: %+v, %v", l, xs, err)
		}
	}
	for _, f := range []string{"CARD.md", "SUMMARY.txt", "manifest.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// Same inputs, same bytes.
	out2 := filepath.Join(t.TempDir(), "xling")
	m2, err := build(data.BuildOptions{Cache: cache, Out: out2, Sysroot: sysroot}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Files, m2.Files) {
		t.Error("two builds differ")
	}
	// Drift: recorded counts far from these fail the build.
	_, err = build(data.BuildOptions{Cache: cache, Out: out2, Sysroot: sysroot}, map[string]int{"train/en": 100000}, 0.25)
	if err == nil || !strings.Contains(err.Error(), "drifted") {
		t.Errorf("drift not detected: %v", err)
	}
}

func TestBuildErrors(t *testing.T) {
	_, err := Build(data.BuildOptions{Cache: t.TempDir(), Out: t.TempDir(), Sysroot: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), ".mo") {
		t.Errorf("empty sysroot: %v", err)
	}
	sysroot, _ := fixture(t)
	_, err = Build(data.BuildOptions{Cache: t.TempDir(), Out: t.TempDir(), Sysroot: sysroot})
	if err == nil || !strings.Contains(err.Error(), "tram data fetch") {
		t.Errorf("empty cache: %v", err)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"_Open file":         "Open file",
		"打开(_O)":             "打开",
		"snake_case  name\n": "snake_case name",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func ExampleMask() {
	fmt.Println(Mask("fatal: not a git repository; see 'git help' or the PostgreSQL docs"))
	fmt.Println(Class("gnupg2"), Class("psql-15"), Class("iso_3166"))
	// Output:
	// fatal: not a <prog> repository; see '<prog> help' or the <prog> docs
	// crypto database
}

// maskRE is the reference definition of Mask.
var maskRE = regexp.MustCompile(`(?i)\b(git|gitk|github|gitlab|postgresql|postgres|psql|pg_[a-z_]+|libpq|initdb|ecpg|plpgsql|gnupg|gpg[a-z-]*|gpgsm|dirmngr|gnutls|kerberos|krb5|kinit|kadmin|pam|libidn2?|binutils|objdump|readelf|objcopy|bfd|elfutils|gprof|coreutils|findutils|grep|sed|tar|diffutils|procps(-ng)?|util-linux|bash|wget|dpkg[a-z-]*|apt(-get|-cache|-key|-mark)?|aptitude|packagekit|appstream|debconf|debian|gtk\+?|gtk[234]|glib|gio|gdk-pixbuf|gdk|gstreamer|polkit|xkb|gnome|glibc|libc)\b`)

func TestMaskMatchesRegexp(t *testing.T) {
	cases := []string{
		"git", "Git: not a git repository", "gitignore and digit", "use git-config", "GIT_DIR is set",
		"PostgreSQL server psql and pg_dump or pg_ctl15", "gpg-agent failed; gpgconf --list", "gpg- end", "dpkg-deb -x",
		"dpkg-", "apt-get install; apt-cache show; apt-gett", "util-linux and util", "gdk-pixbuf loader", "gdk-pix",
		"procps-ng tools", "gtk3 and gtk4", "libidn2 and libidn", "tar: cannot sed the grep",
		"started used capture spam", "Сбой git в каталоге", "打开 gnome 窗口", "libc.so.6 (glibc)", "x_git git_x",
		"debian/control", "bash-completion", "krb5.conf", "pam_unix", "xkb:us", "a-git-b", "gpg-agent-",
	}
	for _, c := range cases {
		if got, want := Mask(c), maskRE.ReplaceAllString(c, "<prog>"); got != want {
			t.Errorf("Mask(%q) = %q, regexp gives %q", c, got, want)
		}
	}
	// Unlike the regexp, whose \b cannot follow "+", Mask takes "GTK+" whole.
	if got := Mask("GTK+ theme"); got != "<prog> theme" {
		t.Errorf("Mask(GTK+) = %q", got)
	}
}

func FuzzMask(f *testing.F) {
	f.Add("git: gpg-agent and apt-get on util-linux")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Mask(s), maskRE.ReplaceAllString(s, "<prog>"); got != want && utf8.ValidString(s) && isASCII(s) && !strings.Contains(strings.ToLower(s), "gtk+") {
			t.Errorf("Mask(%q) = %q, regexp gives %q", s, got, want)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func TestCleanLatin1(t *testing.T) {
	if got := Clean("ung\xfcltige  Adresse"); got != "ungültige Adresse" {
		t.Errorf("got %q", got)
	}
}
