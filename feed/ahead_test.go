package feed

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

// TestMaxAhead: with Options.MaxAhead, a tick whose event time is more than
// MaxAhead past its receive time is rejected as ReasonTimeAhead, counted
// and reported with its offset and sequence or line, and the ticks around
// it decode; a tick exactly MaxAhead ahead, or behind its receive time, is
// accepted. Without MaxAhead every one is accepted. Native trades go
// through the fast path in runs, so the rejected ones sit inside runs.
func TestMaxAhead(t *testing.T) {
	const recv = int64(1_800_000_000_000_000_000)
	const ahead = time.Second
	times := []int64{recv - int64(time.Hour), recv + int64(ahead), recv + int64(ahead) + 1, recv, math.MaxInt64, recv + 5}
	wantQty := []int64{1, 2, 4, 6} // the ticks accepted with MaxAhead: qty i+1 for times[i]
	wantBad := map[int64]bool{3: true, 5: true}
	for _, f := range []Format{FormatNative, FormatCSV, FormatJSON} {
		var src []byte
		var at []int64 // each tick's offset
		if f == FormatNative {
			src = AppendSymbol(AppendHello(nil, 1), 2, 0, "A")
		}
		for i, ts := range times {
			at = append(at, int64(len(src)))
			switch f {
			case FormatNative:
				src = AppendTrade(src, uint64(i+3), 0, ts, tick.PriceScale, int64(i+1), tick.SideBuy)
			case FormatCSV:
				src = AppendCSV(src, ts, "A", tick.PriceScale, int64(i+1), tick.SideBuy)
			default:
				src = AppendJSON(src, ts, "A", tick.PriceScale, int64(i+1), tick.SideBuy)
			}
		}
		for _, limit := range []time.Duration{0, ahead} {
			var rs reports
			d := newTestDecoder(t, f, &rs, func(o *Options) { o.MaxAhead = limit })
			d.SetRecvTime(recv)
			got, err := decodeAll(t, d, 64, src)
			if err != nil {
				t.Fatal(err)
			}
			want := []int64{1, 2, 3, 4, 5, 6}
			if limit > 0 {
				want = wantQty
			}
			if len(got) != len(want) {
				t.Fatalf("%s MaxAhead %v: %d events %+v, want qtys %v", f, limit, len(got), got, want)
			}
			for i, e := range got {
				if e.Qty != want[i] || e.TsEvent != times[e.Qty-1] || e.TsRecv != recv {
					t.Fatalf("%s MaxAhead %v: event %d %+v, want qty %d", f, limit, i, e, want[i])
				}
			}
			st, r := d.Stats(), rs.list()
			if limit == 0 {
				if st.Errors != 0 || len(r) != 0 {
					t.Fatalf("%s without MaxAhead: stats %+v, reports %v", f, st, r)
				}
				continue
			}
			if st.Errors != 2 || st.ByReason[ReasonTimeAhead] != 2 || len(r) != 2 {
				t.Fatalf("%s: stats %+v, reports %v; want 2 time_ahead", f, st, r)
			}
			for _, rep := range r {
				qty := int64(0) // the tick reported: by its offset
				for i, o := range at {
					if o == rep.offset {
						qty = int64(i + 1)
					}
				}
				if !wantBad[qty] || !errors.Is(rep.err, ReasonTimeAhead) {
					t.Fatalf("%s: report %v, want the ticks of qty 3 and 5 at %v", f, rep, at)
				}
				if wantSeq := uint64(qty); f != FormatNative && rep.seq != wantSeq {
					t.Fatalf("%s: report %v names line %d, want %d", f, rep, rep.seq, wantSeq)
				} else if f == FormatNative && rep.seq != uint64(qty+2) {
					t.Fatalf("native: report %v names seq %d, want %d", rep, rep.seq, qty+2)
				}
			}
		}
	}
}

// TestMaxAheadSaturates: a receive time within MaxAhead of the largest
// time accepts every event time rather than wrapping to reject them all.
func TestMaxAheadSaturates(t *testing.T) {
	d := newTestDecoder(t, FormatCSV, nil, func(o *Options) { o.MaxAhead = time.Hour })
	d.SetRecvTime(math.MaxInt64 - 5)
	got, _ := decodeAll(t, d, 4, AppendCSV(nil, math.MaxInt64, "A", 1, 1, tick.SideBuy))
	if len(got) != 1 {
		t.Fatalf("events %+v, stats %+v", got, d.Stats())
	}
	if _, err := NewDecoder("x", 1, Options{Symbols: tick.NewSymbolTable(1), MaxAhead: -1}); err == nil {
		t.Fatal("a negative MaxAhead was accepted")
	}
}

// TestTimeAheadErrorSaysHowFar: a tick rejected as time_ahead is reported
// with its event time, the receive time counted from and the limit, in
// every format (the bare reason said only "too far ahead"), and the report
// is still ReasonTimeAhead.
func TestTimeAheadErrorSaysHowFar(t *testing.T) {
	const recv = int64(1_800_000_000_000_000_000) // 2027-01-15T08:00:00Z
	ts := recv + int64(2*time.Hour+3*time.Second)
	const want = "feed: event time 2027-01-15T10:00:03Z is 2h0m3s past its receive time 2027-01-15T08:00:00Z, more than MaxAhead 1h0m0s"
	for _, f := range []Format{FormatNative, FormatCSV, FormatJSON} {
		var src []byte
		switch f {
		case FormatNative:
			src = AppendTrade(AppendSymbol(AppendHello(nil, 1), 2, 0, "A"), 3, 0, ts, tick.PriceScale, 1, tick.SideBuy)
		case FormatCSV:
			src = AppendCSV(nil, ts, "A", tick.PriceScale, 1, tick.SideBuy)
		default:
			src = AppendJSON(nil, ts, "A", tick.PriceScale, 1, tick.SideBuy)
		}
		var rs reports
		d := newTestDecoder(t, f, &rs, func(o *Options) { o.MaxAhead = time.Hour })
		d.SetRecvTime(recv)
		if _, err := decodeAll(t, d, 64, src); err != nil {
			t.Fatal(err)
		}
		r := rs.list()
		if len(r) != 1 || r[0].err.Error() != want || !errors.Is(r[0].err, ReasonTimeAhead) {
			t.Fatalf("%s: reports %v, want one: %s", f, r, want)
		}
	}
}
