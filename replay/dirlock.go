package replay

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// lockName is the file in a capture directory whose lock a Recorder holds:
// the files of two recorders in one directory would interleave in name
// order, and replaying DIR/*.cap would cut each one's sources at every
// other file.
const lockName = ".tickd-record.lock"

var errLocked = errors.New("locked")

// lockDir takes dir for one Recorder, writing its pid into the lock file so
// that a second one can name the holder. The lock goes with the file's
// close (or the process).
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			holder, _ := os.ReadFile(path)
			return nil, fmt.Errorf("replay: capture directory %s is recorded to by another recorder (pid %s): give each its own directory",
				dir, bytes.TrimSpace(holder))
		}
		return nil, fmt.Errorf("replay: lock %s: %w", path, err)
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("replay: %w", err)
	}
	return f, nil
}
