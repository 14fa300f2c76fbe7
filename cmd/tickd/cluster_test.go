package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/tick"
)

// natsNode is one member of a test cluster; its ports and store survive a
// restart.
type natsNode struct {
	name, dir   string
	port, cport int
	srv         *bus.Server // nil while stopped
}

func (n *natsNode) start(t *testing.T, routes []string) {
	t.Helper()
	s, err := bus.StartServer(bus.ServerOptions{Name: n.name, Port: n.port, JetStream: true, StoreDir: n.dir,
		Cluster: &bus.ClusterOptions{Name: "tickd-test", Port: n.cport, Routes: routes}})
	if err != nil {
		t.Fatal(err)
	}
	n.srv, n.port = s, s.Addr().(*net.TCPAddr).Port
}

func (n *natsNode) stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv = nil
	}
}

// testCluster is a 3-node NATS cluster with JetStream on loopback, built
// as nats-server's own tests build theirs: every node names the others'
// route URLs, and the cluster is ready once a meta leader sees every peer
// and every node is current.
type testCluster struct {
	t     *testing.T
	nodes []*natsNode
}

func startCluster(t *testing.T) *testCluster {
	c := &testCluster{t: t}
	// A JetStream cluster needs its routes configured up front, so the
	// route ports are chosen first; each node lists all three (its own
	// is ignored), as nats-server's test clusters do.
	for i := range 3 {
		c.nodes = append(c.nodes, &natsNode{name: fmt.Sprintf("n%d", i+1), dir: t.TempDir(), port: bus.RandomPort, cport: freePort(t)})
	}
	for _, n := range c.nodes {
		n.start(t, c.routes())
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			n.stop()
		}
	})
	c.waitReady()
	return c
}

// routes are the route URLs of every node.
func (c *testCluster) routes() []string {
	var r []string
	for _, n := range c.nodes {
		r = append(r, fmt.Sprintf("nats-route://127.0.0.1:%d", n.cport))
	}
	return r
}

// urls is the client URL list of every node, for nats.Connect.
func (c *testCluster) urls() string {
	var u []string
	for _, n := range c.nodes {
		u = append(u, fmt.Sprintf("nats://127.0.0.1:%d", n.port))
	}
	return strings.Join(u, ",")
}

func (c *testCluster) waitReady() {
	c.t.Helper()
	waitUntil(c.t, "the JetStream cluster to be ready", 30*time.Second, func() bool {
		var leader bool
		for _, n := range c.nodes {
			if n.srv == nil {
				continue
			}
			ns := n.srv.NATS()
			if !ns.JetStreamIsCurrent() {
				return false
			}
			if ns.JetStreamIsLeader() && len(ns.JetStreamClusterPeers()) == len(c.nodes) {
				leader = true
			}
		}
		return leader
	})
}

// sawtooth is a native feed of nsym symbols (S00, S01, …), each trading
// 99 then 101, rounds times, so that the rule up100 fires once per round
// per symbol. It returns the feed of rounds [from, to).
func sawtooth(nsym, from, to int) []byte {
	var enc feed.NativeEncoder
	var b []byte
	if from == 0 {
		b = enc.Hello(nil)
	}
	for r := from; r < to; r++ {
		for s := range nsym {
			at := ms(int64(r*2*nsym + s))
			b = enc.Trade(b, fmt.Sprintf("S%02d", s), at, px("99"), 100, tick.SideSell)
			b = enc.Trade(b, fmt.Sprintf("S%02d", s), at+int64(nsym)*int64(time.Millisecond), px("101"), 100, tick.SideBuy)
		}
	}
	return b
}

// shardPipeline starts serve's pipeline as shard i of n on the NATS at
// urls, with one rule, up100: a price crossing 100 upwards.
func shardPipeline(t *testing.T, ctx context.Context, i, n int, natsArgs ...string) (*pipeline, *syncBuffer) {
	t.Helper()
	args := append([]string{"-feed-listen", "127.0.0.1:0", "-shard", fmt.Sprintf("%d/%d", i, n), "-bars", "1s"}, natsArgs...)
	cfg, err := serveDefaults(args...)
	if err != nil {
		t.Fatal(err)
	}
	cfg.rules = []ruleConfig{{ID: "up100", Type: "price", Dir: "up", Level: "100", Hysteresis: 0.5}}
	return startLoggedPipeline(t, ctx, &cfg)
}

// storedMsg is what the stream holds of one message.
type storedMsg struct {
	subject, publisher, symbol string
}

