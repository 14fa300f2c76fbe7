package mold

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/feed/soupbin"
)

const testSession = "MOLD01"

func msgOf(seq uint64) []byte {
	return fmt.Appendf(nil, "m%d-%s", seq, strings.Repeat("x", int(seq%40)))
}

// rig is one simulated exchange (store, rewind server, senders per line)
// and a receiver, all on 127.0.0.1.
type rig struct {
	t       *testing.T
	store   *soupbin.Store
	senders []*Sender
	rcv     *Receiver
	next    uint64 // next sequence the collector wants
	gaps    [][2]uint64
}

// hidden hides some sequences from the rewind server, so a gap cannot be filled.
type hidden struct {
	Store
	from, to uint64
}

func (h hidden) Message(seq uint64) ([]byte, bool) {
	if seq >= h.from && seq <= h.to {
		return nil, false
	}
	return h.Store.Message(seq)
}

// newRig builds the rig; wrap, if set, changes the store the rewind server sees.
func newRig(t *testing.T, drops []func(uint64, int) bool, wrap func(Store) Store, mod func(*ReceiverOptions)) *rig {
	t.Helper()
	r := &rig{t: t, store: soupbin.NewStore(), next: 1}
	o := ReceiverOptions{Session: testSession, Next: 1, RetryInterval: 20 * time.Millisecond, MaxRequest: 16,
		OnGap: func(first, count uint64) { r.gaps = append(r.gaps, [2]uint64{first, count}) }}
	for range drops {
		o.Lines = append(o.Lines, "127.0.0.1:0")
	}
	{
		var rewind Store = r.store
		if wrap != nil {
			rewind = wrap(r.store)
		}
		rs, err := NewRewindServer(RewindOptions{Session: testSession, Store: rewind})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- rs.Serve(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("rewind Serve: %v", err)
			}
		})
		o.Rewind = rs.Addr().String()
	}
	if mod != nil {
		mod(&o)
	}
	rcv, err := NewReceiver(o)
	if err != nil {
		t.Fatal(err)
	}
	r.rcv = rcv
	for i, a := range rcv.Addrs() {
		s, err := NewSender(SenderOptions{Session: testSession, Addr: a.String(), Drop: drops[i], MaxPacket: 400})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		r.senders = append(r.senders, s)
	}
	return r
}

// add checks messages arrive once each, in order (gaps excepted).
func (r *rig) add(seq uint64, msg []byte) {
	for _, g := range r.gaps {
		if r.next == g[0] {
			r.next += g[1]
		}
	}
	if seq != r.next || string(msg) != string(msgOf(seq)) {
		r.t.Errorf("got seq %d %q, want %d", seq, msg, r.next)
	}
	r.next++
}

// run publishes n messages on every line (a packet per `per` messages,
// paced so the kernel's socket buffers are not what drops packets), ends
// the session and waits for the receiver to see the end.
func (r *rig) run(n, per int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.rcv.Run(ctx, r.add) }()
	for i := 1; i <= n; i++ {
		seq := r.store.Append(msgOf(uint64(i)))
		for _, s := range r.senders {
			if got, err := s.Add(msgOf(uint64(i))); err != nil || got != seq {
				r.t.Fatalf("Add = %d %v, want %d", got, err, seq)
			}
			if i%per == 0 {
				s.Flush()
			}
		}
		if i%(per*20) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	for _, s := range r.senders {
		s.Heartbeat()
		s.End()
	}
	if err := <-done; !errors.Is(err, ErrEndOfSession) {
		r.t.Fatalf("Run = %v, want ErrEndOfSession (stats %+v)", err, r.rcv.Stats())
	}
	if r.next != uint64(n)+1 {
		r.t.Fatalf("ended at %d, want %d (stats %+v, gaps %v)", r.next, n+1, r.rcv.Stats(), r.gaps)
	}
}

