package sim

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/tickd/tickd/feed"
)

// TestWriteCountsOnlyWhatWasWritten: a write that fails (/dev/full: no
// space left on the device) leaves Written at what went out, no trades
// and no bytes, not the trades encoded into the failed write's buffer,
// which `tickd gen` would report as sent.
func TestWriteCountsOnlyWhatWasWritten(t *testing.T) {
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, format := range []feed.Format{feed.FormatNative, feed.FormatCSV, feed.FormatJSON} {
		g, err := New(Config{Seed: 1, Count: 4})
		if err != nil {
			t.Fatal(err)
		}
		w, err := Write(context.Background(), f, g, WriteOptions{Format: format, Count: 100_000, Unpaced: true})
		if err == nil || !strings.Contains(err.Error(), "no space left on device") {
			t.Fatalf("%v: %v, want the device's error", format, err)
		}
		if w != (Written{}) {
			t.Errorf("%v: %+v written to /dev/full, want none", format, w)
		}
	}
}
