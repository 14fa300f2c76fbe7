package bus

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/internal/jsexample"
)

func TestDecodeErrors(t *testing.T) {
	f := newFixture(t)
	sig := f.signal()
	good := string(f.enc.AppendSignalJSON(nil, 1, 2, &sig))
	for _, c := range []struct{ data, want string }{
		{"", "invalid JSON"},
		{"{", "invalid JSON"},
		{good + "x", "invalid JSON"},
		{`[1]`, "not a JSON object"},
		{`{}`, `missing field "kind"`},
		{`{"kind":"trade"}`, `unknown kind "trade"`},
		{`{"kind":"signal","seq":1}`, `signal: missing field(s) ["publisher" "symbol" "ts_pub" "rule" "type" "dir" "ts_event" "ts_recv" "price" "params" "values"]`},
		// A signal whose direction is not given is not one that crossed nothing.
		{strings.Replace(good, `"dir":"up",`, ``, 1), `signal: missing field(s) ["dir"]`},
		{strings.Replace(good, `,"type":"threshold"`, ``, 1), `signal: missing field(s) ["type"]`},
		{strings.Replace(good, `"params":{"level":"412","hysteresis":"0.05"}`, `"params":null`, 1), `signal: missing field(s) ["params"]`},
		{strings.Replace(good, `,"values":{"last":412.5,"level":412}`, ``, 1), `signal: missing field(s) ["values"]`},
		// A well-formed object with a bad value: the error names the field.
		{strings.Replace(good, `"price":"412.5"`, `"price":412.5`, 1), `field "price": price 412.5 is not a JSON string`},
		{strings.Replace(good, `"price":"412.5"`, `"price":"4x"`, 1), `field "price": price "4x" is not a decimal`},
		{strings.Replace(good, `"dir":"up"`, `"dir":"sideways"`, 1), `dir "sideways"`},
		{strings.Replace(good, `"seq":1`, `"seq":-1`, 1), `field "seq": json: cannot unmarshal number -1 into Go value of type uint64`},
		{strings.Replace(good, `"seq":1`, `"seq":"1"`, 1), `field "seq": json: cannot unmarshal string`},
		{`{"kind":"stats","last":"1","sma":"412"}`, `field "sma": value "412" is not a number`},
		{`{"kind":"bar","open":"1","close":1}`, `field "close": price 1 is not a JSON string`},
		{strings.Replace(good, `"last":412.5`, `"last":"x"`, 1), `field "values": value "x" is not a number`},
		{`{"kind":"bar","publisher":"p","seq":1,"symbol":"A","ts_pub":1,"interval_ns":0,"start":0,` +
			`"open":"1","high":"1","low":"1","close":"1","volume":1,"vwap":"1","count":1,"ts_recv":1}`, "interval_ns 0"},
		{`{"kind":"bar","publisher":"p","seq":1,"symbol":"A","ts_pub":1,"interval_ns":1,"start":0,` +
			`"open":"1","high":"1","low":"1","close":"1","volume":1,"vwap":1,"count":1,"ts_recv":1}`, "bar: vwap: price 1 is not a JSON string"},
		{`{"kind":"stats","publisher":"p","seq":1,"symbol":"A","ts_pub":1}`, "stats: missing field(s)"},
		{`{"kind":"stats","publisher":"p","seq":1,"symbol":"A","ts_pub":1,"ts_event":1,"last":"1","sma":1,"ema":1,` +
			`"vwap":"1","mean":1,"stddev":0,"zscore":null,"min":"1","max":"1","count":1,"volume":1}`, `stats: vwap: value "1" is not a number`}, // a bar's type, not a stats
		{`{"kind":"bbo","publisher":"p","seq":1,"symbol":"A","ts_pub":1}`,
			`bbo: missing field(s) ["ts_event" "ts_recv" "bid/ask" "bid_size/ask_size" "bid_orders/ask_orders"]`},
		// A missing side is an error; a null side is an empty one.
		{`{"kind":"bbo","publisher":"p","seq":1,"symbol":"A","ts_pub":1,"ts_event":1,"ts_recv":1,` +
			`"bid":null,"bid_size":0,"ask_size":0,"bid_orders":0,"ask_orders":0}`, `bbo: missing field(s) ["bid/ask"]`},
		{`{"kind":"bbo","publisher":"p","seq":1,"symbol":"A","ts_pub":1,"ts_event":1,"ts_recv":1,` +
			`"bid":1,"ask":null,"bid_size":0,"ask_size":0,"bid_orders":0,"ask_orders":0}`, `field "bid": price 1 is not a JSON string`},
		{`{"kind":"bbo","publisher":"p","seq":1,"symbol":"A","ts_pub":1,"ts_event":1,"ts_recv":1,` +
			`"bid":"1","ask":null,"bid_size":0.5,"ask_size":0,"bid_orders":0,"ask_orders":0}`, `field "bid_size": json: cannot unmarshal number 0.5`},
	} {
		m, err := DecodeBytes("tickd.x", []byte(c.data))
		var de *DecodeError
		if m != nil || !errors.As(err, &de) || de.Subject != "tickd.x" || string(de.Data) != c.data {
			t.Errorf("%s: (%v, %v), want a *DecodeError", c.data, m, err)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, `bus: decode message on "tickd.x": `) || !strings.Contains(msg, c.want) {
			t.Errorf("%s:\nerror %q\nwant it to contain %q", c.data, msg, c.want)
		}
		if strings.HasPrefix(c.want, "field ") && strings.Contains(err.Error(), "invalid JSON") {
			t.Errorf("%s: error %q calls valid JSON invalid", c.data, err)
		}
	}
}