func TestInOrder(t *testing.T) {
	r := newRig(t, []func(uint64, int) bool{nil}, nil, nil)
	r.run(3000, 7)
	if st := r.rcv.Stats(); st.Messages != 3000 || st.Gaps != 0 || st.Malformed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRecoverDroppedPackets(t *testing.T) {
	drop := func(seq uint64, count int) bool {
		return seq%50 == 1 || (seq > 500 && seq < 900) || seq+uint64(count) > 2000 // scattered, a long run, the tail
	}
	r := newRig(t, []func(uint64, int) bool{drop}, nil, nil)
	r.run(2000, 5)
	st := r.rcv.Stats()
	if st.Messages != 2000 || st.Gaps != 0 || st.Lost != 0 || st.Requests < 400/16 {
		t.Fatalf("stats %+v", st)
	}
}

func TestGiveUpReportsGap(t *testing.T) {
	drop := func(seq uint64, _ int) bool { return seq >= 21 && seq <= 30 }
	r := newRig(t, []func(uint64, int) bool{drop}, func(s Store) Store { return hidden{s, 21, 30} }, func(o *ReceiverOptions) {
		o.RetryInterval, o.MaxAttempts = 5*time.Millisecond, 3
	})
	r.run(100, 5)
	st := r.rcv.Stats()
	if len(r.gaps) != 1 || r.gaps[0] != [2]uint64{21, 10} || st.Gaps != 1 || st.Lost != 10 || st.Messages != 90 || st.Requests < 3 {
		t.Fatalf("gaps %v, stats %+v; want one gap of 10 at 21", r.gaps, st)
	}
}

// TestGapsWaitAtOnce: with no rewind server answering, gaps are waited out
// side by side, not one after the other. Each later gap's wait used to
// start only once the gaps before it were given up, so 40 gaps of a
// session sent in a few milliseconds took 40 waits to come through.
func TestGapsWaitAtOnce(t *testing.T) {
	const gaps, wait = 40, 4 * 50 * time.Millisecond
	drop := func(seq uint64, _ int) bool { return seq%25 == 11 } // one packet of five in every 25 messages
	r := newRig(t, []func(uint64, int) bool{drop}, nil, func(o *ReceiverOptions) {
		o.Rewind = "" // gaps can only be waited out
		o.RetryInterval, o.MaxAttempts = 50*time.Millisecond, 4
	})
	start := time.Now()
	r.run(gaps*25, 5)
	took := time.Since(start)
	if st := r.rcv.Stats(); st.Gaps != gaps || st.Lost != gaps*5 {
		t.Fatalf("stats %+v; want %d gaps of 5", st, gaps)
	}
	if took > 5*wait {
		t.Fatalf("the session took %v to come through; its gaps should all be given up about %v after they were seen, not %v one after the other", took, wait, gaps*wait)
	}
}

func TestABArbitration(t *testing.T) {
	inA := func(seq uint64) bool { return seq > 300 && seq < 400 } // a run only A loses
	inB := func(seq uint64) bool { return seq > 600 && seq < 700 } // and one only B loses
	a := func(seq uint64, _ int) bool { return inA(seq) || (seq%15 == 1 && !inB(seq)) }
	b := func(seq uint64, _ int) bool { return inB(seq) || (seq%15 == 6 && !inA(seq)) }
	r := newRig(t, []func(uint64, int) bool{a, b}, nil, func(o *ReceiverOptions) {
		o.Rewind = "" // arbitration alone must fill every hole
		o.RetryInterval = 200 * time.Millisecond
	})
	r.run(1000, 5)
	st := r.rcv.Stats()
	if st.Messages != 1000 || st.Gaps != 0 || st.Duplicates == 0 || st.Requests != 0 || st.Lines[0] == 0 || st.Lines[1] == 0 {
		t.Fatalf("stats %+v gaps %v", st, r.gaps)
	}
}

// TestDeadLineShows: with line B down the session goes on from line A
// alone, and the per-line counts show which line carries nothing.
func TestDeadLineShows(t *testing.T) {
	dead := func(uint64, int) bool { return true }
	r := newRig(t, []func(uint64, int) bool{nil, dead}, nil, nil)
	r.run(500, 5)
	st := r.rcv.Stats()
	// Drop spares control packets: line B may read the closing heartbeat
	// and end marker, nothing else. Line A carries the 100 data datagrams
	// but those the loopback dropped under load (they come by rewind:
	// Requests), so at least half of them is asked of it, not all.
	if st.Messages != 500 || st.Gaps != 0 || st.Lines[0] < 50 || st.Lines[1] > 2 {
		t.Fatalf("stats %+v; want line A's datagrams counted and no data on line B", st)
	}
}

// TestSenderNobodyListening: datagrams to a port nobody has bound are lost
// as on a real line and counted; the sender does not fail, and a receiver
// bound later still gets what follows.
func TestSenderNobodyListening(t *testing.T) {
	probe, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.LocalAddr().String()
	probe.Close()
	s, err := NewSender(SenderOptions{Session: "S", Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 20 {
		if _, err := s.Add([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(); err != nil {
			t.Fatalf("flush %d to a closed port: %v", i, err)
		}
	}
	if s.Refused() == 0 {
		t.Fatal("no refusal counted: loopback reports unreachable ports, so some should be")
	}
	if s.Next() != 21 {
		t.Fatalf("next sequence %d, want 21", s.Next())
	}
}

// greedyRewind answers every request with the whole count asked for, in one
// datagram, as a rewind server may: the receiver must ask only for what fits
// the datagrams it reads.
func greedyRewind(t *testing.T, session string, msg []byte) string {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ss, _ := MakeSession(session)
	go func() {
		b := make([]byte, 64)
		for {
			n, from, err := c.ReadFromUDP(b)
			if err != nil {
				return
			}
			_, seq, count, err := ParseRequest(b[:n])
			if err != nil {
				continue
			}
			out := AppendHeader(nil, ss, seq, count)
			for range count {
				out = AppendMessage(out, msg)
			}
			c.WriteToUDP(out, from)
		}
	}()
	return c.LocalAddr().String()
}

// TestRequestAnswerFitsPacket: a gap of 199 messages of 50 bytes is filled
// by answers of full requests, none of them outgrowing the 1500-byte read.
func TestRequestAnswerFitsPacket(t *testing.T) {
	msg := make([]byte, 50)
	var gaps [][2]uint64
	rcv, err := NewReceiver(ReceiverOptions{Lines: []string{"127.0.0.1:0"}, Session: testSession, Next: 1,
		Rewind: greedyRewind(t, testSession, msg), RetryInterval: 50 * time.Millisecond,
		OnGap: func(first, count uint64) { gaps = append(gaps, [2]uint64{first, count}) }})
	if err != nil {
		t.Fatal(err)
	}
	snd, err := NewSender(SenderOptions{Session: testSession, Addr: rcv.Addrs()[0].String(), FirstSeq: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	n := 0
	go func() { done <- rcv.Run(ctx, func(uint64, []byte) { n++ }) }()
	snd.Add(msg)
	snd.End()
	if err := <-done; !errors.Is(err, ErrEndOfSession) {
		t.Fatalf("Run = %v", err)
	}
	if st := rcv.Stats(); n != 200 || len(gaps) != 0 || st.Malformed != 0 || st.Requests < 199/28 {
		t.Fatalf("%d messages, gaps %v, stats %+v: want 200, none lost, nothing truncated", n, gaps, st)
	}
}
