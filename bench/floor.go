package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/tick"
)

// FloorOptions configures RunFloor. Zero fields take the load's defaults.
type FloorOptions struct {
	Pub *nats.Conn // the publisher's connection; required
	Sub *nats.Conn // the subscriber's, to the same server; required (may be Pub)

	Subject     string        // default "bench.floor"
	Rate        float64       // messages per second, intended
	Duration    time.Duration // measured window
	Warmup      time.Duration // sent before the window, not recorded; negative: none
	PayloadSize int           // bytes per message, at least 16; default TypicalSignalSize()
	Pace        Pace          // as LoadOptions.Pace
	Drain       time.Duration // how long to wait for stragglers after the last message

	onRecv func() // test hook, as LoadOptions.onRecv
}

func (o FloorOptions) withDefaults() (FloorOptions, error) {
	if o.Subject == "" {
		o.Subject = "bench.floor"
	}
	o.Rate, o.Duration, o.Warmup = orF(o.Rate, DefaultRate), orD(o.Duration, DefaultDuration), orD(o.Warmup, DefaultWarmup)
	o.Drain = orD(o.Drain, DefaultDrain)
	if o.PayloadSize == 0 {
		o.PayloadSize = TypicalSignalSize()
	}
	switch {
	case o.Pub == nil || o.Sub == nil:
		return o, errors.New("bench: floor: no NATS connection")
	case o.PayloadSize < floorHeader || o.PayloadSize > 1<<20:
		return o, fmt.Errorf("bench: floor: payload size %d not in %d..%d", o.PayloadSize, floorHeader, 1<<20)
	}
	return o, checkPace(o.Rate, o.Duration, 1, 0)
}

// floorHeader is the start of a floor message: its intended send time and
// its index, little-endian.
const floorHeader = 16

// RunFloor measures bare NATS beside tickd: a nats.go publisher sends
// messages of PayloadSize at Rate, open-loop as RunLoad's ticks, through
// the server to a subscriber, and latency is receive time − intended send
// time. It is the least any signal through that server can take. Stopped
// by ctx before the last message, it returns what it measured of those it
// sent (awaited for Drain at most) with ctx's error: a partial result.
func RunFloor(ctx context.Context, o FloorOptions) (Side, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Side{}, err
	}
	warm, total := window(o.Rate, o.Warmup, o.Duration)

	var rec *recorder
	ready := make(chan struct{})
	sub, err := o.Sub.Subscribe(o.Subject, func(m *nats.Msg) {
		<-ready
		if len(m.Data) < floorHeader {
			rec.bad.Add(1)
			return
		}
		rec.record(int64(binary.LittleEndian.Uint64(m.Data)), len(m.Data))
	})
	if err != nil {
		return Side{}, fmt.Errorf("bench: floor: subscribe: %w", err)
	}
	defer sub.Unsubscribe()
	_ = sub.SetPendingLimits(-1, -1)
	if err := o.Sub.Flush(); err != nil {
		return Side{}, fmt.Errorf("bench: floor: subscribe: %w", err)
	}

	msg := make([]byte, o.PayloadSize)
	for i := floorHeader; i < len(msg); i++ {
		msg[i] = 'x'
	}
	p := newPacer(o.Rate, total, o.Pace)
	rec = newRecorder(p, p.intended(warm), o.onRecv)
	close(ready)
	var firstAt, lastAt time.Time
	var stopped error // ctx's, if it ended the run before the last message
	i := int64(0)
	for i < total {
		if stopped = p.wait(ctx, i); stopped != nil {
			break
		}
		due := min(p.due(), i+maxBatch)
		for ; i < due; i++ {
			binary.LittleEndian.PutUint64(msg, uint64(p.intended(i)))
			binary.LittleEndian.PutUint64(msg[8:], uint64(i))
			if err := o.Pub.Publish(o.Subject, msg); err != nil {
				return Side{}, fmt.Errorf("bench: floor: publish: %w", err)
			}
		}
		if i > warm && firstAt.IsZero() {
			firstAt = time.Now()
		}
		lastAt = time.Now()
	}
	if err := o.Pub.Flush(); err != nil {
		return Side{}, fmt.Errorf("bench: floor: flush: %w", err)
	}
	sent := uint64(max(i-warm, 0))
	rec.waitFor(context.WithoutCancel(ctx), sent, o.Drain) // stopped, what was sent is still on its way
	if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return Side{}, fmt.Errorf("bench: floor: %w", err)
	}
	if n := rec.bad.Load(); n > 0 {
		return Side{}, fmt.Errorf("bench: floor: %d short messages on %s", n, o.Subject)
	}
	s, _ := rec.side("floor", sent, sent, lastAt.Sub(firstAt))
	s.Drain = o.Drain
	return s, stopped
}

// TypicalSignalSize is the size of a tickd signal of PriceRule as the
// publisher encodes it: the floor's default payload.
func TypicalSignalSize() int {
	syms := tick.NewSymbolTable(16)
	id, err := syms.Intern("B00000")
	if err != nil {
		return 300
	}
	typ, params, names := PriceRule(DefaultLevel).Info()
	info := bus.RuleInfo{ID: RuleID, Type: typ, ValueNames: names}
	for _, p := range params {
		info.Params = append(info.Params, bus.Param{Name: p[0], Value: p[1]})
	}
	host, _ := os.Hostname()
	enc, err := bus.NewEncoder(host+"-"+strconv.Itoa(os.Getpid()), syms, []bus.RuleInfo{info})
	if err != nil {
		return 300
	}
	now := time.Now().UnixNano()
	s := tick.Signal{TsEvent: now, TsRecv: now + 20_000, Symbol: id, Dir: 1, Price: DefaultLevel + 1_010_000_000,
		Values: [3]float64{101.01, 100, 98.99}}
	return len(enc.AppendSignalJSON(nil, 123456, now+40_000, &s))
}