// TestDecodeUnknownKind: a kind a later publisher adds is told apart from
// a damaged message, so a subscriber can skip it.
func TestDecodeUnknownKind(t *testing.T) {
	_, err := DecodeBytes("tickd.status", []byte(`{"kind":"heartbeat","publisher":"p","ts_pub":1}`))
	if !errors.Is(err, ErrUnknownKind) || !strings.Contains(err.Error(), `unknown kind "heartbeat"`) {
		t.Errorf("future kind: %v, want an error wrapping ErrUnknownKind", err)
	}
	for _, damaged := range []string{`{"kind":"status","publisher":"p"}`, `{"kind":7}`, `{}`, `not json`} {
		if _, err := DecodeBytes("tickd.status", []byte(damaged)); err == nil || errors.Is(err, ErrUnknownKind) {
			t.Errorf("%s: %v, want a DecodeError that is not ErrUnknownKind", damaged, err)
		}
	}
}

// TestDecodeIgnoresOtherKindsFields: a message that carries, besides its
// own fields, every field the schema gives the other kinds, each with a
// value of no kind's type, decodes as the message alone does: a later tickd
// may add to one kind a field another kind has with another type, and
// consumers ignore the fields they do not know.
func TestDecodeIgnoresOtherKindsFields(t *testing.T) {
	f := newFixture(t)
	sig, bar, st, bbo := f.signal(), f.bar(), f.stats(), f.bbo()
	msgs := map[string][]byte{
		"signal": f.enc.AppendSignalJSON(nil, 1, 2, &sig),
		"bar":    f.enc.AppendBarJSON(nil, 3, 4, &bar),
		"stats":  f.enc.AppendStatsJSON(nil, 5, 6, &st),
		"bbo":    f.enc.AppendBBOJSON(nil, 7, 8, &bbo),
		"status": []byte(`{"kind":"status","publisher":"p","ts_pub":9,"dropped":1,"new_dropped":1,"publish_dropped":0,"new_publish_dropped":0,"feed_lost":2,"new_feed_lost":2}`),
		"feed":   []byte(`{"kind":"feed","publisher":"p","ts_pub":9,"source":"tcp 127.0.0.1:7000","state":"stale","silent_ns":15000000000}`),
	}
	own := map[string][]string{}
	for kind := range msgs {
		own[kind] = jsexample.Properties(t, kind)
	}
	for kind, data := range msgs {
		want, err := DecodeBytes("tickd.x", data)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(data, &fields); err != nil {
			t.Fatal(err)
		}
		var added []string
		for other, names := range own {
			for _, name := range names {
				if other != kind && !slices.Contains(own[kind], name) {
					fields[name] = json.RawMessage(`{"x":[true]}`)
					added = append(added, name)
				}
			}
		}
		more, err := json.Marshal(fields)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeBytes("tickd.x", more)
		if err != nil {
			t.Errorf("%s with the other kinds' fields %q: %v", kind, added, err)
			continue
		}
		if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want); g != w {
			t.Errorf("%s with the other kinds' fields decodes as\n%s\nwant\n%s", kind, g, w)
		}
	}
}

