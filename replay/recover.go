package replay

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Recovery is what NewRecorder found of a capture in its directory that a
// crash left unfinished (without its sidecar index): the damage (a torn
// tail is cut off), or the error that kept it from being recovered.
type Recovery struct {
	Path   string
	Damage []Damage
	Err    error
}

// recoverDir finishes the captures in dir that a Recorder left without
// their index (killed, or the machine lost): OpenCapture cuts a torn tail
// off, and the index is written, so that the next replay neither meets the
// tail again nor walks the file. Only a Recorder holding dir may call it:
// no other is writing there.
func recoverDir(dir string) []Recovery {
	paths, _ := filepath.Glob(filepath.Join(dir, "tickd-*.cap")) // (the pattern is valid)
	var out []Recovery
	for _, p := range paths {
		if _, err := os.Stat(indexPath(p)); !errors.Is(err, os.ErrNotExist) {
			continue // finished (or not ours to judge)
		}
		d, err := recoverCapture(p)
		out = append(out, Recovery{Path: p, Damage: d, Err: err})
	}
	return out
}

// recoverCapture cuts the torn tail of the capture at path off, if any, and
// writes its index.
func recoverCapture(path string) ([]Damage, error) {
	r, damage, err := OpenCapture(path, OpenOptions{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	st, err := os.Stat(path)
	if err != nil {
		return damage, fmt.Errorf("replay: %w", err)
	}
	return damage, writeIndex(indexPath(path), r.hcrc, st.Size(), r.blocks)
}
