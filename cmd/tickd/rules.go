package main

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/tick/tickdec"
)

// ruleConfig is one rule in the YAML config file:
//
//	rules:
//	  - id: aapl_190          # unique; letters, digits, _ and -
//	    type: price           # price | move | ma_cross | zscore | volume_spike | spread | imbalance | trade_through
//	    symbols: [AAPL, "MS*"] # glob patterns; omit for every symbol
//	    dir: up               # up | down | both (default: both; volume_spike: up)
//	    level: "190.00"       # price: the level, required, > 0 (decimal text, exact)
//	    percent: 1.5          # move: threshold in percent
//	    window: 1m            # move, volume_spike: event-time window
//	    fast: 2s              # ma_cross: fast EMA half-life
//	    slow: 20s             # ma_cross: slow EMA half-life
//	    k: 3                  # zscore: |z| threshold; volume_spike: multiple of the average; imbalance: 0 < k < 1
//	    bps: 50               # spread: threshold in basis points of the mid; trade_through: distance beyond the touch
//	    levels: 5             # imbalance: book levels per side
//	    hysteresis: 0.5       # re-arm band, in the unit of the rule's value
//	    cooldown: 30s         # event time between two signals per symbol
type ruleConfig struct {
	ID         string   `yaml:"id"`
	Type       string   `yaml:"type"`
	Symbols    []string `yaml:"symbols"`
	Dir        string   `yaml:"dir"`
	Level      string   `yaml:"level"`
	Percent    float64  `yaml:"percent"`
	Window     string   `yaml:"window"`
	Fast       string   `yaml:"fast"`
	Slow       string   `yaml:"slow"`
	K          float64  `yaml:"k"`
	Bps        float64  `yaml:"bps"`
	Levels     int      `yaml:"levels"`
	Hysteresis float64  `yaml:"hysteresis"`
	Cooldown   string   `yaml:"cooldown"`
}

// spec converts a configured rule to the engine's typed form; the engine
// validates the combination of fields.
func (rc ruleConfig) spec() (engine.RuleSpec, error) {
	fail := func(field string, err error) (engine.RuleSpec, error) {
		return engine.RuleSpec{}, fmt.Errorf("config: rule %q: %s: %w", rc.ID, field, err)
	}
	typ, err := engine.ParseRuleType(rc.Type)
	if err != nil {
		return fail("type", err)
	}
	dir, err := engine.ParseDirection(rc.Dir)
	if err != nil {
		return fail("dir", err)
	}
	s := engine.RuleSpec{ID: rc.ID, Type: typ, Symbols: rc.Symbols, Dir: dir,
		Percent: rc.Percent, K: rc.K, Bps: rc.Bps, Levels: rc.Levels, Hysteresis: rc.Hysteresis}
	if rc.Level != "" {
		d, err := decimal.NewFromString(rc.Level)
		if err != nil {
			return fail("level", err)
		}
		if s.Level, err = tickdec.FromDecimal(d); err != nil {
			return fail("level", err)
		}
	}
	for _, f := range []struct {
		name string
		text string
		dst  *time.Duration
	}{{"window", rc.Window, &s.Window}, {"fast", rc.Fast, &s.Fast}, {"slow", rc.Slow, &s.Slow}, {"cooldown", rc.Cooldown, &s.Cooldown}} {
		if f.text == "" {
			continue
		}
		if *f.dst, err = time.ParseDuration(f.text); err != nil {
			return fail(f.name, err)
		}
	}
	if err := s.Validate(); err != nil {
		return engine.RuleSpec{}, fmt.Errorf("config: %w", err)
	}
	return s, nil
}

// ruleSpecs converts the configured rules, or returns the engine's demo
// rules when none are configured: the trade rules, and the book rules too
// when the feed carries L3 books (ITCH).
func ruleSpecs(rcs []ruleConfig, books bool) ([]engine.RuleSpec, error) {
	if len(rcs) == 0 {
		if books {
			return append(engine.DefaultRules(), engine.DefaultBookRules()...), nil
		}
		return engine.DefaultRules(), nil
	}
	specs := make([]engine.RuleSpec, 0, len(rcs))
	for _, rc := range rcs {
		s, err := rc.spec()
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	return specs, nil
}

// ruleInfos describes the engine's rules for the publisher.
func ruleInfos(specs []engine.RuleSpec) []bus.RuleInfo {
	infos := make([]bus.RuleInfo, len(specs))
	for i, s := range specs {
		typ, params, names := s.Info()
		info := bus.RuleInfo{ID: s.ID, Type: typ, ValueNames: names}
		for _, p := range params {
			info.Params = append(info.Params, bus.Param{Name: p[0], Value: p[1]})
		}
		infos[i] = info
	}
	return infos
}
