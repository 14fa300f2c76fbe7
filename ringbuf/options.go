package ringbuf

import (
	"errors"
	"fmt"
	"strconv"
)

// WaitStrategy says how a goroutine waits when its ring is empty (a
// consumer) or full (the producer), and how an Idler idles.
//
// The strategies escalate: Spin only re-polls; SpinYield re-polls a few
// times, then calls runtime.Gosched between polls; Park does the same and
// finally parks on a channel until woken (or a bounded timeout passes).
//
// On a machine with few cores at most one goroutine should use Spin: a
// spinning goroutine owns a core while it waits, and two spinners on two
// cores starve everything else until the scheduler preempts them (~10 ms).
type WaitStrategy uint8

// Wait strategies. The zero value of a WaitStrategy field means the default,
// SpinYield; the named constants start at 1 so that an explicit Spin is not
// mistaken for "unset" in Options.
const (
	Spin      WaitStrategy = iota + 1 // poll without pause; lowest latency, burns a core
	SpinYield                         // poll, then runtime.Gosched between polls (the default)
	Park                              // poll, yield, then sleep until woken; frees the core
)

// String returns "spin", "yield" or "park" ("yield" for the zero value, which
// means the default).
func (w WaitStrategy) String() string {
	switch w {
	case Spin:
		return "spin"
	case SpinYield, 0:
		return "yield"
	case Park:
		return "park"
	}
	return "wait(" + strconv.Itoa(int(w)) + ")"
}

// ParseWaitStrategy parses "spin", "yield" or "park" (the String forms). The
// empty string means the default, SpinYield.
func ParseWaitStrategy(s string) (WaitStrategy, error) {
	switch s {
	case "spin":
		return Spin, nil
	case "yield", "":
		return SpinYield, nil
	case "park":
		return Park, nil
	}
	return 0, fmt.Errorf("ringbuf: unknown wait strategy %q (want spin, yield or park)", s)
}

// orDefault maps the zero value to SpinYield.
func (w WaitStrategy) orDefault() WaitStrategy {
	if w == 0 {
		return SpinYield
	}
	return w
}

// Defaults and limits applied by New.
const (
	DefaultCapacity = 4096
	MaxCapacity     = 1 << 30
	MaxConsumers    = 64
)

// ErrOptions is wrapped by every error New returns for bad Options.
var ErrOptions = errors.New("ringbuf: invalid options")

// Options configure a Ring. The zero value is usable: 4096 slots, one
// consumer, SpinYield, no Bell.
type Options struct {
	Capacity  int          // slots, a power of two; default 4096
	Consumers int          // consumers of this ring, each with its own cursor; default 1
	Wait      WaitStrategy // how producer and consumers wait; default SpinYield
	Bell      *Bell        // optional: rings that share a Bell wake one fan-in consumer goroutine (and each Commit fences: see the package doc)
}

// withDefaults returns o with zero fields replaced by their defaults.
func (o Options) withDefaults() Options {
	if o.Capacity == 0 {
		o.Capacity = DefaultCapacity
	}
	if o.Consumers == 0 {
		o.Consumers = 1
	}
	o.Wait = o.Wait.orDefault()
	return o
}

// validate reports the first problem with o (after withDefaults).
func (o Options) validate() error {
	switch {
	case o.Capacity < 1 || o.Capacity > MaxCapacity:
		return fmt.Errorf("%w: capacity %d not in 1..%d", ErrOptions, o.Capacity, MaxCapacity)
	case o.Capacity&(o.Capacity-1) != 0:
		return fmt.Errorf("%w: capacity %d is not a power of two", ErrOptions, o.Capacity)
	case o.Consumers < 1 || o.Consumers > MaxConsumers:
		return fmt.Errorf("%w: consumers %d not in 1..%d", ErrOptions, o.Consumers, MaxConsumers)
	case o.Wait > Park:
		return fmt.Errorf("%w: unknown wait strategy %d", ErrOptions, o.Wait)
	}
	return nil
}
