package mold

import (
	"fmt"
	"testing"
	"time"
)

// feedRig drives Run's state machine directly, without sockets or timers.
func feedRig(t *testing.T, maxHeld int) (*Receiver, *[]string) {
	var got []string
	r := &Receiver{opts: ReceiverOptions{MaxHeld: maxHeld, MaxAttempts: 1, MaxRequest: 10, RetryInterval: time.Hour, MaxJump: 1 << 20},
		pool: make(chan []byte, 8), timer: time.NewTimer(time.Hour)}
	r.timer.Stop()
	t.Cleanup(func() { r.timer.Stop() })
	r.h = func(seq uint64, msg []byte) { got = append(got, fmt.Sprintf("%d:%s", seq, msg)) }
	r.opts.OnGap = func(first, count uint64) { got = append(got, fmt.Sprintf("gap %d+%d", first, count)) }
	return r, &got
}

func (r *Receiver) feed(b []byte) { r.packet(datagram{buf: b, n: len(b)}) }

func TestSequenceTracking(t *testing.T) {
	r, got := feedRig(t, 2)
	r.feed(testPacket("S1", 5, "e", "f"))      // joins mid-stream at 5
	r.feed(testPacket("S1", 4, "d", "e"))      // all repeats
	r.feed(testPacket("S2", 7, "x"))           // another session
	r.feed([]byte("junk"))                     // malformed
	r.feed(testPacket("S1", 9, "i"))           // held: 7, 8 missing
	r.feed(testPacket("S1", 9, "i"))           // same packet from the other line
	r.feed(testPacket("S1", 6, "f", "g", "h")) // fills the gap, overlapping both sides
	r.feed(testPacket("S1", 11, "k"))          // held: 10 missing
	r.feed(testPacket("S1", 12, "l"))          // held: MaxHeld reached, not passed
	if last := (*got)[len(*got)-1]; last != "9:i" {
		t.Fatalf("with MaxHeld packets held, got %v: nothing should be given up before one more arrives", *got)
	}
	r.feed(testPacket("S1", 13, "m")) // a third: past MaxHeld, 10 is given up
	r.retry()                         // nothing open: no effect
	want := "[5:e 6:f 7:g 8:h 9:i gap 10+1 11:k 12:l 13:m]"
	if fmt.Sprint(*got) != want {
		t.Fatalf("got %v\nwant %s", *got, want)
	}
	st := r.Stats()
	if st.Messages != 8 || st.Duplicates != 4 || st.WrongSession != 1 || st.Malformed != 1 || st.Gaps != 1 || st.Lost != 1 {
		t.Fatalf("stats %+v", st)
	}
	// A heartbeat announcing 16 opens a gap (no rewind server: only waited
	// out); MaxAttempts 1 gives it up on the first retry.
	ss, _ := MakeSession("S1")
	r.feed(AppendHeader(nil, ss, 16, 0))
	if !r.gapOpen {
		t.Fatal("heartbeat past next opened no gap")
	}
	r.retry()
	r.feed(AppendHeader(nil, ss, 16, CountEndOfSession))
	if fmt.Sprint((*got)[len(*got)-1]) != "gap 14+2" || !r.ended || r.next != 16 {
		t.Fatalf("got %v, next %d ended %v", *got, r.next, r.ended)
	}
}

