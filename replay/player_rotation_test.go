package replay

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/tick"
)

// recordTwice records the session that feed gives to two real Recorders at
// once: one rotating at MaxBytes' floor (4 KiB, in small blocks), one
// keeping it all in one file. It returns the files of each.
func recordTwice(t *testing.T, format string, compress bool, feed func(rs ...*Recorder)) (rotated, single []string) {
	t.Helper()
	dir := t.TempDir()
	rot, rotDone := startRecorder(t, RecorderOptions{Dir: filepath.Join(dir, "rot"), Format: format, Compress: compress, MaxBytes: 4096, BlockSize: 512})
	one, oneDone := startRecorder(t, RecorderOptions{Dir: filepath.Join(dir, "one"), Format: format, Compress: compress})
	feed(rot, one)
	rot.Stop()
	one.Stop()
	if err := <-rotDone; err != nil {
		t.Fatal(err)
	}
	if err := <-oneDone; err != nil {
		t.Fatal(err)
	}
	rotated, single = rot.Files(), one.Files()
	if len(rotated) < 4 || len(single) != 1 {
		t.Fatalf("%d rotated files and %d single, want several and one", len(rotated), len(single))
	}
	return rotated, single
}

// samePlay plays the rotated and the single-file capture of one session and
// checks that every source gets the same sink, with the same events, closed.
// Symbols are compared by name: the two recorders interleave the sources'
// reads as their writers drain the lanes, so a symbol two sources send can
// be interned first by either, and its id differ.
func samePlay(t *testing.T, rotated, single []string) {
	t.Helper()
	wsyms, gsyms := tick.NewSymbolTable(64), tick.NewSymbolTable(64)
	want, wp := play(t, single, PlayerOptions{Symbols: wsyms})
	got, gp := play(t, rotated, PlayerOptions{Symbols: gsyms})
	wl, gl := want.list(), got.list()
	if len(gl) != len(wl) {
		t.Fatalf("rotated capture played into %d sinks, the single file into %d", len(gl), len(wl))
	}
	for i := range wl {
		w, _ := wl[i].snapshot()
		g, closed := gl[i].snapshot()
		gg, ww := byName(g, gsyms), byName(w, wsyms)
		if gl[i].name != wl[i].name || !closed || !slices.Equal(gg, ww) {
			t.Errorf("sink %d %q (closed %v): %d events; single file: %q, %d events (or they differ)", i, gl[i].name, closed, len(g), wl[i].name, len(w))
			for j := range min(len(gg), len(ww)) {
				if gg[j] != ww[j] {
					t.Errorf("first diff at %d: rotated %+v single %+v", j, gg[j], ww[j])
					break
				}
			}
		}
	}
	if g, w := gp.Progress(), wp.Progress(); g.Messages != w.Messages || g.Events != w.Events || g.Rejected != 0 || w.Rejected != 0 {
		t.Errorf("progress rotated %+v, single %+v", g, w)
	}
}

// namedEvent is an event without its receive time, its symbol by name.
// An end of stream names no symbol: its Symbol 0 would be named after
// whichever symbol the play interned first, which depends on how the
// recorders interleaved the connections.
type namedEvent struct {
	tick.Event
	name string
}

func byName(evs []tick.Event, syms *tick.SymbolTable) []namedEvent {
	out := make([]namedEvent, len(evs))
	for i, ev := range noRecv(evs) {
		out[i] = namedEvent{Event: ev}
		if ev.Kind != tick.KindEndOfStream {
			out[i].name = syms.Name(ev.Symbol)
		}
		out[i].Symbol = 0
	}
	return out
}

