package wiseft

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tramlab/tram/checkpoint"
)

// checkModelDir checks that dir is a directory holding model.safetensors.
func checkModelDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("wiseft: model directory %s does not exist", dir)
	}
	if err != nil {
		return fmt.Errorf("wiseft: model directory %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("wiseft: %s is not a model directory (it is a file)", dir)
	}
	path := filepath.Join(dir, ModelFile)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			hint := ""
			if _, e := os.Stat(filepath.Join(dir, ModelFile+".index.json")); e == nil {
				hint = " (sharded checkpoints are not supported: merge the shards into one file)"
			}
			return fmt.Errorf("wiseft: %s has no %s%s", dir, ModelFile, hint)
		}
		return fmt.Errorf("wiseft: %w", err)
	}
	return nil
}

// checkOut checks that out may be written: not an input, not inside or
// around one, and absent, empty or an earlier output of Interpolate.
func checkOut(out, from, to string) error {
	ao, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("wiseft: %w", err)
	}
	for _, in := range []string{from, to} {
		ai, err := filepath.Abs(in)
		if err != nil {
			return fmt.Errorf("wiseft: %w", err)
		}
		if within(ao, ai) || within(ai, ao) {
			return fmt.Errorf("wiseft: output directory %s must be neither an input model directory nor inside or around one (%s)", out, in)
		}
	}
	st, err := os.Lstat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("wiseft: output directory %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("wiseft: output %s exists and is not a directory", out)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("wiseft: output directory %w", err)
	}
	if len(ents) == 0 {
		return nil
	}
	refuse := func(why string) error {
		return fmt.Errorf("wiseft: output directory %s exists and %s, so it is not an earlier output of interpolate, which alone is replaced: choose another directory or remove it", out, why)
	}
	sf, err := checkpoint.Open(filepath.Join(out, ModelFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return refuse("holds no " + ModelFile)
		}
		return refuse(fmt.Sprintf("its %s cannot be read (%v)", ModelFile, err))
	}
	defer sf.Close()
	if _, ok := sf.Metadata[MetaAlpha]; !ok {
		return refuse(fmt.Sprintf("its %s has no %s metadata", ModelFile, MetaAlpha))
	}
	return nil
}

// within reports whether path a is b or lies inside b (both absolute and
// clean).
func within(a, b string) bool {
	return a == b || strings.HasPrefix(a, strings.TrimSuffix(b, string(filepath.Separator))+string(filepath.Separator))
}

// listFiles returns the files of dir other than model.safetensors, as
// sorted paths relative to dir, descending into subdirectories. Symbolic
// links to files (as in a Hugging Face cache snapshot) count as files.
func listFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("wiseft: %w", err)
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		switch {
		case rel == ".", rel == ModelFile:
			return nil
		case d.IsDir():
			return nil
		case d.Type().IsRegular():
		case d.Type()&fs.ModeSymlink != 0:
			st, err := os.Stat(path)
			if err != nil {
				return fmt.Errorf("wiseft: %w", err)
			}
			if !st.Mode().IsRegular() {
				return fmt.Errorf("wiseft: %s is a symbolic link to something other than a file, which is not copied: remove it or copy the model directory without it", path)
			}
		default:
			return fmt.Errorf("wiseft: %s is not a regular file (%v) and cannot be copied", path, d.Type())
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	return files, nil
}

// copyFile copies src to dst byte for byte, creating dst's directory.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("wiseft: %w", err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("wiseft: %w", err)
	}
	return checkpoint.WriteAtomic(dst, func(w io.Writer) error {
		if _, err := io.Copy(w, in); err != nil {
			return fmt.Errorf("wiseft: copying %s: %w", src, err)
		}
		return nil
	})
}

// writeDir calls write on a fresh temporary directory beside out and then
// renames it to out, replacing an existing out as a whole: the old one is
// moved aside, the new one moved in, and only then the old one removed (or
// put back if the move failed). On error nothing is left behind.
func writeDir(out string, write func(dir string) error) error {
	parent, base := filepath.Dir(out), filepath.Base(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("wiseft: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-")
	if err != nil {
		return fmt.Errorf("wiseft: %w", err)
	}
	defer os.RemoveAll(tmp) // nothing there after a successful rename
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("wiseft: %w", err)
	}
	if err := write(tmp); err != nil {
		return err
	}
	if _, err := os.Lstat(out); err == nil {
		old, err := os.MkdirTemp(parent, "."+base+".old-")
		if err != nil {
			return fmt.Errorf("wiseft: %w", err)
		}
		os.Remove(old) // a fresh name: os.Rename does not replace directories
		defer os.RemoveAll(old)
		if err := os.Rename(out, old); err != nil {
			return fmt.Errorf("wiseft: %w", err)
		}
		if err := os.Rename(tmp, out); err != nil {
			os.Rename(old, out)
			return fmt.Errorf("wiseft: %w", err)
		}
	} else if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("wiseft: %w", err)
	}
	if d, err := os.Open(parent); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
