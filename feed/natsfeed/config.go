package natsfeed

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/tickd/tickd/feed"
)

// Defaults of a Config: the pending buffer of the subscription.
const (
	DefaultPendingMsgs  = 65536
	DefaultPendingBytes = 64 << 20
)

// Config is one NATS subscription. Parse it with ParseSpec.
type Config struct {
	Subject string      // subject or pattern (* and > wildcards)
	Queue   string      // queue group; "" subscribes alone
	Format  feed.Format // of every message's data

	// PendingMsgs and PendingBytes bound the messages received and not yet
	// decoded; past either, new messages are dropped and counted
	// (Source.Dropped). Defaults DefaultPendingMsgs, DefaultPendingBytes.
	PendingMsgs  int
	PendingBytes int
}

// String is the canonical spec of the config.
func (c Config) String() string {
	q := url.Values{}
	if c.Queue != "" {
		q.Set("queue", c.Queue)
	}
	q.Set("format", c.Format.String())
	return c.Subject + "?" + q.Encode()
}

// ParseSpec parses and validates a subscription spec, so that a bad one
// fails before anything subscribes:
//
//	SUBJECT[?queue=NAME&format=native|csv|json]
//
// format defaults to def. A URL (nats://HOST/SUBJECT, as -feed-kafka's
// spec reads) is refused: the server is the connection's, not the spec's.
func ParseSpec(spec string, def feed.Format) (Config, error) {
	c := Config{Format: def}
	subj, query, _ := strings.Cut(spec, "?")
	if strings.Contains(subj, "://") {
		// A legal subject, but a URL given as -feed-kafka's are: it would
		// be subscribed to as it is, and nothing would ever arrive.
		return c, fmt.Errorf("nats feed %q: a subject on tickd's own NATS connection, not a URL: give the subject (ticks.>), and the server with -nats-url", spec)
	}
	if err := checkSubject(subj); err != nil {
		return c, fmt.Errorf("nats feed %q: %w", spec, err)
	}
	c.Subject = subj
	q, err := url.ParseQuery(query)
	if err != nil {
		return c, fmt.Errorf("nats feed %q: bad query: %w", spec, err)
	}
	for k, v := range q {
		if len(v) != 1 || v[0] == "" {
			return c, fmt.Errorf("nats feed %q: option %q wants exactly one non-empty value", spec, k)
		}
		switch k {
		case "queue":
			if strings.ContainsAny(v[0], " \t\r\n*>") {
				return c, fmt.Errorf("nats feed %q: queue %q: no spaces or wildcards", spec, v[0])
			}
			c.Queue = v[0]
		case "format":
			if c.Format, err = feed.ParseFormat(v[0]); err != nil {
				return c, fmt.Errorf("nats feed %q: %w", spec, err)
			}
		default:
			return c, fmt.Errorf("nats feed %q: unknown option %q (want queue or format)", spec, k)
		}
	}
	return c, nil
}

// checkSubject applies NATS's subject rules: dot-separated non-empty
// tokens without whitespace, '*' a whole token, '>' only the last one.
func checkSubject(s string) error {
	if s == "" {
		return fmt.Errorf("no subject (want e.g. ticks.> or ticks.*.trades)")
	}
	toks := strings.Split(s, ".")
	for i, t := range toks {
		switch {
		case t == "":
			return fmt.Errorf("subject %q: empty token", s)
		case strings.ContainsAny(t, " \t\r\n"):
			return fmt.Errorf("subject %q: whitespace", s)
		case t == ">" && i != len(toks)-1:
			return fmt.Errorf("subject %q: '>' must be the last token", s)
		case len(t) > 1 && strings.ContainsAny(t, "*>"):
			return fmt.Errorf("subject %q: wildcards must be whole tokens", s)
		}
	}
	return nil
}
