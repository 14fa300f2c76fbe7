//go:build unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestConfigSizeLimitPipe: a FIFO has no size to stat; the limited read
// still refuses more than 1 MiB.
func TestConfigSizeLimitPipe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo.yaml")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			done <- err
			return
		}
		// Exactly one byte over: the reader takes all of it, so this
		// goroutine never blocks on a reader that stopped early.
		_, err = w.Write(bytes.Repeat([]byte{'\n'}, maxConfigSize+1))
		w.Close()
		done <- err
	}()
	var errb bytes.Buffer
	var h serveConfig
	_, err := loadConfigFile(path, newServeFlags(&h, &errb))
	if werr := <-done; werr != nil {
		t.Fatal(werr)
	}
	if err == nil || !strings.Contains(err.Error(), "more than the 1 MiB limit") || !strings.Contains(err.Error(), path) {
		t.Errorf("fifo over the limit: %v", err)
	}
}
