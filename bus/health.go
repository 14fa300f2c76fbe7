package bus

import (
	"context"
	"errors"
	"time"
)

// DefaultHealthInterval is how often WatchSlowConsumers polls the server.
const DefaultHealthInterval = time.Second

// SlowConsumers is how many times the embedded server has cut a client off
// as a slow consumer since it started: nats-server never blocks a publisher
// on a subscriber that cannot keep up; when a client's pending outbound data
// exceeds its limit (or a write stalls past the write deadline) the server
// closes that client and counts it here. The publisher is unaffected, and the
// slow subscriber loses what was pending (and what is published until it
// reconnects).
func (s *Server) SlowConsumers() int64 { return s.ns.NumSlowConsumers() }

// WatchSlowConsumers polls SlowConsumers every interval (0:
// DefaultHealthInterval) until ctx is done and calls report, from its own
// goroutine, with the running total and the increase whenever it grew; a
// burst of slow consumers is reported once per interval, not per event. It
// returns nil when ctx is done. The embedded server knows about its slow
// consumers; an external server reports its own (its log, /varz).
func (s *Server) WatchSlowConsumers(ctx context.Context, interval time.Duration, report func(total, added int64)) error {
	if report == nil {
		return errors.New("bus: WatchSlowConsumers: nil report")
	}
	if interval < 0 {
		return errors.New("bus: WatchSlowConsumers: negative interval")
	}
	if interval == 0 {
		interval = DefaultHealthInterval
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
