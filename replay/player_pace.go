package replay

import (
	"context"
	"time"
)

// gate blocks while the replay is paused, playing stepped messages; it is
// one atomic load when running.
func (p *Player) gate(ctx context.Context) error {
	if !p.paused.Load() {
		return ctx.Err()
	}
	for {
		p.mu.Lock()
		if !p.paused.Load() {
			p.mu.Unlock()
			break
		}
		if p.steps > 0 {
			p.steps--
			p.mu.Unlock()
			p.paced = false // stepped messages go at once; resuming starts a fresh schedule
			return ctx.Err()
		}
		p.mu.Unlock()
		p.flushAll()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.wake:
		}
	}
	p.paced = false
	return ctx.Err()
}

// pace notes that a message with pacing time t is next and, at a finite
// speed, sleeps while the schedule is ahead by more than paceSlack. It
// reads the clock only once t passes the horizon of the last check.
func (p *Player) pace(ctx context.Context, t int64) error {
	if !p.started {
		p.started, p.first = true, t
	}
	if p.newInput {
		p.newInput = false
		if t < p.prevPos {
			p.paced = false // an earlier day or session: a fresh schedule
		}
	}
	p.pos, p.prevPos = t, t
	if p.o.Speed == 0 || !p.kept || p.pastTo {
		return nil
	}
	if !p.paced {
		p.startSchedule(t)
		return nil
	}
	if t <= p.horizon {
		return nil
	}
	el := time.Since(p.start)
	due := time.Duration(float64(t-p.base) / p.o.Speed)
	if due-el > paceSlack {
		p.flushAll()
	}
	for ahead := due - el; ahead > paceSlack; ahead = due - el {
		step := ahead
		if p.o.Raw != nil {
			step = min(ahead, RawIdle) // an exchange heartbeats through a long wait
		}
		tm := time.NewTimer(step)
		select {
		case <-ctx.Done():
			tm.Stop()
			return ctx.Err()
		case <-tm.C:
			if step < ahead {
				p.idleAll()
			}
		case <-p.wake:
			tm.Stop()
			if p.paused.Load() {
				// Paused while waiting: this message waits for the
				// resume (or goes with a step), on a fresh schedule.
				p.poke()
				return p.gate(ctx)
			}
		}
		el = time.Since(p.start)
	}
	p.horizon = p.base + int64(float64(el+paceSlack)*p.o.Speed)
	return nil
}

// startSchedule makes t, now, the base of a fresh schedule.
func (p *Player) startSchedule(t int64) {
	p.paced, p.base, p.start = true, t, time.Now()
	p.horizon = t + int64(float64(paceSlack)*p.o.Speed)
}

// paceKept starts the schedule at t, the pacing time of the message just
// decoded, if it held the first event kept: pace, called before the
// message was decoded, could not know it would be, and a schedule based
// on the next message would skip the wait between the two.
func (p *Player) paceKept(t int64) {
	if !p.paced && p.kept && p.o.Speed != 0 && !p.pastTo {
		p.startSchedule(t)
	}
}
