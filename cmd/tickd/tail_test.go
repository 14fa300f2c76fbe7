package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestServeTailFromEnd: with -feed-tail-from-end, serve skips what a tailed
// file held at start-up (a restart does not publish a day's file again)
// and reads what is appended.
func TestServeTailFromEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ticks.csv")
	day := "1767364200000000000,AAPL,189.25,100\n1767364200100000000,AAPL,189.30,10\n"
	if err := os.WriteFile(path, []byte(day), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startQuietPipeline(t, "-feed-listen", "", "-nats-listen", "off", "-feed-format", "csv",
		"-feed-tail", path, "-feed-tail-from-end")
	time.Sleep(300 * time.Millisecond) // three polls
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("1767364200200000000,AAPL,189.35,5\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	deadline := time.Now().Add(10 * time.Second)
	for p.feedStats.Total().Events == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := p.feedStats.Total(); st.Events != 1 || st.Frames != 1 {
		t.Fatalf("feed stats %+v: want only the appended line", st)
	}
}
