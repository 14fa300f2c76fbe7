package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLimitedLogBounded: bad input from many short-lived sources (one per
// connection) keeps the limiter's memory bounded, and every source still
// gets its line.
func TestLimitedLogBounded(t *testing.T) {
	var out syncBuffer
	log, err := newLogger(&out, "warn", false)
	if err != nil {
		t.Fatal(err)
	}
	l := newLimitedLog(log, time.Nanosecond)
	bad := errors.New("bad frame")
	for i := range 10 * maxLimitSources {
		l.badInput(fmt.Sprintf("tcp 127.0.0.1:7000<-127.0.0.1:%d", i), 0, 0, bad)
	}
	if n := len(l.sources); n > maxLimitSources {
		t.Fatalf("%d sources remembered, bound %d", n, maxLimitSources)
	}
	if !strings.Contains(out.String(), `"source":"tcp 127.0.0.1:7000<-127.0.0.1:9999"`) {
		t.Fatal("the last source's bad input was not logged")
	}
}
