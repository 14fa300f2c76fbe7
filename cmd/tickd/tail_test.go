package main

import (
	"os"
	"path/filepath"
	"strings"
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

// TestServeTailTwiceRefused: one file given twice to -feed-tail (by the same
// path, another spelling of it or a link to it) is refused at start, since
// each of its trades would be applied twice; two files are not.
func TestServeTailTwiceRefused(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte("1,A,1,1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "link.csv")
	if err := os.Symlink(a, link); err != nil {
		t.Fatal(err)
	}
	later := filepath.Join(dir, "later.csv") // not there yet
	for _, c := range []struct {
		tails, first string // first: the path named as the file given before, "" if accepted
	}{
		{a + "," + a, a},
		{a + "," + dir + "/./a.csv", a},
		{a + "," + b + "," + link, a},
		{later + "," + later, later},
		{a + "," + b + "," + later, ""},
	} {
		cfg, err := serveDefaults("-feed-listen", "", "-feed-format", "csv", "-feed-tail", c.tails, "-nats-listen", "off")
		if err != nil {
			t.Fatal(err)
		}
		_, err = cfg.sources()
		switch {
		case c.first == "" && err != nil:
			t.Errorf("%s: %v", c.tails, err)
		case c.first != "" && (err == nil || !strings.Contains(err.Error(), "the same file as \""+c.first+"\"")):
			t.Errorf("%s: %v", c.tails, err)
		}
	}
}
