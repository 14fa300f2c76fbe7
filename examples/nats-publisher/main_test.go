package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/bus"
)

// publishAndRead runs the publisher on in with -lines per and returns the
// n messages it published.
func publishAndRead(t *testing.T, in string, per string, n int) []string {
	t.Helper()
	srv, err := bus.StartServer(bus.ServerOptions{Port: bus.RandomPort})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("ticks.x")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	if err := run([]string{"-nats-url", srv.ClientURL(), "-subject", "ticks.x", "-lines", per}, strings.NewReader(in), io.Discard); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for i := range n {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		msgs = append(msgs, string(m.Data))
	}
	return msgs
}

// TestPublishesWholeLines: 5 lines, 2 a message, make 3 messages of whole
// lines, each led by the CSV header.
func TestPublishesWholeLines(t *testing.T) {
	in := "ts,symbol,price,size\n1,A,1,1\n2,A,1,1\n3,A,1,1\n4,A,1,1\n5,A,1,1\n"
	msgs := publishAndRead(t, in, "2", 3)
	h := "ts,symbol,price,size\n"
	for i, want := range []string{h + "1,A,1,1\n2,A,1,1\n", h + "3,A,1,1\n4,A,1,1\n", h + "5,A,1,1\n"} {
		if msgs[i] != want {
			t.Errorf("message %d: %q, want %q", i, msgs[i], want)
		}
	}
}

// TestHeaderInAnyForm: a CSV header in another column order, quoted or
// spaced, as tickd's decoder takes it, leads every message too (sent in
// the first only, the later ones would be read in the usual order, columns
// swapped); a first line of data, CSV or JSON, is no header.
func TestHeaderInAnyForm(t *testing.T) {
	for _, c := range []struct {
		first  string
		header bool
	}{
		{"symbol,ts,price,size,side", true},
		{`"ts","symbol","size","price"`, true},
		{" ts , symbol , price , size", true},
		{"\uFEFFts,symbol,size,price", true}, // a byte order mark first: repeated without it
		{"1,A,1,1", false},
		{"ts,ts,symbol,price", false},      // tickd takes each column once, ts, symbol, price and size among them
		{"ts,symbol,price,side", false},    // no size
		{`"ts ",symbol,price,size`, false}, // a space inside the quotes is part of the name
		{`{"ts":1,"symbol":"A","price":"1","size":1}`, false},
	} {
		msgs := publishAndRead(t, c.first+"\nX\nY\n", "1", 2)
		var want []string
		if c.header {
			h := strings.TrimPrefix(c.first, "\uFEFF")
			want = []string{h + "\nX\n", h + "\nY\n"}
		} else {
			want = []string{c.first + "\n", "X\n"}
		}
		for i := range want {
			if msgs[i] != want[i] {
				t.Errorf("first line %q: message %d %q, want %q", c.first, i, msgs[i], want[i])
			}
		}
	}
}

// TestHeaderAfterTheFirstLine: tickd takes a CSV header on any line, and the
// lines after it follow its order; so a header behind a comment, or a second
// one further on (two files concatenated), leads the messages after it.
// Only a first-line header used to be repeated: the later messages were
// read in the usual order, size and price swapped.
func TestHeaderAfterTheFirstLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		per  string
		want []string
	}{
		{"# exported by hand\nts,symbol,size,price\n1,A,100,5\n2,A,200,6\n", "1", []string{
			"# exported by hand\n",
			"ts,symbol,size,price\n1,A,100,5\n",
			"ts,symbol,size,price\n2,A,200,6\n",
		}},
		{"ts,symbol,price,size\n1,A,5,100\nts,symbol,size,price\n2,A,200,6\n3,A,300,7\n", "2", []string{
			"ts,symbol,price,size\n1,A,5,100\nts,symbol,size,price\n2,A,200,6\n",
			"ts,symbol,size,price\n3,A,300,7\n",
		}},
	} {
		msgs := publishAndRead(t, c.in, c.per, len(c.want))
		for i := range c.want {
			if msgs[i] != c.want[i] {
				t.Errorf("input %q: message %d %q, want %q", c.in, i, msgs[i], c.want[i])
			}
		}
	}
}
