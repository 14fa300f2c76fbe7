// Package dirlock holds a directory for one writer: an exclusive advisory
// lock (flock) on a file in it, which names the holder's pid so that a
// second writer's error can say who has it. The lock goes with the file's
// close, or with the process. Where the system has no advisory locks
// (not unix) a directory is not guarded.
package dirlock

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// HeldError is Take's error when another open file holds the lock.
type HeldError struct {
	Path string // the lock file
	PID  string // the holder's pid, as it wrote it ("" if unreadable)
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is held by pid %s", e.Path, e.PID)
}

var errLocked = errors.New("locked")

// Take locks dir/name, creating it, and writes this process's pid into it.
// Close the returned file to release the lock.
func Take(dir, name string) (*os.File, error) {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			holder, _ := os.ReadFile(path)
			return nil, &HeldError{Path: path, PID: string(bytes.TrimSpace(holder))}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