// TestPlayRotatedNativeCapture: native connections (a Hello, then Symbol
// frames the first time each symbol trades) recorded by a rotating
// Recorder, with reads cut mid-frame, replay from their files as from one
// file: the connections go on from file to file, one ending with its
// Close, one open to the end.
func TestPlayRotatedNativeCapture(t *testing.T) {
	var ea, eb feed.NativeEncoder
	a, b := ea.Hello(nil), eb.Hello(nil)
	syms := []string{"AAA", "BBB", "CCC", "DDD"}
	for i := 1; i <= 3000; i++ {
		a = ea.Trade(a, syms[i%4], t0+int64(i)*1e6, tick.Price(100+i%7)*1e9, int64(i), tick.Side(i%3))
		b = eb.Trade(b, syms[(i+1)%4], t0+int64(i)*1e6, tick.Price(200+i%5)*1e9, int64(i), tick.SideBuy)
	}
	a = ea.End(a, t0+3001*1e6)
	rotated, single := recordTwice(t, "native", false, func(rs ...*Recorder) {
		ca, cb := chunks(a, 4), chunks(b, 5)
		recv := t0
		for _, r := range rs {
			r.Open(1, "tcp a")
			r.Open(2, "tcp b")
		}
		for i := range max(len(ca), len(cb)) {
			recv += 1e5
			for _, r := range rs {
				if i < len(ca) {
					r.Data(1, recv, ca[i])
				}
				if i < len(cb) {
					r.Data(2, recv, cb[i])
				}
			}
		}
		for _, r := range rs {
			r.Close(1, recv+1)
		}
	})
	samePlay(t, rotated, single)
}

// TestPlayRotatedITCHCapture: an ITCH session (its stock directory only at
// the start) recorded by a rotating, compressing Recorder replays from its
// files as from one file.
func TestPlayRotatedITCHCapture(t *testing.T) {
	msgs := itchMessages(1500, time.Second)
	rotated, single := recordTwice(t, "itch", true, func(rs ...*Recorder) {
		for _, r := range rs {
			r.Open(4, "soupbin 127.0.0.1:1")
			for i, m := range msgs {
				r.Data(4, t0+int64(i), m)
			}
		}
	})
	samePlay(t, rotated, single)
}

// TestPlayCaptureFilesJoin: a source goes on into the next file only when
// that file re-announces it (same id and name) before its first record of
// another kind; the others end when the re-announcements do.
func TestPlayCaptureFilesJoin(t *testing.T) {
	dir := t.TempDir()
	lines := csvLines("JON", 200, time.Millisecond)
	cut := len(lines)/2 + 7 // inside a line: the decoder carries its first half
	write := func(name string, opens []Record, data func(w *Writer)) string {
		path := filepath.Join(dir, name)
		w, err := Create(path, WriterOptions{Format: "csv"})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range opens {
			w.Open(o.Source, o.Name)
		}
		data(w)
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	f1 := write("1.cap", []Record{{Source: 1, Name: "a"}, {Source: 2, Name: "b"}, {Source: 3, Name: "c"}}, func(w *Writer) {
		w.Data(1, t0, lines[:cut])
		w.Data(2, t0, csvLines("BBB", 5, time.Millisecond))
		w.Data(3, t0, csvLines("CCC", 5, time.Millisecond))
	})
	f2 := write("2.cap", []Record{{Source: 3, Name: "c2"}, {Source: 1, Name: "a"}}, func(w *Writer) {
		w.Data(1, t0+1, lines[cut:])
		w.Data(3, t0+1, csvLines("CC2", 5, time.Millisecond))
		w.Open(2, "b") // not at the start: a new source
		w.Data(2, t0+2, csvLines("BB2", 5, time.Millisecond))
	})
	syms := tick.NewSymbolTable(64)
	ss, _ := play(t, []string{f1, f2}, PlayerOptions{Symbols: syms})
	var names []string
	for _, s := range ss.list() {
		ev, closed := s.snapshot()
		names = append(names, s.name)
		if !closed || len(ev) == 0 || ev[len(ev)-1].Kind != tick.KindEndOfStream {
			t.Errorf("sink %q: closed %v, %d events, want them ended by one EndOfStream", s.name, closed, len(ev))
		}
		want := 6
		if s.name == "a" {
			want = 201
		}
		if len(ev) != want {
			t.Errorf("sink %q: %d events, want %d", s.name, len(ev), want)
		} else if s.name == "a" && !slices.Equal(noRecv(ev[:200]), noRecv(decodeStream(t, feed.FormatCSV, syms, 1, lines))) {
			t.Errorf("sink a: the source split across the files differs from its stream")
		}
	}
	if want := []string{"a", "b", "c", "c2", "b"}; !slices.Equal(names, want) {
		t.Fatalf("sinks %q, want %q", names, want)
	}
}