func TestDecodeContentType(t *testing.T) {
	f := newFixture(t)
	sig := f.signal()
	msg := nats.NewMsg("s")
	msg.Data = f.enc.AppendSignalJSON(nil, 1, 2, &sig)
	if _, err := Decode(msg); err != nil {
		t.Fatal(err)
	}
	msg.Header.Set("Content-Type", ContentTypeJSON)
	if _, err := Decode(msg); err != nil {
		t.Fatal(err)
	}
	msg.Header.Set("Content-Type", "application/x-tickd-bin")
	if _, err := Decode(msg); err == nil || !strings.Contains(err.Error(), "unsupported Content-Type") {
		t.Fatalf("err = %v", err)
	}
}

// TestSubscribe checks that Subscribe hands decoded records and, in the same
// handler, malformed payloads as *DecodeError.
func TestSubscribe(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, ServerOptions{Port: RandomPort})
	tcp, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	got := make(chan Message, 4)
	sub, err := Subscribe(tcp, "tickd.>", func(m Message) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := tcp.Flush(); err != nil {
		t.Fatal(err)
	}
	pub := connect(t, s)
	bar := f.bar()
	if err := pub.Publish("tickd.bar.1s.AAPL", f.enc.AppendBarJSON(nil, 3, 4, &bar)); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("tickd.bar.1s.AAPL", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	next := func() Message {
		select {
		case m := <-got:
			return m
		case <-time.After(30 * time.Second):
			t.Fatal("no message")
			return nil
		}
	}
	if b, ok := next().(*Bar); !ok || b.Subject != "tickd.bar.1s.AAPL" || b.Seq != 3 || b.Kind() != KindBar {
		t.Fatalf("first message: %+v", b)
	}
	m := next()
	de, ok := m.(*DecodeError)
	if !ok || m.Kind() != KindInvalid || string(de.Data) != "not json" || !strings.Contains(de.Error(), "invalid JSON") {
		t.Fatalf("second message: %#v", m)
	}
	if _, err := Subscribe(tcp, "", func(Message) {}); err == nil {
		t.Error("empty pattern accepted")
	}
	if _, err := Subscribe(tcp, "x", nil); err == nil {
		t.Error("nil handler accepted")
	}
}

// TestDecodeStatusEvents decodes the README's examples of the two kinds
// published on <prefix>.status, which carry no seq and no symbol.
func TestDecodeStatusEvents(t *testing.T) {
	m, err := DecodeBytes("tickd.status", []byte(`{"kind":"status","publisher":"host-4242","ts_pub":1795482642208101337,`+
		`"dropped":5120,"new_dropped":5120,"publish_dropped":7,"new_publish_dropped":2,"feed_lost":40,"new_feed_lost":12}`))
	want := &Status{Subject: "tickd.status", Publisher: "host-4242", TsPub: 1795482642208101337,
		Dropped: 5120, NewDropped: 5120, PublishDropped: 7, NewPublishDropped: 2, FeedLost: 40, NewFeedLost: 12}
	if st, ok := m.(*Status); err != nil || !ok || *st != *want || m.Kind() != KindStatus {
		t.Errorf("status: (%#v, %v), want %#v", m, err, want)
	}
	// A publisher from before feed_lost: still a status, with no feed loss.
	m, err = DecodeBytes("tickd.status", []byte(`{"kind":"status","publisher":"host-4242","ts_pub":1795482642208101337,`+
		`"dropped":5120,"new_dropped":5120,"publish_dropped":7,"new_publish_dropped":2}`))
	want.FeedLost, want.NewFeedLost = 0, 0
	if st, ok := m.(*Status); err != nil || !ok || *st != *want {
		t.Errorf("status without feed_lost: (%#v, %v), want %#v", m, err, want)
	}
	if p, seq := m.Origin(); p != "host-4242" || seq != 0 {
		t.Errorf("status origin (%q, %d)", p, seq)
	}
	m, err = DecodeBytes("tickd.status", []byte(`{"kind":"feed","publisher":"host-4242","ts_pub":1795482660208101337,`+
		`"source":"soupbin 10.0.0.5:7001","state":"stale","silent_ns":15000412345}`))
	wantFeed := &FeedStatus{Subject: "tickd.status", Publisher: "host-4242", TsPub: 1795482660208101337,
		Source: "soupbin 10.0.0.5:7001", State: "stale", Silent: 15000412345}
	if fs, ok := m.(*FeedStatus); err != nil || !ok || *fs != *wantFeed || m.Kind() != KindFeed {
		t.Errorf("feed: (%#v, %v), want %#v", m, err, wantFeed)
	}
	for _, c := range []struct{ data, want string }{
		{`{"kind":"status","publisher":"p","ts_pub":1,"dropped":1}`,
			`status: missing field(s) ["dropped/new_dropped" "publish_dropped/new_publish_dropped"]`},
		{`{"kind":"status","publisher":"p","ts_pub":1,"dropped":-1,"new_dropped":0,"publish_dropped":0,"new_publish_dropped":0}`,
			`field "dropped": json: cannot unmarshal number -1`},
		{`{"kind":"feed","ts_pub":1,"state":"live"}`, `feed: missing field(s) ["publisher" "source" "silent_ns"]`},
	} {
		if _, err := DecodeBytes("tickd.status", []byte(c.data)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.data, err, c.want)
		}
	}
}

