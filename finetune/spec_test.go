package finetune

import (
	"reflect"
	"slices"
	"testing"

	"github.com/tramlab/tram/sharp"
)

// TestOptionFlagsCoverOptionsUsed: every option a method reads has a flag,
// and every flag sets a field of sharp.Options.
func TestOptionFlagsCoverOptionsUsed(t *testing.T) {
	var fields []string
	for _, o := range optionFlags {
		if _, ok := reflect.TypeOf(sharp.Options{}).FieldByName(o.field); !ok {
			t.Errorf("--%s sets sharp.Options.%s, which does not exist", o.name, o.field)
		}
		fields = append(fields, o.field)
	}
	for _, m := range sharp.MethodNames {
		for _, u := range sharp.OptionsUsed(m) {
			if !slices.Contains(fields, u) {
				t.Errorf("%s reads Options.%s, which no flag sets", m, u)
			}
		}
	}
}

// TestSpecFromFlags: a map of flags gives the Spec the same command line
// gives, the recipe applied; an unknown flag and a missing required one
// are errors.
func TestSpecFromFlags(t *testing.T) {
	f, err := SpecFromFlags(map[string]string{"config": "recipe:vision", "method": "sam", "rho": "0.1", "out": "o", "model": "m"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Out() != "o" || f.Steps() == 0 || f.Flags()["rho"] != "0.1" || f.Flags()["kappa"] != "(method default)" || f.Flags()["lr"] == "" {
		t.Errorf("out %q, steps %d, flags %v", f.Out(), f.Steps(), f.Flags())
	}
	if _, ok := f.Flags()["out"]; ok {
		t.Error("--out is not a flag that defines the run")
	}
	if _, err := SpecFromFlags(map[string]string{"nosuch": "1"}); err == nil {
		t.Error("an unknown flag was accepted")
	}
	f, err = SpecFromFlags(map[string]string{"method": "sam"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err == nil || err.Error() != "missing required flags: --model, --out, --steps, --batch-size, --lr" {
		t.Errorf("Validate: %v", err)
	}
}
