//go:build unix

package dirlock

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestTakeHoldsTheDirectory: a second Take of a held lock (another open
// file: flock holds per open file, so this process stands for a second
// writer) fails naming the holder's pid; once the holder closes, it succeeds.
func TestTakeHoldsTheDirectory(t *testing.T) {
	dir := t.TempDir()
	f, err := Take(dir, "lock")
	if err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(os.Getpid())
	if b, err := os.ReadFile(filepath.Join(dir, "lock")); err != nil || strings.TrimSpace(string(b)) != pid {
		t.Fatalf("lock file holds %q (%v), want the pid %s", b, err, pid)
	}
	_, err = Take(dir, "lock")
	var held *HeldError
	if !errors.As(err, &held) || held.PID != pid || held.Path != filepath.Join(dir, "lock") {
		t.Fatalf("second Take: %v, want held by pid %s", err, pid)
	}
	if !strings.Contains(err.Error(), "held by pid "+pid) {
		t.Errorf("error %q does not name the holder", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := Take(dir, "lock")
	if err != nil {
		t.Fatalf("Take after the holder closed: %v", err)
	}
	g.Close()
}

// TestTakeMissingDirectory: a directory that does not exist is an error,
// not a lock file made somewhere else.
func TestTakeMissingDirectory(t *testing.T) {
	if f, err := Take(filepath.Join(t.TempDir(), "missing"), "lock"); err == nil {
		f.Close()
		t.Fatal("Take in a missing directory succeeded")
	}
}