// readStream reads the whole stream through an ordered consumer once it
// holds want messages, and returns them by Nats-Msg-Id with the number of
// times each id was delivered.
func readStream(t *testing.T, nc *nats.Conn, want uint64) (map[string]storedMsg, map[string]int, uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	waitUntil(t, fmt.Sprintf("%d messages in the stream", want), 15*time.Second, func() bool {
		st, err := js.Stream(ctx, bus.DefaultStream)
		if err != nil {
			return false
		}
		n = st.CachedInfo().State.Msgs
		return n >= want
	})
	var (
		mu    sync.Mutex
		msgs  = map[string]storedMsg{}
		count = map[string]int{}
		seen  uint64
		all   = make(chan struct{})
	)
	cc, err := bus.Replay(ctx, nc, bus.ReplayOptions{}, func(m jetstream.Msg) {
		var v struct{ Publisher, Symbol string }
		if err := json.Unmarshal(m.Data(), &v); err != nil {
			t.Errorf("%s: %v", m.Subject(), err)
		}
		id := m.Headers().Get(jetstream.MsgIDHeader)
		mu.Lock()
		defer mu.Unlock()
		msgs[id] = storedMsg{m.Subject(), v.Publisher, v.Symbol}
		count[id]++
		if seen++; seen == n {
			close(all)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()
	select {
	case <-all:
	case <-ctx.Done():
		t.Fatalf("read %d of %d stored messages", seen, n)
	}
	mu.Lock()
	defer mu.Unlock()
	return msgs, count, n
}

// TestClusterShardsExactlyOnce runs two tickd shards into a 3-node NATS
// cluster storing signals and bars in a stream of 3 replicas, stops the
// stream's leader mid-feed and starts it again, and checks that the stream
// holds every signal and bar exactly once, each signal from the shard that
// owns its symbol.
func TestClusterShardsExactlyOnce(t *testing.T) {
	const nsym, rounds = 24, 40
	start := time.Now()
	phase := func(what string) { t.Logf("%6.2fs %s", time.Since(start).Seconds(), what) }
	c := startCluster(t)
	phase("cluster ready")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var pipes []*pipeline
	var logs []*syncBuffer
	var conns []net.Conn
	for i := range 2 {
		p, l := shardPipeline(t, ctx, i, 2, "-nats-url", c.urls(), "-jetstream", "-js-replicas", "3")
		pipes, logs = append(pipes, p), append(logs, l)
		conns = append(conns, dialEventually(t, p.FeedAddr().String()))
	}
	defer func() {
		if t.Failed() {
			for i, l := range logs {
				t.Logf("shard %d log:\n%s", i, l)
			}
		}
	}()
	send := func(b []byte) {
		for _, cn := range conns {
			if _, err := cn.Write(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	stored := func() (n uint64) {
		for _, p := range pipes {
			n += p.pub.Counters().JetStream.Stored
		}
		return n
	}
	events := func() (n uint64) {
		for _, p := range pipes {
			c := p.eng.Counters()
			n += c.Events + c.NotOwned
		}
		return n
	}

	send(sawtooth(nsym, 0, rounds/3))
	waitUntil(t, "the first third stored", 15*time.Second, func() bool { return stored() >= nsym*(rounds/3) })

	// Stop the node shard 0 publishes to while the second third flows,
	// after moving the stream's leadership to it if it was elsewhere: the
	// shard's unacknowledged messages are re-sent through another node,
	// to a stream electing a new leader.
	nc, err := nats.Connect(c.urls(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, bus.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	var down *natsNode
	for _, n := range c.nodes {
		if n.name == pipes[0].nc.ConnectedServerName() {
			down = n
		}
	}
	if down == nil {
		t.Fatalf("shard 0 is connected to %q, not a node", pipes[0].nc.ConnectedServerName())
	}
	waitUntil(t, "the stream led by "+down.name, 15*time.Second, func() bool {
		info, err := st.Info(ctx)
		if err != nil || info.Cluster == nil || info.Cluster.Leader == down.name {
			return err == nil && info.Cluster != nil
		}
		// Ask the leader to step down in favour of down.
		_, _ = nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+bus.DefaultStream,
			[]byte(`{"placement":{"preferred":"`+down.name+`"}}`), 2*time.Second)
		return false
	})
	phase("led by " + down.name + ": sending the second third, stopping it")
	send(sawtooth(nsym, rounds/3, 2*rounds/3))
	down.stop()
	send(sawtooth(nsym, 2*rounds/3, rounds))
	const total = 2 * nsym * rounds // trades, each read by both shards
	waitUntil(t, "both shards to read the whole feed", 15*time.Second, func() bool { return events() >= 2*total })
	phase("all read: restarting " + down.name)
	down.start(t, c.routes())
	c.waitReady()

	for _, cn := range conns {
		cn.Close()
	}
	phase("draining the shards")
	cancel()
	var signals, bars uint64
	ids := map[string]int{} // publisher → shard
	for i, p := range pipes {
		if err := p.Wait(); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		ec, pc := p.eng.Counters(), p.pub.Counters()
		t.Logf("shard %d: engine %d events, %d not owned, %d signals, %d bars; JetStream %+v", i,
			ec.Events, ec.NotOwned, ec.Signals, ec.Bars, pc.JetStream)
		if ec.Events+ec.NotOwned != total || pc.Signals != ec.Signals || pc.Bars != ec.Bars || pc.Dropped != 0 || pc.JetStream.Lost != 0 {
			t.Errorf("shard %d: engine %+v publisher %+v", i, ec, pc)
		}
		signals += ec.Signals
		bars += ec.Bars
		ids[p.pub.ID()] = i
	}
	if signals != nsym*rounds {
		t.Errorf("%d signals, want %d", signals, nsym*rounds)
	}

	phase("reading the stream")
	msgs, count, n := readStream(t, nc, signals+bars)
	if n != signals+bars || uint64(len(msgs)) != n {
		t.Errorf("stream holds %d messages with %d ids; want %d signals + %d bars", n, len(msgs), signals, bars)
	}
	var gotSignals uint64
	for id, m := range msgs {
		if count[id] != 1 {
			t.Errorf("%s delivered %d times", id, count[id])
		}
		shard, ok := ids[m.publisher]
		if !ok {
			t.Errorf("%s: publisher %q is not a shard's", id, m.publisher)
		}
		if !strings.HasPrefix(id, m.subject+"@") {
			t.Errorf("message id %q does not name its subject %s", id, m.subject)
		}
		if want := engine.PartitionOf(m.symbol, 2); shard != want {
			t.Errorf("%s: %s from shard %d, owned by %d", id, m.symbol, shard, want)
		}
		if strings.HasPrefix(m.subject, "tickd.signal.") {
			gotSignals++
		}
	}
	if gotSignals != signals {
		t.Errorf("stream holds %d signals, want %d", gotSignals, signals)
	}
}

// TestShardsSplitSymbols runs three shards of one feed into one NATS (core
// subjects) with two subscribers in a queue group, and checks that every
// symbol's signals come from exactly one shard, the one PartitionOf names,
// and that the queue group shares them: each signal reaches one of the two.
func TestShardsSplitSymbols(t *testing.T) {
	const nsym, rounds, shards = 30, 6, 3
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
	var (
		mu   sync.Mutex
		got  = map[string]map[string]int{} // symbol → publisher → signals
		per  [2]int                        // signals per queue member
		seen int
	)
	for member := range 2 {
		src := subSource{queue: "workers"}
		stop, err := src.subscribe(context.Background(), nc, "tickd.signal.>", func(m bus.Message) {
			s, ok := m.(*bus.Signal)
			if !ok {
				t.Errorf("not a signal: %#v", m)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if got[s.Symbol] == nil {
				got[s.Symbol] = map[string]int{}
			}
			got[s.Symbol][s.Publisher]++
			per[member]++
			seen++
		})
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var pipes []*pipeline
	b := sawtooth(nsym, 0, rounds)
	for i := range shards {
		p, _ := shardPipeline(t, ctx, i, shards, "-nats-url", srv.ClientURL())
		pipes = append(pipes, p)
		cn := dialEventually(t, p.FeedAddr().String())
		if _, err := cn.Write(b); err != nil {
			t.Fatal(err)
		}
		defer cn.Close()
	}
	waitUntil(t, "every signal", 15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen >= nsym*rounds
	})
	cancel()
	publisher := map[string]int{}
	for i, p := range pipes {
		publisher[p.pub.ID()] = i
		if !strings.HasSuffix(p.pub.ID(), fmt.Sprintf("-shard%dof%d", i, shards)) {
			t.Errorf("shard %d publishes as %q", i, p.pub.ID())
		}
	}
	for _, p := range pipes {
		p.wg.Wait() // stages drained; NATS closed below
		p.closeNATS()
	}
	mu.Lock()
	defer mu.Unlock()
	if seen != nsym*rounds || len(got) != nsym {
		t.Fatalf("%d signals for %d symbols, want %d for %d", seen, len(got), nsym*rounds, nsym)
	}
	owned := make([]int, shards)
	for sym, pubs := range got {
		want := engine.PartitionOf(sym, shards)
		if len(pubs) != 1 {
			t.Errorf("%s: signals from %v", sym, pubs)
		}
		for pub, n := range pubs {
			if publisher[pub] != want || n != rounds {
				t.Errorf("%s: %d signals from shard %d (%s), want %d from shard %d", sym, n, publisher[pub], pub, rounds, want)
			}
		}
		owned[want]++
	}
	for i, n := range owned {
		if n == 0 {
			t.Errorf("shard %d owns none of %d symbols", i, nsym)
		}
	}
	if per[0] == 0 || per[1] == 0 {
		t.Errorf("the queue group did not share the work: %v", per)
	}
	t.Logf("symbols per shard %v; signals per queue member %v", owned, per)
}
