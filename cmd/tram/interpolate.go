package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/tramlab/tram/wiseft"
)

func init() {
	register(&command{name: "interpolate", summary: "WiSE-FT: mix a pretrained and a fine-tuned model's weights, (1−α)·θ0 + α·θ_ft", run: runInterpolate})
}

func runInterpolate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("interpolate", "--from PRETRAINED --to TUNED --alpha A --out DIR [--extrapolate]",
		"Writes into DIR the WiSE-FT model θ_α = (1−α)·θ0 + α·θ_ft (Wortsman et al., CVPR 2022) of a\n"+
			"pretrained model θ0 (PRETRAINED) and a model fine-tuned from it θ_ft (TUNED), both model\n"+
			"directories (config.json, model.safetensors, possibly tokenizer.json). DIR is a model directory\n"+
			"like TUNED and loads wherever TUNED loads (tram eval, tram score).\n\n"+
			"Interpolated: every tensor of TUNED's model.safetensors that PRETRAINED's has under the same\n"+
			"name, dtype and shape, when the dtype is a float type (F64, F32, F16, BF16); batch norm's\n"+
			"running statistics are interpolated like the weights. Each element is computed in float64 and\n"+
			"rounded once to the tensor's dtype: α = 0 gives PRETRAINED's tensors and α = 1 TUNED's, bit for\n"+
			"bit, and an element equal in both (a frozen weight) is kept as it is.\n\n"+
			"Taken from TUNED unchanged, one line each with the reason: a tensor PRETRAINED lacks (a new\n"+
			"classification head), one whose shape or dtype differs (a head for another number of classes),\n"+
			"and integer tensors (num_batches_tracked). PRETRAINED's tensors that TUNED lacks (a masked-LM\n"+
			"head) are left out. Every other file of TUNED (config.json, tokenizer.json, …) is copied byte for\n"+
			"byte; nothing else of PRETRAINED is used. The safetensors metadata is TUNED's plus\n"+
			"tram_wiseft_alpha, tram_wiseft_from, tram_wiseft_to, tram_wiseft_from_sha256 and\n"+
			"tram_wiseft_to_sha256 (the two model.safetensors files' digests), without time stamps: the same\n"+
			"command writes byte-identical files.\n\n"+
			"DIR is written into a temporary directory beside it and renamed into place; it may be absent,\n"+
			"empty, or an earlier output of tram interpolate, which is replaced as a whole; any other existing\n"+
			"DIR is refused, and so is a DIR that is PRETRAINED or TUNED, lies inside one or contains one.", stderr)
	from := fs.String("from", "", "the pretrained model directory θ0, the model TUNED was fine-tuned from (required)")
	to := fs.String("to", "", "the fine-tuned model directory θ_ft; DIR gets its tensors, dtypes, shapes and other files (required)")
	alpha := fs.Float64("alpha", 0, "the mixing coefficient α in [0, 1]: 0 is PRETRAINED, 1 is TUNED; the paper uses 0.5 when\n"+
		"α is not tuned, or choose α on held-out data of the fine-tuning distribution (required)")
	out := fs.String("out", "", "the output model directory (absent, empty, or an earlier output of tram interpolate) (required)")
	extrapolate := fs.Bool("extrapolate", false, "accept an --alpha outside [0, 1]: α > 1 goes past TUNED along θ_ft − θ0, α < 0 past\n"+
		"PRETRAINED (without it, such an α is refused as a likely typo)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var missing []string
	for _, name := range []string{"from", "to", "alpha", "out"} {
		if !set[name] {
			missing = append(missing, "--"+name)
		}
	}
	a := *alpha
	switch {
	case len(missing) == 1:
		return fmt.Errorf("missing required flag %s", missing[0])
	case len(missing) > 1:
		return fmt.Errorf("missing required flags %s", strings.Join(missing, ", "))
	case *from == "" || *to == "" || *out == "":
		return errors.New("--from, --to and --out must not be empty")
	case math.IsNaN(a) || math.IsInf(a, 0):
		return fmt.Errorf("--alpha must be a finite number (got %v)", a)
	case (a < 0 || a > 1) && !*extrapolate:
		return fmt.Errorf("--alpha %v lies outside [0, 1], WiSE-FT's range; add --extrapolate to extrapolate on purpose", a)
	}
	res, err := wiseft.Interpolate(*from, *to, *out, a)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d tensors interpolated at alpha %v, %d taken from %s, %d of %s's left out\n",
		*out, len(res.Interpolated), a, len(res.FromTuned), *to, len(res.Ignored), *from)
	for _, t := range res.FromTuned {
		fmt.Fprintf(stdout, "taken from %s: %s\n", *to, t)
	}
	if len(res.Ignored) > 0 {
		fmt.Fprintf(stdout, "left out (only in %s): %s\n", *from, strings.Join(res.Ignored, ", "))
	}
	if len(res.Copied) > 0 {
		fmt.Fprintf(stdout, "copied from %s: %s\n", *to, strings.Join(res.Copied, ", "))
	}
	return nil
}
