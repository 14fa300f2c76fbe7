package replay

import (
	"strings"
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
