package vision

import (
	"fmt"

	"github.com/tramlab/tram/data"
)

// Build builds the task into opt.Out.
func Build(opt data.BuildOptions) (*data.Manifest, error) {
	return nil, fmt.Errorf("vision: not implemented yet")
}
