package feed

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ITCH transports.
const (
	TransportSoupBin = "soupbin" // SoupBinTCP client
	TransportMold    = "mold"    // MoldUDP64 receiver
)

// SoupBinEnvPrefix is the environment prefix SoupBinTCP credentials are read
// from when the URL names no creds file: TICKD_SOUPBIN_USERNAME (required),
// TICKD_SOUPBIN_PASSWORD and TICKD_SOUPBIN_SESSION.
const SoupBinEnvPrefix = "TICKD_SOUPBIN_"

// ITCHSourceConfig is one ITCH 5.0 session source, parsed from a URL by
// ParseITCHURL. It never holds a password: credentials are loaded by RunITCH.
type ITCHSourceConfig struct {
	Transport string // TransportSoupBin or TransportMold
	Addr      string // soupbin: server host:port; mold: line A (unicast bind address or multicast group)

	// Session: soupbin asks for it at login (overriding the credentials'
	// session); mold accepts only datagrams of it. "" = the current session
	// (soupbin) or the first one seen (mold).
	Session string

	// Seq is the first sequence wanted. soupbin: default 1 (the whole
	// session); 0 asks for live data only. mold: default 0 (start at the
	// first packet seen); N asks the rewind server for what came before.
	Seq uint64

	CredsFile string // soupbin: key=value credentials file; "" reads the environment (SoupBinEnvPrefix)

	B      string // mold: line B host:port for A/B arbitration; "" = line A only
	Iface  string // mold: multicast interface name; "" lets the system choose
	Rewind string // mold: rewind (retransmission) server host:port; "" = gaps are only waited out
}

// String is the canonical URL of the config (it holds no secret).
func (c ITCHSourceConfig) String() string {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("session", c.Session)
	switch c.Transport {
	case TransportSoupBin:
		q.Set("seq", strconv.FormatUint(c.Seq, 10))
		set("creds", c.CredsFile)
	case TransportMold:
		if c.Seq != 0 {
			q.Set("seq", strconv.FormatUint(c.Seq, 10))
		}
		set("b", c.B)
		set("iface", c.Iface)
		set("rewind", c.Rewind)
	}
	u := url.URL{Scheme: c.Transport, Host: c.Addr, RawQuery: q.Encode()}
	return u.String()
}

// ParseITCHURL parses and validates an ITCH source URL, so that a bad one
// fails before anything is dialled:
//
//	soupbin://HOST:PORT[?session=NAME&seq=N&creds=FILE]
//	mold://HOST:PORT[?b=HOST:PORT&iface=NAME&rewind=HOST:PORT&session=NAME&seq=N]
//
// A URL carrying user or password is rejected: command lines and configs
// are readable by others, so credentials come from a file or the environment.
func ParseITCHURL(raw string) (ITCHSourceConfig, error) {
	var c ITCHSourceConfig
	u, err := url.Parse(raw)
	if err != nil {
		// url's error quotes the URL, which may hold a password: do not wrap it.
		return c, errors.New("feed: ITCH URL is not a valid URL (want soupbin://HOST:PORT or mold://HOST:PORT)")
	}
	if u.User != nil {
		return c, errors.New("feed: ITCH URL must not carry user:password; use creds=FILE or the " +
			SoupBinEnvPrefix + "USERNAME/PASSWORD/SESSION environment variables")
	}
	switch u.Scheme {
	case TransportSoupBin, TransportMold:
		c.Transport = u.Scheme
	default:
		return c, fmt.Errorf("feed: ITCH URL %q: unknown scheme %q (want soupbin or mold)", raw, u.Scheme)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return c, fmt.Errorf("feed: ITCH URL %q: want %s://HOST:PORT[?options], nothing after the port", raw, u.Scheme)
	}
	if err := checkHostPort(u.Host); err != nil {
		return c, fmt.Errorf("feed: ITCH URL %q: %w", raw, err)
	}
	c.Addr = u.Host
	if c.Transport == TransportSoupBin {
		c.Seq = 1
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return c, fmt.Errorf("feed: ITCH URL %q: bad query: %w", raw, err)
	}
	allowed := map[string]bool{"session": true, "seq": true}
	if c.Transport == TransportSoupBin {
		allowed["creds"] = true
	} else {
		allowed["b"], allowed["iface"], allowed["rewind"] = true, true, true
	}
	for k, v := range q {
		if !allowed[k] {
			return c, fmt.Errorf("feed: ITCH URL %q: unknown option %q for %s", raw, k, c.Transport)
		}
		if len(v) != 1 || v[0] == "" {
			return c, fmt.Errorf("feed: ITCH URL %q: option %q wants exactly one non-empty value", raw, k)
		}
	}
	c.Session = q.Get("session")
	if len(c.Session) > 10 || strings.TrimSpace(c.Session) != c.Session {
		return c, fmt.Errorf("feed: ITCH URL %q: session %q: at most 10 characters, no surrounding spaces", raw, c.Session)
	}
	if s := q.Get("seq"); s != "" {
		if c.Seq, err = strconv.ParseUint(s, 10, 64); err != nil {
			return c, fmt.Errorf("feed: ITCH URL %q: seq %q is not a sequence number", raw, s)
		}
	}
	c.CredsFile = q.Get("creds")
	c.Iface = q.Get("iface")
	for _, hp := range []struct{ name, v string }{{"b", q.Get("b")}, {"rewind", q.Get("rewind")}} {
		if hp.v == "" {
			continue
		}
		if err := checkHostPort(hp.v); err != nil {
			return c, fmt.Errorf("feed: ITCH URL %q: %s: %w", raw, hp.name, err)
		}
	}
	c.B, c.Rewind = q.Get("b"), q.Get("rewind")
	return c, nil
}

// checkHostPort requires host:port with a numeric port.
func checkHostPort(hp string) error {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return fmt.Errorf("want HOST:PORT, got %q", hp)
	}
	if host == "" {
		return fmt.Errorf("missing host in %q", hp)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("bad port in %q (want 1..65535)", hp)
	}
	return nil
}
