package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/tickd/tickd/internal/hugepage"
)

// directWriter writes one 8 MiB buffer per call with O_DIRECT.
type directWriter struct {
	f   *os.File
	buf []byte
	pos int64
}

func newDirectWriter(path string) (*directWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|syscall.O_DIRECT, 0o644)
	if err != nil {
		return nil, err
	}
	go func() { // remove the file when interrupted or killed
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		<-ch
		os.Remove(path)
		os.Exit(0)
	}()
	buf := hugepage.Bytes(8 << 20)[:8<<20]
	for i := range buf {
		buf[i] = byte(i)
	}
	return &directWriter{f: f, buf: buf}, nil
}

func (w *directWriter) write() {
	if _, err := w.f.WriteAt(w.buf, w.pos); err != nil {
		panic(err)
	}
	if w.pos += int64(len(w.buf)); w.pos >= 2<<30 {
		w.pos = 0
	}
}
