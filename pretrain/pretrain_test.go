package pretrain

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tramlab/tram/internal/fixture"
	"github.com/tramlab/tram/train"
)

func fixtureData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := fixture.Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDeterministicAndResumable pretrains each family briefly twice, once
// straight and once interrupted and resumed, and requires the same bytes.
func TestDeterministicAndResumable(t *testing.T) {
	data := fixtureData(t)
	for _, fam := range Families {
		t.Run(fam, func(t *testing.T) {
			dir := t.TempDir()
			run := func(out string, interruptAfter int) error {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				o := Options{Data: data, Out: out, Steps: 4, Batch: 4, Seed: 3, SaveEvery: 1, Command: "test", Version: "test"}
				o.Progress = func(done, total int, loss float64) {
					if done == interruptAfter {
						cancel()
					}
				}
				_, err := Run(ctx, fam, o)
				return err
			}
			a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
			if err := run(a, -1); err != nil {
				t.Fatal(err)
			}
			err := run(b, 2)
			if !errors.Is(err, train.ErrInterrupted) {
				t.Fatalf("interrupted run: %v", err)
			}
			if _, err := os.Stat(b); !os.IsNotExist(err) {
				t.Fatal("an interrupted run wrote its output directory")
			}
			if err := run(b, -1); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"model.safetensors", "config.json"} {
				x, _ := os.ReadFile(filepath.Join(a, f))
				y, _ := os.ReadFile(filepath.Join(b, f))
				if len(x) == 0 || !bytes.Equal(x, y) {
					t.Errorf("%s differs between the straight and the resumed run", f)
				}
			}
			card, _ := os.ReadFile(filepath.Join(b, "CARD.md"))
			if !strings.Contains(string(card), "resumed at step 2") || !strings.Contains(string(card), "held-out loss") {
				t.Errorf("card:\n%s", card)
			}
			if _, err := os.Stat(b + ".partial"); !os.IsNotExist(err) {
				t.Error("snapshots left behind")
			}
			if fam != "vision" {
				if _, err := os.Stat(filepath.Join(b, "tokenizer.json")); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		fam, data, want string
	}{
		{"audio", dir, `unknown family "audio"`},
		{"lm", dir, "tram data build lm"},
		{"vision", dir, "tram data build vision"},
		{"xling", dir, "tram data build xling"},
	} {
		_, err := Run(context.Background(), c.fam, Options{Data: c.data, Out: filepath.Join(dir, "out")})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.fam, err, c.want)
		}
	}
}

func TestInterleave(t *testing.T) {
	a := []string{"a0", "a1", "a2", "a3", "a4", "a5"}
	b := []string{"b0", "b1", "b2"}
	got := strings.Join(interleave(a, b), " ")
	if want := "a0 b0 a1 a2 b1 a3 a4 b2 a5"; got != want {
		t.Errorf("interleave = %s, want %s", got, want)
	}
	if got := interleave(a, nil); len(got) != 6 {
		t.Errorf("interleave with nothing = %v", got)
	}
}

// TestBroadCorpus: --corpus broad reads the registers' training splits
// too, says so in the card, and is refused for an unknown corpus.
func TestBroadCorpus(t *testing.T) {
	data := fixtureData(t)
	out := filepath.Join(t.TempDir(), "broad")
	if _, err := Run(context.Background(), "lm", Options{Data: data, Out: out, Steps: 2, Batch: 4, Corpus: "broad", Command: "test", Version: "test"}); err != nil {
		t.Fatal(err)
	}
	card, err := os.ReadFile(filepath.Join(out, "CARD.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(card), "| corpus | broad |") || !strings.Contains(string(card), "training splits of the eight registers") {
		t.Errorf("the card does not say the corpus is broad:\n%s", card)
	}
	if _, err := Run(context.Background(), "lm", Options{Data: data, Out: out + "2", Steps: 2, Corpus: "web"}); err == nil || !strings.Contains(err.Error(), "dictionary, broad") {
		t.Errorf("unknown corpus: %v", err)
	}
}