func TestKindAndDirection(t *testing.T) {
	for k, w := range map[Kind]string{KindSignal: "signal", KindBar: "bar", KindStats: "stats", KindBBO: "bbo",
		KindStatus: "status", KindFeed: "feed", KindInvalid: "invalid", 9: "invalid"} {
		if k.String() != w {
			t.Errorf("Kind(%d) = %q", k, k.String())
		}
	}
	for d, w := range map[Direction]string{Up: "up", Down: "down", None: "none"} {
		if d.String() != w {
			t.Errorf("Direction(%d) = %q", d, d.String())
		}
	}
}

// FuzzDecode feeds arbitrary payloads to the decoder: it must never panic,
// and must return either a message or a *DecodeError.
func FuzzDecode(f *testing.F) {
	fx := newFixture(f)
	sig, bar, st := fx.signal(), fx.bar(), fx.stats()
	f.Add(fx.enc.AppendSignalJSON(nil, 1, 2, &sig))
	f.Add(fx.enc.AppendBarJSON(nil, 1, 2, &bar))
	f.Add(fx.enc.AppendStatsJSON(nil, 1, 2, &st))
	bbo := fx.bbo()
	f.Add(fx.enc.AppendBBOJSON(nil, 1, 2, &bbo))
	f.Add([]byte(`{"kind":"bbo","bid":null,"ask":{}}`))
	f.Add([]byte(`{"kind":"stats","vwap":null}`))
	f.Add([]byte(`{"kind":"bar","vwap":{}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"kind":"status","publisher":"p","ts_pub":1,"dropped":1,"new_dropped":1,"publish_dropped":0,"new_publish_dropped":0}`))
	f.Add([]byte(`{"kind":"feed","publisher":"p","ts_pub":1,"source":"tcp a<-b","state":"stale","silent_ns":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeBytes("s", data)
		if (m == nil) == (err == nil) {
			t.Fatalf("(%v, %v)", m, err)
		}
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T", err)
			}
		}
	})
}

// FormatValues sorts by name, rounds to the digits asked for (or gives the
// shortest exact form for digits < 0), shows a null value as null and a
// large one whole.
func TestFormatValues(t *testing.T) {
	m := &Signal{Values: map[string]float64{"z": 1.0 / 3, "a": 100.25, "n": math.NaN()}}
	if got, want := m.FormatValues(4), "a=100.2 n=null z=0.3333"; got != want {
		t.Errorf("FormatValues(4) = %q, want %q", got, want)
	}
	if got, want := m.FormatValues(-1), "a=100.25 n=null z=0.3333333333333333"; got != want {
		t.Errorf("FormatValues(-1) = %q, want %q", got, want)
	}
	if got, want := m.FormatValues(4, "a", "x"), "n=null z=0.3333"; got != want {
		t.Errorf(`FormatValues(4, "a", "x") = %q, want %q`, got, want)
	}
	big := &Signal{Values: map[string]float64{"qty": 39200, "ratio": 12345.6, "huge": 2e15, "tiny": 0.000012345, "neg": -56789.5}}
	if got, want := big.FormatValues(4), "huge=2e+15 neg=-56790 qty=39200 ratio=12346 tiny=1.234e-05"; got != want {
		t.Errorf("large values: FormatValues(4) = %q, want %q", got, want)
	}
	if got := (&Signal{}).FormatValues(4); got != "" {
		t.Errorf("no values: %q", got)
	}
}
