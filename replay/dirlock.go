package replay

import (
	"errors"
	"fmt"
	"os"

	"github.com/tickd/tickd/internal/dirlock"
)

// lockName is the file in a capture directory whose lock a Recorder holds:
// the files of two recorders in one directory would interleave in name
// order, and replaying DIR/*.cap would cut each one's sources at every
// other file.
const lockName = ".tickd-record.lock"

// lockDir takes dir for one Recorder; a second one is refused, naming the
// holder's pid.
func lockDir(dir string) (*os.File, error) {
	f, err := dirlock.Take(dir, lockName)
	var held *dirlock.HeldError
	if errors.As(err, &held) {
		return nil, fmt.Errorf("replay: capture directory %s is recorded to by another recorder (pid %s): give each its own directory",
			dir, held.PID)
	}
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	return f, nil
}
