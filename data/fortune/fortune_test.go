package fortune

import (
	"fmt"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	in := "first\nline two\n%\n\n%\nB\bBo\bol\bld _\bu\n% \nlast\xe9\n"
	got := Parse([]byte(in))
	if len(got) != 3 || got[0] != "first\nline two" || got[1] != "Bold u" {
		t.Fatalf("got %q", got)
	}
	if got[2] != "last\u00e9" {
		t.Errorf("Latin-1 not decoded: %q", got[2])
	}
	if !reflect.DeepEqual(Parse(nil), []string(nil)) {
		t.Error("empty input gave entries")
	}
}

func Example() {
	for _, e := range Parse([]byte("A day without sunshine is like night.\n%\nWhen in doubt, tell the truth.\n")) {
		fmt.Println(e)
	}
	// Output:
	// A day without sunshine is like night.
	// When in doubt, tell the truth.
}
