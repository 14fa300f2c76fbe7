package sim

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/tick"
)

// decodeAll decodes a whole stream with feed's decoder.
func decodeAll(t *testing.T, format feed.Format, data []byte, syms *tick.SymbolTable) []tick.Event {
	t.Helper()
	d, err := feed.NewDecoder("test", 1, feed.Options{Format: format, Symbols: syms,
		OnError: func(_ string, off int64, seq uint64, err error) {
			t.Errorf("decode error at %d seq %d: %v", off, seq, err)
		}})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]tick.Event, 256)
	var out []tick.Event
	for len(data) > 0 {
		n, used, err := d.Decode(dst, data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, dst[:n]...)
		data = data[used:]
		if used == 0 && n == 0 {
			break
		}
	}
	out = append(out, dst[:d.Flush(dst, data)]...)
	return out
}

func TestWriteDecodes(t *testing.T) {
	for _, format := range []feed.Format{feed.FormatNative, feed.FormatCSV, feed.FormatJSON} {
		t.Run(format.String(), func(t *testing.T) {
			g, _ := New(Config{Seed: 7, Count: 8})
			ref, _ := New(Config{Seed: 7, Count: 8})
			var buf bytes.Buffer
			w, err := Write(context.Background(), &buf, g, WriteOptions{Format: format, Count: 5000, Unpaced: true, Header: true})
			if err != nil || w.Trades != 5000 || w.Bytes != int64(buf.Len()) {
				t.Fatalf("Write = %+v, %v (buffer %d bytes)", w, err, buf.Len())
			}
			syms := tick.NewSymbolTable(0)
			evs := decodeAll(t, format, buf.Bytes(), syms)
			trades := 0
			for _, e := range evs {
				if e.Kind != tick.KindTrade {
					continue
				}
				want := ref.Next()
				if syms.Name(e.Symbol) != ref.Symbols()[want.Symbol] || e.TsEvent != want.TsEvent ||
					e.Price != want.Price || e.Qty != want.Qty || e.Side != want.Side {
					t.Fatalf("trade %d: decoded %+v (%s), generated %+v", trades, e, syms.Name(e.Symbol), want)
				}
				trades++
			}
			if trades != 5000 {
				t.Fatalf("decoded %d trades", trades)
			}
			if format == feed.FormatNative && evs[len(evs)-1].Kind != tick.KindEndOfStream {
				t.Fatalf("native stream does not end with End of session: %+v", evs[len(evs)-1])
			}
		})
	}
}

func TestWritePaced(t *testing.T) {
	g, _ := New(Config{Rate: 2000})
	var buf bytes.Buffer
	start := time.Now()
	w, err := Write(context.Background(), &buf, g, WriteOptions{Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Pacing must not run ahead of event time (it may run behind on a busy machine).
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Fatalf("300ms of event time written in %v: not paced", el)
	}
	if w.Trades < 400 || w.Trades > 900 {
		t.Fatalf("%d trades in 300ms at 2000/s", w.Trades)
	}
}

func TestWriteStopsOnCancel(t *testing.T) {
	g, _ := New(Config{Rate: 10})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var buf bytes.Buffer
	if _, err := Write(ctx, &buf, g, WriteOptions{}); err != nil {
		t.Fatalf("cancel is a normal stop, got %v", err)
	}
}

// TestWriteStopsAtTheEndOfTime: event times that would run past the int64
// ns range (a -start near 2262, a tiny rate) end the stream with an error
// naming it; they wrapped to times centuries back, written as good ticks.
func TestWriteStopsAtTheEndOfTime(t *testing.T) {
	for _, c := range []struct {
		cfg    Config
		before int64 // trades written before the error, at least
	}{
		{Config{Seed: 3, Rate: 1000, Start: time.Unix(0, math.MaxInt64-int64(time.Second))}, 500},
		{Config{Seed: 3, Rate: 1e-12, Start: DefaultStart}, 0}, // a gap of ~30 000 years
	} {
		g, _ := New(c.cfg)
		var buf bytes.Buffer
		w, err := Write(context.Background(), &buf, g, WriteOptions{Format: feed.FormatCSV, Count: 100_000, Unpaced: true})
		if err == nil || !strings.Contains(err.Error(), "runs past 2262-04-11T23:47:16Z") || w.Trades < c.before || w.Trades >= 100_000 {
			t.Fatalf("rate %v, start %v: %+v, %v", c.cfg.Rate, c.cfg.Start, w, err)
		}
		last := c.cfg.Start.UnixNano()
		for _, e := range decodeAll(t, feed.FormatCSV, buf.Bytes(), tick.NewSymbolTable(0)) {
			if e.TsEvent < last {
				t.Fatalf("rate %v: event time %d after %d: wrapped", c.cfg.Rate, e.TsEvent, last)
			}
			last = e.TsEvent
		}
	}
}
