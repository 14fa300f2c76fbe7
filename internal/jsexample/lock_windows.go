package jsexample

import (
	"os"
	"testing"

	"golang.org/x/sys/windows"
)

// lockFile takes an exclusive lock on the whole of path (creating it),
// waiting for another holder, and returns the function that releases it:
// LockFileEx, Windows' flock.
func lockFile(t testing.TB, path string) (unlock func()) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("jsexample: %v", err)
	}
	h := windows.Handle(f.Fd())
	const all = ^uint32(0) // the lock's length, low and high words: the whole file and beyond
	if err := windows.LockFileEx(h, windows.LOCKFILE_EXCLUSIVE_LOCK, 0, all, all, new(windows.Overlapped)); err != nil {
		f.Close()
		t.Fatalf("jsexample: lock %s: %v", path, err)
	}
	return func() {
		_ = windows.UnlockFileEx(h, 0, all, all, new(windows.Overlapped))
		f.Close()
	}
}
