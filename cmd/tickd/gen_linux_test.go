package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestGenSummaryCountsWhatWasWritten: gen's summary after a failed write
// (/dev/full: no space left on the device) counts what reached the output,
// nothing here, not what was generated into the failed write's buffer, in
// every format; and an ITCH run that fails before its end has a summary too.
func TestGenSummaryCountsWhatWasWritten(t *testing.T) {
	for _, format := range []string{"native", "csv", "itch"} {
		var stderr syncBuffer
		err := runGen(context.Background(), []string{"-format", format, "-out", "/dev/full", "-count", "100000", "-unpaced"}, io.Discard, &stderr)
		if err == nil || !strings.Contains(err.Error(), "no space left on device") {
			t.Fatalf("%s: %v, want the device's error", format, err)
		}
		want := "tickd gen: 0 ticks, 0 bytes written in "
		if format == "itch" {
			want = "tickd gen: 0 itch messages (0 bytes, framing aside) written in "
		}
		if !strings.HasPrefix(stderr.String(), want) {
			t.Errorf("%s: stderr %q, want %q…", format, stderr.String(), want)
		}
	}
}
