package feed

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/tickd/tickd/tick"
)

// TestRegistryGroups sends connections one after another into a listener
// whose Registry groups every connection under the listener's address, and
// checks that the group counts every connection exactly once, live and after
// it ended, and never goes down.
func TestRegistryGroups(t *testing.T) {
	var ss sinks
	reg := &Registry{Group: func(source string) string {
		local, _, _ := strings.Cut(strings.TrimPrefix(source, "tcp "), "<-")
		return "listen " + local
	}}
	syms := tick.NewSymbolTable(16)
	l, err := NewTCPListener("127.0.0.1:0", ss.open, Options{Symbols: syms, Stats: reg})
	if err != nil {
		t.Fatal(err)
	}
	group := "listen " + l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.Serve(ctx) }()

	const conns, perConn = 3, 100
	stream := connStream("G", perConn)
	var last uint64
	for i := range conns {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(stream); err != nil {
			t.Fatal(err)
		}
		want := uint64((i + 1) * (perConn + 3)) // hello, the symbol's definition, trades, end
		waitFor(t, "the connection's frames", func() bool {
			g := reg.Groups()
			return len(g) == 1 && g[0].Frames == want
		})
		c.Close()
		waitFor(t, "the connection to end", func() bool { live, _ := reg.Sources(); return len(live) == 0 })
		g := reg.Groups()
		if len(g) != 1 || g[0].Group != group || g[0].Frames != want || g[0].Frames < last {
			t.Fatalf("after connection %d: groups %+v, want %q with %d frames", i, g, group, want)
		}
		if tot := reg.Total(); tot.Frames != g[0].Frames || tot.Bytes != g[0].Bytes {
			t.Fatalf("group %+v, total %+v", g[0].Stats, tot)
		}
		last = g[0].Frames
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if tr := reg.Transports(); len(tr) != 0 {
		t.Errorf("TCP connections report ITCH transports: %+v", tr)
	}
}

// TestRegistryNoGroup: without Group, ended sources are not kept by name.
func TestRegistryNoGroup(t *testing.T) {
	reg := new(Registry)
	c := reg.register("tcp a<-b", nil)
	c.publish(&Stats{Frames: 3})
	if g := reg.Groups(); len(g) != 1 || g[0].Group != "tcp a<-b" || g[0].Frames != 3 {
		t.Fatalf("live: %+v", g)
	}
	reg.unregister(c)
	if g := reg.Groups(); len(g) != 0 || reg.endedBy != nil {
		t.Fatalf("ended: %+v", g)
	}
}
