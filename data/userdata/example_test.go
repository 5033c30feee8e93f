package userdata_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tramlab/tram/data/userdata"
)

// Read a CSV of labelled texts, its label set, and each example's class.
func Example() {
	dir, _ := os.MkdirTemp("", "userdata")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "train.csv")
	os.WriteFile(path, []byte("text,label\nlovely film,pos\ndull plot,neg\nfine acting,pos\n"), 0o644)

	ex, err := userdata.ReadTexts(path, userdata.Columns{}, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	var raw []string
	for _, e := range ex {
		raw = append(raw, e.Label)
	}
	labels, _ := userdata.LabelSet(path, raw)
	y, _ := userdata.LabelIndex(path, ex, labels)
	fmt.Println(labels, y)
	for _, e := range ex {
		fmt.Printf("line %d: %q\n", e.Line, e.Text)
	}
	// Output:
	// [neg pos] [1 0 1]
	// line 2: "lovely film"
	// line 3: "dull plot"
	// line 4: "fine acting"
}
