package metrics

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/tickd/tickd/feed"
)

// SourceGroup returns a feed.Registry.Group function that keeps the source
// label bounded: a TCP connection ("tcp LOCAL<-REMOTE") is grouped under
// "tcp listen LOCAL" when LOCAL is the feed listener's address (listen
// returns it, "" without a listener), and under "tcp dial REMOTE" otherwise
// (tickd dialed REMOTE, from an ephemeral port). Other sources (ITCH
// sessions, tailed files) are few and keep their names.
func SourceGroup(listen func() string) func(source string) string {
	return func(source string) string {
		rest, ok := strings.CutPrefix(source, "tcp ")
		if !ok {
			return source
		}
		local, remote, ok := strings.Cut(rest, "<-")
		if !ok {
			return source
		}
		if l := listen(); l != "" && local == l {
			return "tcp listen " + local
		}
		return "tcp dial " + remote
	}
}

// Readiness says whether a tickd is ready: its NATS connection is up, every
// configured feed is live and no stage has failed. A feed listener is live
// from start-up (it is bound before anything runs) and a tailed file is
// live while waiting for data, so neither is checked beyond Failed: a tail
// that stopped (framing lost) is a failed stage.
type Readiness struct {
	NATS  func() bool         // the publishing connection is connected
	Feeds *feed.Registry      // grouped by Group
	Group func(string) string // SourceGroup's
	Dials []string            // -feed-dial addresses (HOST:PORT): each needs a live connection
	ITCH  int                 // ITCH sessions configured: each must run and (SoupBinTCP) be logged in
	// Stale (serve's -feed-stale; 0: not checked) is how long an ITCH
	// session may hear nothing: SoupBinTCP and MoldUDP64 servers send a
	// heartbeat every second, so silence that long is a dead feed, not a
	// quiet market (MoldUDP64 has no connection that would drop).
	Stale time.Duration
	// Failed lists the stages that stopped for good, each as "STAGE: ERROR"
	// (a feed tail that lost its framing, an ITCH login rejected); nil: none.
	Failed func() []string
	// Kafka, with a Kafka source, says why it is not ready ("" when it is
	// a member of its consumer group); nil: no Kafka source.
	Kafka func() string
	// NATSFeed, with a NATS feed source, says why it is not ready ("" when
	// it is subscribed); nil: no NATS feed source.
	NATSFeed func() string
}

// resolveTimeout bounds the name lookup of a dialed feed's host.
const resolveTimeout = time.Second

// NotReady returns what is not ready, one short line each; none means ready.
func (r *Readiness) NotReady(ctx context.Context) []string {
	var out []string
	if r.NATS != nil && !r.NATS() {
		out = append(out, "nats: not connected")
	}
	if r.Failed != nil {
		for _, f := range r.Failed() {
			out = append(out, "stage failed: "+f)
		}
	}
	for _, check := range []func() string{r.Kafka, r.NATSFeed} {
		if check == nil {
			continue
		}
		if why := check(); why != "" {
			out = append(out, why)
		}
	}
	if len(r.Dials) > 0 && r.Feeds != nil {
		live := map[string]bool{}
		srcs, _ := r.Feeds.Sources()
		for _, s := range srcs {
			live[r.Group(s.Source)] = true
		}
		for _, addr := range r.Dials {
			if !dialLive(ctx, addr, live) {
				out = append(out, "feed dial "+addr+": not connected")
			}
		}
	}
	if r.ITCH > 0 && r.Feeds != nil {
		tr := r.Feeds.Transports()
		if len(tr) < r.ITCH {
			out = append(out, fmt.Sprintf("feed: %d of %d ITCH sessions running", len(tr), r.ITCH))
		}
		silent := r.itchSilence(time.Now().UnixNano())
		for _, t := range tr {
			switch s, ok := silent[t.Source]; {
			case !t.Up:
				out = append(out, "feed "+t.Source+": not logged in")
			case ok && r.Stale > 0 && s >= r.Stale:
				out = append(out, fmt.Sprintf("feed %s: nothing received for %v, not even a heartbeat", t.Source, s.Round(time.Millisecond)))
			}
		}
	}
	return out
}

// itchSilence is how long each live source has heard nothing, by source,
// at now (the sources' receive clock).
func (r *Readiness) itchSilence(now int64) map[string]time.Duration {
	srcs, _ := r.Feeds.Sources()
	m := make(map[string]time.Duration, len(srcs))
	for _, s := range srcs {
		m[s.Source] = s.SilentAt(now)
	}
	return m
}

// dialLive reports whether live has the group of a connection to addr,
// whose remote address is addr with its host resolved.
func dialLive(ctx context.Context, addr string, live map[string]bool) bool {
	if live["tcp dial "+addr] {
		return true
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		return false
	}
	for _, ip := range ips {
		if live["tcp dial "+net.JoinHostPort(ip, port)] {
			return true
		}
	}
	return false
}
