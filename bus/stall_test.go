package bus

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

// freezableRelay forwards TCP connections to a server until frozen; frozen,
// it stops reading from its clients, so their writes fill the socket
// buffers and block, as with a hung server or a partition without a reset,
// until thawed. Its read buffers are small, so that a few tens of KB fill
// them. A connection that ends on one side is closed on the other.
type freezableRelay struct {
	ln     net.Listener
	to     string
	frozen chan struct{}
	freeze sync.Once
	thawed chan struct{}
	thaw   sync.Once
	done   chan struct{}
	stop   sync.Once
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startRelay(t *testing.T, to string) *freezableRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &freezableRelay{ln: ln, to: to, frozen: make(chan struct{}), thawed: make(chan struct{}), done: make(chan struct{})}
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(r.close)
	return r
}

func (r *freezableRelay) url() string { return "nats://" + r.ln.Addr().String() }

func (r *freezableRelay) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", r.to)
		if err != nil {
			c.Close()
			continue
		}
		c.(*net.TCPConn).SetReadBuffer(4 << 10)
		r.mu.Lock()
		r.conns = append(r.conns, c, s)
		r.mu.Unlock()
		r.wg.Add(2)
		go r.pipe(s, c, true)
		go r.pipe(c, s, false)
	}
}

// pipe copies from src to dst; from a client, not while frozen.
func (r *freezableRelay) pipe(dst, src net.Conn, fromClient bool) {
	defer r.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 4<<10)
	for {
		if fromClient && !r.waitThawed() {
			return
		}
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// waitThawed returns at once unless frozen, then once thawed (true) or
// closed (false).
func (r *freezableRelay) waitThawed() bool {
	select {
	case <-r.frozen:
	default:
		return true
	}
	select {
	case <-r.thawed:
		return true
	case <-r.done:
		return false
	}
}

func (r *freezableRelay) freezeNow() { r.freeze.Do(func() { close(r.frozen) }) }
func (r *freezableRelay) thawNow()   { r.thaw.Do(func() { close(r.thawed) }) }

func (r *freezableRelay) close() {
	r.stop.Do(func() { close(r.done) })
	r.ln.Close()
	r.mu.Lock()
	for _, c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// TestPublisherRunEndsWhileServerHangs: a server that stops reading (hung,
// or a partition that resets nothing) must not hold Run's end past its
// write timeout and final flush. nats.go's own write timeout is a minute,
// which outlasts a supervisor's stop timeout (30 s in Kubernetes): the
// process would be killed mid-drain.
func TestPublisherRunEndsWhileServerHangs(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, ServerOptions{Port: RandomPort})
	relay := startRelay(t, s.Addr().String())
	pnc, err := nats.Connect(relay.url(), ReconnectOptions(0)...)
	if err != nil {
		t.Fatal(err)
	}
	defer pnc.Close()
	p, err := NewPublisher(pnc, f.syms, f.rules, PublisherOptions{ID: "test-pub", Wait: ringbuf.SpinYield})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := ringbuf.New[tick.Out](ringbuf.Options{Capacity: 1024})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- p.Run([]*ringbuf.Ring[tick.Out]{ring}) }()

	relay.freezeNow()
	start := time.Now()
	// Far more than the socket buffers hold: the client's flusher blocks
	// in a write, holding the connection, and Publish waits behind it. Once
	// publishes fail (the write timed out) no more are sent: draining tens
	// of thousands of failing publishes took seconds of CPU under -race, and
	// on a loaded machine ate the bound's slack.
	recs := f.records(0, 1000)
	failing := func() bool { c := p.Counters(); return c.Errors+c.Dropped > 0 }
	go func() {
		for i := 0; i < 100 && !failing(); i++ {
			for rest := recs; len(rest) > 0; {
				k := copy(ring.Reserve(len(rest)), rest)
				ring.Commit(k)
				rest = rest[k:]
			}
		}
		ring.Close()
	}()
	bound := DefaultWriteTimeout + DefaultFlushTimeout + 10*time.Second
	select {
	case err := <-ran:
		t.Logf("Run returned after %v: %v; %+v", time.Since(start).Round(time.Millisecond), err, p.Counters())
		if err == nil {
			t.Error("Run returned nil after the server hung: the loss is not reported")
		}
	case <-time.After(bound):
		relay.close() // let Run end, so the test does not leak it
		<-ran
		t.Fatalf("Run still draining %v after the server hung", bound)
	}
}
