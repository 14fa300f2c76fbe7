package kafka

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tickd/tickd/feed"
)

// Defaults of a Config.
const (
	DefaultGroup          = "tickd"
	DefaultCommitInterval = time.Second
)

// Config is one Kafka source: a topic read by a consumer group. Parse it from
// a URL with ParseURL.
type Config struct {
	Brokers []string    // seed brokers, HOST:PORT
	Topic   string      // the topic; every partition of it the group assigns is read
	Group   string      // consumer group; default DefaultGroup
	Format  feed.Format // of every record's value

	// CommitInterval is how often the offsets of published work are
	// confirmed and committed; default DefaultCommitInterval. A crash
	// replays at most about this much (plus what was in flight).
	CommitInterval time.Duration
}

// String is the canonical URL of the config.
func (c Config) String() string {
	q := url.Values{}
	q.Set("group", c.Group)
	q.Set("format", c.Format.String())
	if c.CommitInterval != DefaultCommitInterval {
		q.Set("commit", c.CommitInterval.String())
	}
	return "kafka://" + strings.Join(c.Brokers, ",") + "/" + c.Topic + "?" + q.Encode()
}

// ParseURL parses and validates a Kafka source URL, so that a bad one fails
// before anything connects:
//
//	kafka://BROKER[,BROKER...]/TOPIC[?group=NAME&format=native|csv|json&commit=DURATION]
//
// format defaults to def. A URL carrying user:password is rejected (SASL is
// not supported; nor is TLS to the brokers).
func ParseURL(raw string, def feed.Format) (Config, error) {
	c := Config{Group: DefaultGroup, Format: def, CommitInterval: DefaultCommitInterval}
	rest, ok := strings.CutPrefix(raw, "kafka://")
	if !ok {
		return c, fmt.Errorf("kafka: URL %q: want kafka://BROKER[,BROKER]/TOPIC", raw)
	}
	rest, query, _ := strings.Cut(rest, "?")
	hosts, topic, ok := strings.Cut(rest, "/")
	if !ok {
		return c, fmt.Errorf("kafka: URL %q: no /TOPIC after the brokers", raw)
	}
	if strings.Contains(hosts, "@") {
		return c, errors.New("kafka: URL must not carry user:password (SASL is not supported)")
	}
	for h := range strings.SplitSeq(hosts, ",") {
		if err := checkBroker(h); err != nil {
			return c, fmt.Errorf("kafka: URL %q: %w", raw, err)
		}
		c.Brokers = append(c.Brokers, h)
	}
	if err := checkTopic(topic); err != nil {
		return c, fmt.Errorf("kafka: URL %q: %w", raw, err)
	}
	c.Topic = topic
	q, err := url.ParseQuery(query)
	if err != nil {
		return c, fmt.Errorf("kafka: URL %q: bad query: %w", raw, err)
	}
	for k, v := range q {
		if len(v) != 1 || v[0] == "" {
			return c, fmt.Errorf("kafka: URL %q: option %q wants exactly one non-empty value", raw, k)
		}
		switch k {
		case "group":
			c.Group = v[0]
		case "format":
			if c.Format, err = feed.ParseFormat(v[0]); err != nil {
				return c, fmt.Errorf("kafka: URL %q: %w", raw, err)
			}
		case "commit":
			if c.CommitInterval, err = time.ParseDuration(v[0]); err != nil || c.CommitInterval <= 0 {
				return c, fmt.Errorf("kafka: URL %q: commit %q: want a positive duration", raw, v[0])
			}
		default:
			return c, fmt.Errorf("kafka: URL %q: unknown option %q (want group, format or commit)", raw, k)
		}
	}
	return c, nil
}

// checkBroker requires HOST:PORT with a numeric port.
func checkBroker(hp string) error {
	host, port, err := net.SplitHostPort(hp)
	if err != nil || host == "" {
		return fmt.Errorf("broker %q: want HOST:PORT", hp)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("broker %q: bad port (want 1..65535)", hp)
	}
	return nil
}

// checkTopic applies Kafka's topic name rules: 1..249 of [a-zA-Z0-9._-],
// not "." or "..".
func checkTopic(t string) error {
	if t == "" || len(t) > 249 || t == "." || t == ".." {
		return fmt.Errorf("topic %q: want 1..249 characters, and not \".\" or \"..\"", t)
	}
	for i := 0; i < len(t); i++ {
		switch b := t[i]; {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '.', b == '_', b == '-':
		default:
			return fmt.Errorf("topic %q: only letters, digits, '.', '_' and '-'", t)
		}
	}
	return nil
}
