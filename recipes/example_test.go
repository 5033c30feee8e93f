package recipes_test

import (
	"fmt"
	"strings"

	"github.com/tramlab/tram/recipes"
)

func ExampleRead() {
	fmt.Println(recipes.Names())
	b, _ := recipes.Read("vision")
	fmt.Println(strings.Contains(string(b), "method: sgd"))
	// Output:
	// [lm vision xling]
	// true
}