// TestFarJumpNeedsConfirming: one datagram far past the stream (corrupt,
// rogue, a heartbeat announcing 2^60) is dropped and counted, and the
// session goes on; a jump that a second packet confirms is a gap as usual.
func TestFarJumpNeedsConfirming(t *testing.T) {
	r, got := feedRig(t, 4)
	ss, _ := MakeSession("S1")
	r.feed(testPacket("S1", 1, "a"))
	r.feed(AppendHeader(nil, ss, 1<<60, 0)) // a heartbeat from nowhere
	r.feed(testPacket("S1", 1<<40, "z"))    // a far packet, never confirmed
	if r.gapOpen {
		t.Fatal("an unconfirmed far packet opened a gap")
	}
	r.feed(testPacket("S1", 2, "b"))
	r.retry()
	r.feed(testPacket("S1", 3, "c"))
	far := uint64(1 << 30)
	r.feed(testPacket("S1", far, "x"))   // a real jump: dropped until ...
	r.feed(testPacket("S1", far+1, "y")) // ... this confirms it: held behind the gap
	if !r.gapOpen {
		t.Fatal("a confirmed jump opened no gap")
	}
	r.retry() // MaxAttempts 1: the gap is given up
	want := fmt.Sprintf("[1:a 2:b 3:c gap 4+%d %d:y]", far+1-4, far+1)
	if fmt.Sprint(*got) != want {
		t.Fatalf("got %v\nwant %s", *got, want)
	}
	if st := r.Stats(); st.Malformed != 3 || st.Messages != 4 || st.Gaps != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRewindAnswerFits(t *testing.T) {
	store := &sliceStore{}
	for i := range 100 {
		store.msgs = append(store.msgs, make([]byte, i%7+10))
	}
	rs := &RewindServer{opts: RewindOptions{MaxPacket: 200, Store: store}}
	for _, tc := range []struct {
		seq   uint64
		count int
		want  int // messages answered
	}{{1, 3, 3}, {1, 50, 12}, {99, 10, 2}, {101, 5, 0}} {
		out := rs.answer(nil, tc.seq, tc.count)
		if tc.want == 0 {
			if out != nil {
				t.Errorf("seq %d: answered past the store", tc.seq)
			}
			continue
		}
		p, err := Parse(out)
		if err != nil || len(out) > 200 || p.Seq != tc.seq || p.Messages() != tc.want {
			t.Errorf("seq %d count %d: %d bytes, %+v %v, want %d messages", tc.seq, tc.count, len(out), p, err, tc.want)
		}
	}
}

type sliceStore struct{ msgs [][]byte }

func (s *sliceStore) Message(seq uint64) ([]byte, bool) {
	if seq == 0 || seq > uint64(len(s.msgs)) {
		return nil, false
	}
	return s.msgs[seq-1], true
}

// TestSequenceNearWrap: a session whose sequence numbers run up to the last
// that 64 bits hold is tracked like any other. The far-jump check added
// MaxJump to the highest sequence seen, which wrapped past 2^64-MaxJump,
// so every packet there was taken for a rogue far jump and dropped.
func TestSequenceNearWrap(t *testing.T) {
	r, got := feedRig(t, 4)
	const top = ^uint64(0) // the last sequence: a packet of one message there ends at 2^64-1+1, refused by Parse
	r.feed(testPacket("S1", top-5, "a", "b"))
	r.feed(testPacket("S1", top-2, "d")) // held: top-3 missing
	r.feed(testPacket("S1", top-3, "c")) // fills it
	want := fmt.Sprintf("[%d:a %d:b %d:c %d:d]", top-5, top-4, top-3, top-2)
	if fmt.Sprint(*got) != want {
		t.Fatalf("got %v\nwant %s (stats %+v)", *got, want, r.Stats())
	}
	if st := r.Stats(); st.Malformed != 0 || st.Messages != 4 {
		t.Fatalf("stats %+v", st)
	}
}

// TestAnnouncedGapWaitsFromHeartbeat: a gap that only a heartbeat announced
// (the last packets lost, nothing held behind them) counts its wait from
// that heartbeat, as a gap with packets held behind it counts from the
// first of them: behind a gap given up, one that has waited it out is given
// up at once. It used to start its whole wait only then.
func TestAnnouncedGapWaitsFromHeartbeat(t *testing.T) {
	r, got := feedRig(t, 8)
	r.opts.RetryInterval, r.opts.MaxAttempts = 10*time.Millisecond, 2
	ss, _ := MakeSession("S1")
	r.feed(testPacket("S1", 1, "a"))
	r.feed(testPacket("S1", 3, "c"))     // held: 2 missing
	r.feed(AppendHeader(nil, ss, 6, 0))  // 4 and 5 lost too, announced by a heartbeat
	time.Sleep(3 * r.opts.RetryInterval) // both gaps wait out their attempts
	r.retry()                            // the first gap's second request
	r.retry()                            // its last: 2 is given up, and 4..5, as old, with it
	want := "[1:a gap 2+1 3:c gap 4+2]"
	if fmt.Sprint(*got) != want || r.gapOpen {
		t.Fatalf("got %v, gap open %v\nwant %s, no gap open", *got, r.gapOpen, want)
	}
}

// TestJumpOfMaxJumpIsBelieved: a packet exactly MaxJump past the highest
// sequence seen needs no confirming (only one further past does): it is
// held behind the gap at once.
func TestJumpOfMaxJumpIsBelieved(t *testing.T) {
	r, got := feedRig(t, 4)
	r.feed(testPacket("S1", 1, "a"))
	r.feed(testPacket("S1", 2+r.opts.MaxJump, "z")) // the highest seen ends at 2
	if !r.gapOpen || len(r.held) != 1 {
		t.Fatalf("a jump of MaxJump was not held behind a gap (gap open %v, held %d, stats %+v)", r.gapOpen, len(r.held), r.Stats())
	}
	r.retry() // MaxAttempts 1: the gap is given up
	want := fmt.Sprintf("[1:a gap 2+%d %d:z]", r.opts.MaxJump, 2+r.opts.MaxJump)
	if fmt.Sprint(*got) != want {
		t.Fatalf("got %v\nwant %s", *got, want)
	}
}

// TestGapWaitedOutIsGivenUpAtOnce: a gap behind the oldest that has already
// waited exactly MaxAttempts retry intervals when the oldest is given up is
// given up with it, without one more request. The held packet's arrival is
// set back rather than slept through, so the count of intervals is exact.
func TestGapWaitedOutIsGivenUpAtOnce(t *testing.T) {
	r, got := feedRig(t, 8)
	r.opts.MaxAttempts = 2
	r.feed(testPacket("S1", 1, "a"))
	r.feed(testPacket("S1", 3, "c")) // held: 2 missing, first request
	r.feed(testPacket("S1", 5, "e")) // held: 4 missing too
	r.held[1].at = r.held[1].at.Add(-time.Duration(r.opts.MaxAttempts)*r.opts.RetryInterval - time.Minute)
	r.retry() // the first gap's second request
	r.retry() // its last: 2 is given up, and 4, as old, with it
	want := "[1:a gap 2+1 3:c gap 4+1 5:e]"
	if fmt.Sprint(*got) != want || r.gapOpen {
		t.Fatalf("got %v, gap open %v, requests %d\nwant %s, no gap open", *got, r.gapOpen, r.Stats().Requests, want)
	}
}

// TestSlowHandlerIsNotTheRewindsSilence: the time the handler takes over
// the messages a gap's answer releases (an engine behind its backpressure, a
// fused engine) is not time the gaps behind it waited for the rewind
// server. Counted as such, a loaded tickd gave the next gap up at once,
// never asking for it, though the rewind server was answering.
func TestSlowHandlerIsNotTheRewindsSilence(t *testing.T) {
	r, got := feedRig(t, 8)
	r.opts.RetryInterval, r.opts.MaxAttempts = 100*time.Millisecond, 5
	record := r.h
	r.h = func(seq uint64, msg []byte) {
		record(seq, msg)
		if seq == 3 { // the engine takes longer than a gap's whole wait
			time.Sleep(time.Duration(r.opts.MaxAttempts+1) * r.opts.RetryInterval)
		}
	}
	r.feed(testPacket("S1", 1, "a"))
	r.feed(testPacket("S1", 3, "c")) // held: 2 missing, asked for
	r.feed(testPacket("S1", 5, "e")) // held: 4 missing too
	r.feed(testPacket("S1", 2, "b")) // the answer: 2 and 3 handed on, slowly
	if want := "[1:a 2:b 3:c]"; fmt.Sprint(*got) != want || !r.gapOpen || r.askedAt != 4 {
		t.Fatalf("got %v, gap open %v, last asked for %d\nwant %s, 4 asked for", *got, r.gapOpen, r.askedAt, want)
	}
	r.retry() // the gap at 4 has had one request of its 5
	r.feed(testPacket("S1", 4, "d"))
	if want := "[1:a 2:b 3:c 4:d 5:e]"; fmt.Sprint(*got) != want || r.gapOpen {
		t.Fatalf("got %v, gap open %v\nwant %s, no gap open", *got, r.gapOpen, want)
	}
}

// TestSlowHandlerAfterGiveUp: what the handler takes over the packets a
// given-up gap releases does not age the gap behind them either; the time
// the given-up gap waited still does (TestGapWaitedOutIsGivenUpAtOnce).
func TestSlowHandlerAfterGiveUp(t *testing.T) {
	r, got := feedRig(t, 8)
	r.opts.RetryInterval, r.opts.MaxAttempts = 100*time.Millisecond, 1
	record := r.h
	r.h = func(seq uint64, msg []byte) {
		record(seq, msg)
		if seq == 3 {
			time.Sleep(2 * r.opts.RetryInterval)
		}
	}
	r.feed(testPacket("S1", 1, "a"))
	r.feed(testPacket("S1", 3, "c")) // held: 2 missing, asked for
	r.feed(testPacket("S1", 5, "e")) // held: 4 missing too
	r.retry()                        // 2 given up: 3 handed on, slowly
	if want := "[1:a gap 2+1 3:c]"; fmt.Sprint(*got) != want || !r.gapOpen || r.askedAt != 4 {
		t.Fatalf("got %v, gap open %v, last asked for %d\nwant %s, 4 asked for", *got, r.gapOpen, r.askedAt, want)
	}
}
