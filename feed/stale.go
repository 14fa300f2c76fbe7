package feed

import "time"

// SourceState is a change in a source's liveness, as StaleWatch.Check
// reports it.
type SourceState struct {
	Source string
	ID     uint16
	Stale  bool          // true: went silent; false: heard again after being stale, or ended
	Ended  bool          // the source ended while stale: it will not be heard again
	Silent time.Duration // how long it had been silent when checked
}

// StaleWatch finds the live sources of a Registry that have received
// nothing (no data, no heartbeat, no datagram) for longer than After, and
// those that are heard again. A source handing a batch on (waiting for a
// full engine ring) is not waiting for its peer: that time is no silence. It is meant to be checked from one goroutine
// about once a second; it costs the hot path nothing beyond the one clock
// store per read batch that every source already makes.
type StaleWatch struct {
	Reg   *Registry
	After time.Duration // silence before a source is stale; <= 0 disables the watch
	stale map[*Counters]bool
}

// Check compares every live source's last receive time with now (on the
// sources' Options.Clock) and appends to dst a SourceState for each that
// went stale or came back since the last Check, and one (Ended) for each
// that was stale and has ended since, so a watcher of its state can drop
// it. A source that ends while live is forgotten unreported.
func (w *StaleWatch) Check(now int64, dst []SourceState) []SourceState {
	if w.After <= 0 || w.Reg == nil {
		return dst
	}
	if w.stale == nil {
		w.stale = make(map[*Counters]bool)
	}
	w.Reg.mu.Lock()
	defer w.Reg.mu.Unlock()
	for c := range w.stale {
		if _, live := w.Reg.live[c]; !live {
			dst = append(dst, SourceState{Source: c.source, ID: c.id, Ended: true, Silent: c.silent(now)})
			delete(w.stale, c)
		}
	}
	for c := range w.Reg.live {
		silent := c.silent(now)
		stale := silent > w.After
		if stale != w.stale[c] {
			dst = append(dst, SourceState{Source: c.source, ID: c.id, Stale: stale, Silent: silent})
		}
		if stale {
			w.stale[c] = true
		} else {
			delete(w.stale, c)
		}
	}
	return dst
}

// Stale is how many live sources were stale at the last Check. Call it
// from the goroutine that calls Check.
func (w *StaleWatch) Stale() int { return len(w.stale) }
