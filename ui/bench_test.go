package ui

import (
	"strconv"
	"testing"
	"time"
)

// fullHub is a Hub holding what a long demo leaves: 32 symbols with full
// point and bar rings, and a full signal list.
func fullHub(b *testing.B) (*Hub, *wireMaker) {
	w := newWireMaker(b)
	h := NewHub(Options{})
	for s := range 32 {
		sym := "S" + strconv.Itoa(s)
		for i := range h.opts.Points {
			h.Handle(w.stats(sym, t0+int64(i)*1e9, "100.25", 100.2))
		}
		for i := range h.opts.Bars {
			h.Handle(w.bar(sym, time.Second, t0+int64(i)*1e9, "101"))
		}
	}
	for i := range h.opts.Signals {
		h.Handle(w.signal("S0", t0+int64(i)*1e6, 1, "100.25", 20*time.Microsecond))
	}
	return h, w
}

// BenchmarkUpdateFull is a browser's first event: the symbol's whole history.
func BenchmarkUpdateFull(b *testing.B) {
	h, _ := fullHub(b)
	var buf []byte
	for b.Loop() {
		buf = h.appendUpdate(buf[:0], &cursor{symbol: "S1"})
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
}

// BenchmarkUpdateDelta is a steady-state event: one new point and bar of
// the symbol, and the watchlist (a price changed).
func BenchmarkUpdateDelta(b *testing.B) {
	h, w := fullHub(b)
	c := &cursor{symbol: "S1"}
	buf := h.appendUpdate(nil, c)
	st, bar := w.stats("S1", t0+1e12, "100.5", 100.3), w.bar("S1", time.Second, t0+1e12, "101")
	n := 0
	for b.Loop() {
		h.Handle(st)
		h.Handle(bar)
		buf = h.appendUpdate(buf[:0], c)
		n += len(buf)
	}
	b.SetBytes(int64(n / max(1, b.N)))
	b.ReportAllocs()
}
