package replay

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestNewRecorderRefusesDirWithoutFiles: a directory that exists but takes
// no files (here /proc, which refuses them to root too) fails NewRecorder,
// naming it, instead of the first read of a feed.
func TestNewRecorderRefusesDirWithoutFiles(t *testing.T) {
	_, err := NewRecorder(RecorderOptions{Dir: "/proc", Format: "native"})
	if err == nil || !strings.Contains(err.Error(), "capture directory /proc takes no files") {
		t.Fatalf("NewRecorder(/proc): %v", err)
	}
}

// TestRecorderWriteFailureLeavesNoTornTail: a write that fails (a full
// disk; here the file size limit, RLIMIT_FSIZE, in a child process) stops
// the recorder with the error, and the capture it was writing is cut back
// to its last whole block and indexed, so it reopens clean: the failed
// write left part of a block behind, a torn tail.
func TestRecorderWriteFailureLeavesNoTornTail(t *testing.T) {
	if dir := os.Getenv("TICKD_TEST_FSIZE_DIR"); dir != "" {
		recordPastFileSizeLimit(t, dir, os.Getenv("TICKD_TEST_FSIZE_DIRECT") == "1")
		return
	}
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestRecorderWriteFailureLeavesNoTornTail$", "-test.count=1")
			cmd.Env = append(os.Environ(), "TICKD_TEST_FSIZE_DIR="+dir, fmt.Sprintf("TICKD_TEST_FSIZE_DIRECT=%d", map[bool]int{false: 0, true: 1}[direct]))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("recording child: %v\n%s", err, out)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "tickd-*.cap"))
			if len(files) != 1 {
				t.Fatalf("capture files %v, want 1", files)
			}
			r, dmg, err := OpenCapture(files[0], OpenOptions{ReadOnly: true, Verify: true})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if len(dmg) != 0 {
				t.Fatalf("%s after a failed write: %v", files[0], dmg)
			}
			if n := len(readAll(t, r)); n == 0 {
				t.Fatalf("%s: nothing kept of what was written before the failure", files[0])
			}
		})
	}
}

// recordPastFileSizeLimit, in the child, records into dir until a write
// fails on the file size limit, and checks that the recorder reports it.
func recordPastFileSizeLimit(t *testing.T, dir string, direct bool) {
	signal.Ignore(syscall.SIGXFSZ) // the write fails with EFBIG instead
	limit := &syscall.Rlimit{Cur: 1<<20 + 1000, Max: 1<<20 + 1000}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, limit); err != nil {
		t.Fatal(err)
	}
	rec, done := startRecorder(t, RecorderOptions{Dir: dir, Format: "native", Direct: direct})
	rec.Open(1, "feed")
	payload := bytes.Repeat([]byte("x"), 100)
	for i := 0; rec.Err() == nil && i < 1e6; i++ {
		rec.Data(1, int64(i), payload)
	}
	rec.Stop()
	// EFBIG, or EINVAL from an O_DIRECT write the limit cuts unaligned.
	if err := <-done; !errors.Is(err, syscall.EFBIG) && !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Run: %v, want the write's error", err)
	}
}
