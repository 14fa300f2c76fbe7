package bus

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultHealthInterval is how often WatchSlowConsumers and WatchBacklogs
// poll the server.
const DefaultHealthInterval = time.Second

// SlowConsumers is how many times the embedded server has cut a client off
// as a slow consumer since it started: tickd's server never blocks a
// publisher on a subscriber that cannot keep up; when a client's pending
// outbound data exceeds its limit (or a write stalls past the write
// deadline) the server closes that client and counts it here. The publisher
// is unaffected, and the slow subscriber loses what was pending (and what is
// published until it reconnects). Before that, past three quarters of the
// limit, the server may drop that client's messages uncounted: see Backlog.
func (s *Server) SlowConsumers() int64 { return s.ns.NumSlowConsumers() }

// WatchSlowConsumers polls SlowConsumers every interval (0:
// DefaultHealthInterval) until ctx is done and calls report, from its own
// goroutine, with the running total and the increase whenever it grew; a
// burst of slow consumers is reported once per interval, not per event. It
// returns nil when ctx is done. The embedded server knows about its slow
// consumers; an external server reports its own (its log, /varz).
func (s *Server) WatchSlowConsumers(ctx context.Context, interval time.Duration, report func(total, added int64)) error {
	interval, err := pollInterval("WatchSlowConsumers", interval, report == nil)
	if err != nil {
		return err
	}
	tk := time.NewTicker(interval)
	defer tk.Stop()
	last := s.SlowConsumers()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
		}
		if n := s.SlowConsumers(); n > last {
			report(n, n-last)
			last = n
		}
	}
}

// Backlog is a client connection of the embedded server whose outbound
// data waiting to be written has passed three quarters of the server's
// max_pending. Past that mark nats-server (v2.15) raises a stall gate for
// the client, and lowers it after its next write to the client that sends
// all it attempted. tickd runs the server with NoFastProducerStall, so that
// a slow subscriber cannot stall the publisher and through it the engine:
// while the gate is up, the server drops, without counting them anywhere,
// the messages it would have queued for that client instead of stalling
// their publisher. A Backlog is a risk of loss, not a count of it: a
// client whose writes keep completing may lose nothing (the subscriber's
// own sequence numbers tell). A client cut off later as a slow consumer
// shows in SlowConsumers; one that catches up does not, and Backlog is
// then the only trace the server leaves of any losses.
type Backlog struct {
	Client  string // the connection's name, or its address when it gave none
	Pending int64  // bytes waiting to be written to it
	Limit   int64  // max_pending: past Limit*3/4 its messages are dropped
}

// backlogProbe bounds the connections each poll looks at, fullest first.
const backlogProbe = 16

// WatchBacklogs polls the server's connections every interval (0:
// DefaultHealthInterval) until ctx is done and calls report, from its own
// goroutine, once for each client whose backlog crosses the mark at which
// the server may drop its messages (see Backlog);
// it reports that client again only after its backlog fell back below the
// mark. It returns nil when ctx is done.
func (s *Server) WatchBacklogs(ctx context.Context, interval time.Duration, report func(Backlog)) error {
	interval, err := pollInterval("WatchBacklogs", interval, report == nil)
	if err != nil {
		return err
	}
	v, err := s.ns.Varz(nil)
	if err != nil {
		return fmt.Errorf("bus: WatchBacklogs: %w", err)
	}
	limit := v.MaxPending
	mark := limit / 4 * 3
	tk := time.NewTicker(interval)
	defer tk.Stop()
	over := map[uint64]bool{} // cids reported and still past the mark
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
		}
		cz, err := s.ns.Connz(&server.ConnzOptions{Sort: server.ByPending, Limit: backlogProbe})
		if err != nil {
			continue // the server is shutting down; ctx ends the watch
		}
		now := map[uint64]bool{}
		for _, c := range cz.Conns {
			if int64(c.Pending) <= mark {
				break // sorted, fullest first
			}
			now[c.Cid] = true
			if !over[c.Cid] {
				name := c.Name
				if name == "" {
					name = net.JoinHostPort(c.IP, strconv.Itoa(c.Port))
				}
				report(Backlog{Client: name, Pending: int64(c.Pending), Limit: limit})
			}
		}
		over = now
	}
}

// pollInterval checks a watcher's arguments and returns its interval, the
// default for 0.
func pollInterval(watcher string, interval time.Duration, nilReport bool) (time.Duration, error) {
	switch {
	case nilReport:
		return 0, fmt.Errorf("bus: %s: nil report", watcher)
	case interval < 0:
		return 0, fmt.Errorf("bus: %s: negative interval", watcher)
	case interval == 0:
		return DefaultHealthInterval, nil
	}
	return interval, nil
}
