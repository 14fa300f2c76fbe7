// Command go-subscriber is an example tickd client in Go: it connects to
// NATS, subscribes to tickd's signals and bars (and, with -bbo, best bid and
// offer updates) through package bus, and prints one readable line per
// message.
//
//	go run ./examples/go-subscriber [-nats-url nats://127.0.0.1:4222] [-prefix tickd] [-bbo] [-count N]
//
// bus.Subscribe decodes each payload into a *bus.Signal, *bus.Bar or
// *bus.BBO (prices as exact decimal.Decimal, times as int64 ns); a payload
// that is not a valid tickd record arrives as a *bus.DecodeError. Once the
// subscriptions are in place it says so on stderr; with -count it exits
// after N messages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/shopspring/decimal"

	"github.com/tickd/tickd/bus"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "go-subscriber:", err)
		os.Exit(1)
	}
}

// run subscribes and prints until ctx is done or count messages are printed.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("go-subscriber", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("nats-url", nats.DefaultURL, "NATS server URL (tickd's embedded server by default)")
	prefix := fs.String("prefix", bus.DefaultPrefix, "subject prefix tickd publishes under (its -subject-prefix)")
	bbo := fs.Bool("bbo", false, "also print best bid and offer updates")
	count := fs.Int("count", 0, "exit after this many messages (0: until interrupted)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := bus.ValidatePrefix(*prefix); err != nil {
		return err
	}
	nc, err := nats.Connect(*url, nats.Name("tickd go-subscriber"))
	if err != nil {
		return fmt.Errorf("connect %s: %w", *url, err)
	}
	defer nc.Close()

	subjects := bus.Subjects{Prefix: *prefix}
	patterns := []string{subjects.AllSignals(), subjects.AllBars()}
	if *bbo {
		patterns = append(patterns, subjects.AllBBOs())
	}
	// Each subscription delivers on its own goroutine; one channel puts
	// their messages in a single line of output. done releases a handler
	// still waiting to hand over a message once run has returned.
	msgs := make(chan bus.Message, 64)
	done := make(chan struct{})
	defer close(done) // runs before nc.Close: deferred calls run last first
	for _, p := range patterns {
		if _, err := bus.Subscribe(nc, p, func(m bus.Message) {
			select {
			case msgs <- m:
			case <-done:
			}
		}); err != nil {
			return err
		}
	}
	if err := nc.Flush(); err != nil { // the server has the subscriptions
		return fmt.Errorf("subscribe: %w", err)
	}
	fmt.Fprintf(stderr, "go-subscriber: subscribed to %s on %s\n", strings.Join(patterns, " "), *url)

	for printed := 0; *count == 0 || printed < *count; {
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			if bad, ok := m.(*bus.DecodeError); ok {
				fmt.Fprintln(stderr, "go-subscriber:", bad)
				continue
			}
			fmt.Fprintln(stdout, format(m))
			printed++
		}
	}
	return nil
}

// format renders one decoded message on one line. Prices print as the
// exact decimals tickd sent ("412.5"), never through float64.
func format(m bus.Message) string {
	switch m := m.(type) {
	case *bus.Signal:
		return strings.TrimRight(fmt.Sprintf("SIGNAL %s %s %s %s price=%s %s",
			clock(m.TsEvent), m.Symbol, m.Rule, m.Dir, m.Price, m.FormatValues(-1)), " ")
	case *bus.Bar:
		return fmt.Sprintf("BAR    %s %s %s O=%s H=%s L=%s C=%s V=%d VWAP=%s n=%d",
			clock(m.Start), m.Symbol, bus.FormatInterval(m.Interval), m.Open, m.High, m.Low, m.Close, m.Volume, m.VWAP, m.Count)
	case *bus.BBO:
		spread := ""
		if m.Bid.Valid && m.Ask.Valid {
			spread = " spread=" + m.Ask.Decimal.Sub(m.Bid.Decimal).String()
		}
		return fmt.Sprintf("BBO    %s %s bid=%s ask=%s%s", clock(m.TsEvent), m.Symbol,
			side(m.Bid, m.BidSize, m.BidOrders), side(m.Ask, m.AskSize, m.AskOrders), spread)
	}
	return fmt.Sprintf("%s from %T", m.Kind(), m)
}

// side renders one side of a BBO as "price x shares (orders)", "-" for the
// price of an empty side.
func side(p decimal.NullDecimal, size, orders int64) string {
	price := "-"
	if p.Valid {
		price = p.Decimal.String()
	}
	return fmt.Sprintf("%s x %d (%d)", price, size, orders)
}

// clock renders ns since the Unix epoch as UTC time of day to the
// microsecond.
func clock(ns int64) string { return time.Unix(0, ns).UTC().Format("15:04:05.000000") }
