//go:build linux

package feed

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestTailFIFO: a FIFO is followed like a file, and neither a FIFO without a
// writer (whose open would block until one came) nor a writer keeping it
// open in silence (whose read would block) holds the tail past its context.
func TestTailFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ticks.fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// After a failure, a writer opened without blocking releases a
	// tail stuck in its open, so the test can end.
	defer func() {
		if w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	}()
	r := startTail(t, path, nil)
	w, err := os.OpenFile(path, os.O_WRONLY, 0) // waits for the tail's open
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.WriteString("1,A,1,1\n2,A,1,2\n"); err != nil {
		t.Fatal(err)
	}
	equalQtys(t, r.qtys(2), 1, 2)
	stopWithin(t, r) // the writer is open and silent
	if len(r.rs.list()) != 0 {
		t.Fatalf("reports %v", r.rs.list())
	}

	r = startTail(t, path, nil) // no writer at all
	waitFor(t, "the tail to open the FIFO", func() bool { return openHere(path) })
	stopWithin(t, r)
}

// openHere says whether this process holds path open (its fd shows in
// /proc only once an open has returned).
func openHere(path string) bool {
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && l == path {
			return true
		}
	}
	return false
}

// stopWithin stops r, failing if the tail does not return in time.
func stopWithin(t *testing.T, r *tailRun) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the tail did not return after its context ended")
	}
}
