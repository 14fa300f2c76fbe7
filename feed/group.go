package feed

import (
	"maps"
	"slices"
	"strings"

	"github.com/tickd/tickd/feed/mold"
)

// GroupStats are the counters of one group of sources (Registry.Group).
type GroupStats struct {
	Group string
	Stats
}

// foldGroup adds an ended source's counters to its group's. Called with
// r.mu held; only with Group, as without it every TCP connection would be
// a group of its own, kept forever.
func (r *Registry) foldGroup(group string, s *Stats) {
	if r.Group == nil {
		return
	}
	if r.endedBy == nil {
		r.endedBy = make(map[string]*Stats)
	}
	g := r.endedBy[group]
	if g == nil {
		g = new(Stats)
		r.endedBy[group] = g
	}
	g.Add(s)
}

// Groups returns the counters of every group seen, live and ended sources
// summed, sorted by group. It reads under the lock that sources take when
// they end, so a source is counted exactly once: each group's counters
// only grow. Without Group every live source is its own group and ended
// sources are not reported.
func (r *Registry) Groups() []GroupStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[string]*Stats, len(r.endedBy)+len(r.live))
	for g, s := range r.endedBy {
		c := *s
		m[g] = &c
	}
	for c := range r.live {
		s := c.Snapshot()
		if g := m[c.group]; g != nil {
			g.Add(&s)
		} else {
			m[c.group] = &s
		}
	}
	out := make([]GroupStats, 0, len(m))
	for g, s := range m {
		out = append(out, GroupStats{Group: g, Stats: *s})
	}
	slices.SortFunc(out, func(a, b GroupStats) int { return strings.Compare(a.Group, b.Group) })
	return out
}

// TransportStats are the transport counters of a live ITCH session.
type TransportStats struct {
	Source    string // the source name, as in Registry.Sources
	Transport string // TransportSoupBin or TransportMold
	// Up: SoupBinTCP logged in now; MoldUDP64 sockets bound (while the
	// session runs, always).
	Up          bool
	Logins      uint64 // SoupBinTCP logins accepted
	Disconnects uint64 // SoupBinTCP connections lost or not made (each is retried)
	Malformed   uint64 // MoldUDP64 datagrams that failed to parse
	Duplicates  uint64 // MoldUDP64 messages dropped as already handed on
	// WrongSession counts MoldUDP64 datagrams of another session, dropped
	// (an exchange restarted under a new session, another feed's sender).
	WrongSession uint64
	// MoldUDP64: Lines is 1, or 2 with a B line; LineDatagrams counts the
	// datagrams each line (A, B) read, so a dead line shows.
	Lines         int
	LineDatagrams [2]uint64
}

// Transports returns the transport counters of the live ITCH sessions,
// sorted by source.
func (r *Registry) Transports() []TransportStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.liveTransports()
}

// TransportTotals returns the transport counters of every ITCH session
// seen, sorted by source: a live session's, plus the last counters of
// ended sessions of that source (Up false when none is live). Read under
// the lock that sessions take when they end, each source's counters only
// grow.
func (r *Registry) TransportTotals() []TransportStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := maps.Clone(r.endedTr)
	if m == nil {
		m = map[string]TransportStats{}
	}
	for _, t := range r.liveTransports() {
		if e, ok := m[t.Source]; ok {
			t.add(&e)
		}
		m[t.Source] = t
	}
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b TransportStats) int { return strings.Compare(a.Source, b.Source) })
	return out
}

// liveTransports is Transports, with r.mu held.
func (r *Registry) liveTransports() []TransportStats {
	var out []TransportStats
	for c := range r.live {
		if t, ok := c.transportStats(); ok {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b TransportStats) int { return strings.Compare(a.Source, b.Source) })
	return out
}

// transportStats reads an ITCH session's transport counters, if it is one.
func (c *Counters) transportStats() (TransportStats, bool) {
	f := c.transport.Load()
	if f == nil || *f == nil {
		return TransportStats{}, false
	}
	t := (*f)()
	t.Source = c.source
	return t, true
}

// foldTransport keeps an ended session's last transport counters, added
// to those of earlier sessions of its source. Called with r.mu held.
func (r *Registry) foldTransport(t TransportStats) {
	if r.endedTr == nil {
		r.endedTr = make(map[string]TransportStats)
	}
	t.Up = false
	if e, ok := r.endedTr[t.Source]; ok {
		t.add(&e)
	}
	r.endedTr[t.Source] = t
}

// add adds o's counters into t.
func (t *TransportStats) add(o *TransportStats) {
	t.Logins += o.Logins
	t.Disconnects += o.Disconnects
	t.Malformed += o.Malformed
	t.Duplicates += o.Duplicates
	t.WrongSession += o.WrongSession
	t.Lines = max(t.Lines, o.Lines)
	for i := range t.LineDatagrams {
		t.LineDatagrams[i] += o.LineDatagrams[i]
	}
}

func (r *itchRun) soupBinStats() TransportStats {
	s := r.soup.Stats()
	return TransportStats{Transport: TransportSoupBin, Up: s.Logins > r.downLogins.Load(),
		Logins: s.Logins, Disconnects: s.Disconnect}
}

func moldStats(rcv *mold.Receiver) TransportStats {
	s := rcv.Stats()
	return TransportStats{Transport: TransportMold, Up: true, Malformed: s.Malformed, Duplicates: s.Duplicates, WrongSession: s.WrongSession,
		Lines: len(rcv.Addrs()), LineDatagrams: s.Lines}
}
