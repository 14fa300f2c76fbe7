package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/shopspring/decimal"

	"github.com/tickd/tickd/bus"
)

// runSub is `tickd sub`: print signals, bars, stats, BBOs and status events
// readably.
func runSub(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("nats-url", nats.DefaultURL, "NATS server URL")
	prefix := fs.String("subject-prefix", bus.DefaultPrefix, "the prefix tickd publishes under; requests on <prefix>.control.> (a replay's pause, resume, step) are not printed")
	subject := fs.String("subject", "", "subject pattern to subscribe to (default <prefix>.>)")
	count := fs.Int("count", 0, "exit after this many messages (0: until interrupted)")
	var src subSource
	src.register(fs)
	var sec securityConfig // the login and TLS to a secured server, secrets from files or the environment
	sec.registerClient(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tickd sub [flags]\n\nPrints tickd signals, bars, stats, BBOs and status events (STATUS: data lost;\nFEED: a feed source went stale, live again, or ended while stale) from NATS.\nTimes are UTC times of day (HH:MM:SS.mmm, whatever TZ says): a message's event\ntime (a bar's start), a status event's publish time.\n\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := bus.ValidatePrefix(*prefix); err != nil {
		return err
	}
	if *count < 0 { // would print until interrupted, as 0 does
		return fmt.Errorf("-count %d: want 0 (until interrupted) or more", *count)
	}
	if err := src.check(); err != nil {
		return err
	}
	subjects := bus.Subjects{Prefix: *prefix}
	if !flagSet(fs, "subject") {
		*subject = subjects.All()
	}
	var (
		mu   sync.Mutex // serialises stdout and stderr
		seen int
		werr error // the failed write to stdout that ends sub
		done = make(chan struct{})
	)
	auth := sec.clientAuth()
	aopts, err := auth.Options()
	if err != nil {
		return err
	}
	nc, closed, err := connectSub(*url, &lockedWriter{&mu, stderr}, aopts...)
	if err != nil {
		return err
	}
	defer nc.Close()
	stop, err := src.subscribe(ctx, nc, *subject, func(m bus.Message) {
		if de, ok := m.(*bus.DecodeError); ok && subjects.IsControl(de.Subject) {
			return // a request to a replay, not tickd output
		}
		mu.Lock()
		defer mu.Unlock()
		if werr != nil || (*count > 0 && seen >= *count) {
			return
		}
		// Without a reader (a full disk, a pipe's reader gone on a descriptor
		// other than stdout, which gets SIGPIPE) sub would print nothing,
		// forever: it stops instead.
		if _, werr = fmt.Fprintln(stdout, formatMessage(m)); werr != nil {
			close(done)
			return
		}
		seen++
		if *count > 0 && seen == *count {
			close(done)
		}
	})
	if err != nil {
		return err
	}
	defer stop()
	select {
	case <-ctx.Done():
	case <-done:
		mu.Lock()
		defer mu.Unlock()
		if werr != nil {
			return fmt.Errorf("writing the output: %w", werr)
		}
	case <-closed:
		return errClosedForGood(nc)
	}
	return nil
}

// connectSub connects to url for `tickd sub`, logging in and securing the
// connection with auth (ClientAuth.Options): it reconnects without limit,
// saying on stderr when the connection drops and when it is back, and closed
// is closed when nats.go gives the connection up (e.g. the server, back,
// refuses our login), so that sub exits instead of waiting forever.
func connectSub(url string, stderr io.Writer, auth ...nats.Option) (nc *nats.Conn, closed <-chan struct{}, err error) {
	gone := make(chan struct{})
	opts := append(auth, nats.Name("tickd sub"), nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: our own Close
				fmt.Fprintf(stderr, "tickd sub: NATS disconnected (%v), reconnecting\n", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			fmt.Fprintf(stderr, "tickd sub: NATS reconnected to %s\n", redactURL(nc.ConnectedUrl()))
		}),
		// Asynchronous errors (a slow consumer, a refused login on a
		// reconnect): nats.go would print them on the process's stderr.
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			fmt.Fprintf(stderr, "tickd sub: NATS error: %v\n", err)
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(gone) }))
	nc, err = nats.Connect(url, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect %s: %w", redactURL(url), err)
	}
	return nc, gone, nil
}

// lockedWriter writes to w holding mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// formatMessage renders one message on one line.
func formatMessage(m bus.Message) string {
	switch m := m.(type) {
	case *bus.Signal:
		return fmt.Sprintf("SIGNAL %s %-6s %-12s %-4s price=%s %s", clock(m.TsEvent), m.Symbol, m.Rule, m.Dir, m.Price, m.FormatValues(statDigits, "price"))
	case *bus.Bar:
		return fmt.Sprintf("BAR    %s %-6s %-4s O=%s H=%s L=%s C=%s V=%d VWAP=%s n=%d", clock(m.Start), m.Symbol, bus.FormatInterval(m.Interval),
			m.Open, m.High, m.Low, m.Close, m.Volume, m.VWAP, m.Count)
	case *bus.Stats:
		return fmt.Sprintf("STATS  %s %-6s last=%s sma=%s ema=%s vwap=%s sd=%s z=%.2f", clock(m.TsEvent), m.Symbol, m.Last,
			statistic(m.SMA), statistic(m.EMA), statistic(m.VWAP), statistic(m.StdDev), m.ZScore)
	case *bus.BBO:
		return fmt.Sprintf("BBO    %s %-6s bid=%s x %d (%d) ask=%s x %d (%d)", clock(m.TsEvent), m.Symbol,
			bboSide(m.Bid), m.BidSize, m.BidOrders, bboSide(m.Ask), m.AskSize, m.AskOrders)
	case *bus.Status:
		return fmt.Sprintf("STATUS %s %s lost data: dropped=%d (+%d) publish_dropped=%d (+%d) feed_lost=%d (+%d)", clock(m.TsPub), m.Publisher,
			m.Dropped, m.NewDropped, m.PublishDropped, m.NewPublishDropped, m.FeedLost, m.NewFeedLost)
	case *bus.FeedStatus:
		return fmt.Sprintf("FEED   %s %s %s silent=%s", clock(m.TsPub), m.Source, m.State, m.Silent.Round(100*time.Millisecond))
	case *bus.DecodeError:
		if errors.Is(m, bus.ErrUnknownKind) { // a later tickd's kind, not a damaged message
			return "UNKNOWN " + m.Subject + " " + string(m.Data)
		}
		return "INVALID " + m.Error()
	}
	return fmt.Sprintf("%T", m)
}

// statDigits is how many significant digits sub shows of a statistic or a
// signal's value: every digit of a price in cents below 10000, and of a
// sub-penny one, which a fixed 4 decimals would round away.
const statDigits = 6

// statistic renders a float statistic to statDigits, "null" when it was
// published as null.
func statistic(v float64) string {
	if math.IsNaN(v) {
		return "null"
	}
	return strconv.FormatFloat(v, 'g', statDigits, 64)
}

// bboSide renders one side's price, "-" when the side is empty.
func bboSide(d decimal.NullDecimal) string {
	if !d.Valid {
		return "-"
	}
	return d.Decimal.String()
}

// clock formats an event time as wall-clock time of day in UTC.
func clock(ns int64) string { return time.Unix(0, ns).UTC().Format("15:04:05.000") }

// flagSet reports whether the command line gave the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
