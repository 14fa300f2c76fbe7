package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/bus"
)

// TestPublishesWholeLines: 5 lines, 2 a message, make 3 messages of whole
// lines, each led by the CSV header.
func TestPublishesWholeLines(t *testing.T) {
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
	in := "ts,symbol,price,size\n1,A,1,1\n2,A,1,1\n3,A,1,1\n4,A,1,1\n5,A,1,1\n"
	if err := run([]string{"-nats-url", srv.ClientURL(), "-subject", "ticks.x", "-lines", "2"}, strings.NewReader(in), io.Discard); err != nil {
		t.Fatal(err)
	}
	h := "ts,symbol,price,size\n"
	for i, want := range []string{h + "1,A,1,1\n2,A,1,1\n", h + "3,A,1,1\n4,A,1,1\n", h + "5,A,1,1\n"} {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if string(m.Data) != want {
			t.Errorf("message %d: %q, want %q", i, m.Data, want)
		}
	}
}
