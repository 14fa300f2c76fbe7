package feed

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/tickd/tickd/feed/soupbin"
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
	c := reg.register("tcp a<-b", nil, 0)
	c.publish(&Stats{Frames: 3})
	if g := reg.Groups(); len(g) != 1 || g[0].Group != "tcp a<-b" || g[0].Frames != 3 {
		t.Fatalf("live: %+v", g)
	}
	reg.unregister(c)
	if g := reg.Groups(); len(g) != 0 || reg.endedBy != nil {
		t.Fatalf("ended: %+v", g)
	}
}

// TestITCHTransports: a SoupBinTCP session reports itself logged in, its
// logins and disconnects, and not logged in once its server is gone; a
// MoldUDP64 session counts a malformed datagram.
func TestITCHTransports(t *testing.T) {
	st := soupbin.NewStore()
	st.Append(itchSession(1)[0])
	srv, err := soupbin.NewServer(soupbin.ServerOptions{Store: st, Credentials: soupbin.Credentials{Username: "tickd", Password: "s3cret", Session: "ITCH1"}})
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stopSrv := context.WithCancel(context.Background())
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Serve(srvCtx) }()
	t.Setenv(SoupBinEnvPrefix+"USERNAME", "tickd")
	t.Setenv(SoupBinEnvPrefix+"PASSWORD", "s3cret")
	var (
		ss  sinks
		log errLog
		reg Registry
	)
	ctx, cancel := context.WithCancel(context.Background())
	wait := runITCH(t, ctx, "soupbin://"+srv.Addr().String(), &ss, itchOpts(&log, &reg))
	one := func() TransportStats {
		if tr := reg.Transports(); len(tr) == 1 {
			return tr[0]
		}
		return TransportStats{}
	}
	waitFor(t, "the first login", func() bool { tr := one(); return tr.Up && tr.Logins == 1 })
	if tr := one(); tr.Transport != TransportSoupBin || tr.Source != "soupbin "+srv.Addr().String() || tr.Disconnects != 0 {
		t.Fatalf("transport %+v", tr)
	}
	srv.DropConnections()
	waitFor(t, "a reconnect", func() bool { tr := one(); return tr.Up && tr.Logins == 2 && tr.Disconnects >= 1 })
	stopSrv()
	if err := <-srvDone; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "logged out", func() bool { tr := one(); return !tr.Up && tr.Logins == 2 })
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if tr := reg.Transports(); len(tr) != 0 {
		t.Errorf("ended session still reported live: %+v", tr)
	}
	// Its counters stay in the totals: they only grow.
	if tr := reg.TransportTotals(); len(tr) != 1 || tr[0].Up || tr[0].Logins != 2 || tr[0].Disconnects < 1 ||
		tr[0].Source != "soupbin "+srv.Addr().String() {
		t.Errorf("ended session's totals: %+v", tr)
	}

	line := freeUDP(t)
	cfg, err := ParseITCHURL("mold://" + line + "?session=ITCH01")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunITCH(ctx, cfg, ss.open, itchOpts(&log, &reg)) }()
	waitFor(t, "the mold session", func() bool { return one().Transport == TransportMold })
	c, err := net.Dial("udp", line)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, "a malformed datagram counted", func() bool {
		c.Write([]byte("not a MoldUDP64 packet"))
		tr := one()
		return tr.Up && tr.Malformed > 0 && tr.Duplicates == 0
	})
	if tr := one(); tr.Lines != 1 || tr.LineDatagrams[0] < tr.Malformed || tr.LineDatagrams[1] != 0 {
		t.Errorf("line counts %+v: want line A's datagrams (the malformed ones too), no line B", tr)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if tr := reg.TransportTotals(); len(tr) != 2 || tr[0].Transport != TransportMold || tr[0].Malformed == 0 || tr[0].Up ||
		tr[1].Transport != TransportSoupBin || tr[1].Logins != 2 {
		t.Errorf("totals after both sessions: %+v", tr)
	}
}
