package main

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/tick"
	"github.com/tickd/tickd/tick/tickdec"
)

// ruleConfig is one rule in the YAML config file:
//
//	rules:
//	  - id: aapl_190          # unique; letters, digits, _ and -
//	    type: price           # price | move | ma_cross | zscore | volume_spike | spread | imbalance | trade_through
//	    symbols: [AAPL, "MS*"] # glob patterns; omit for every symbol
//	    dir: up               # up | down | both (default: both; spread, volume_spike: up)
//	    level: "190.00"       # price: the level, required, > 0 (decimal text, exact)
//	    percent: 1.5          # move: threshold in percent
//	    window: 1m            # move, volume_spike: event-time window
//	    fast: 2s              # ma_cross: fast EMA half-life
//	    slow: 20s             # ma_cross: slow EMA half-life
//	    k: 3                  # zscore: |z| threshold; volume_spike: multiple of the average; imbalance: 0 < k < 1
//	    bps: 50               # spread: threshold in basis points of the mid; trade_through: distance beyond the touch
//	    levels: 5             # imbalance: book levels per side
//	    hysteresis: 0.5       # re-arm band, in the unit of the rule's value (price: at most 9 decimals)
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

	// Where the rule is in the config file, for its errors (file "": a
	// rule built in code).
	file  string
	index int            // in rules:
	line  int            // of the rule
	lines map[string]int // of each key given
}

// ruleKeys maps each key of a rule in the config file to its field of
// ruleConfig.
var ruleKeys = func() map[string]int {
	keys := map[string]int{}
	rt := reflect.TypeFor[ruleConfig]()
	for i := range rt.NumField() {
		if tag := rt.Field(i).Tag.Get("yaml"); tag != "" {
			keys[strings.Split(tag, ",")[0]] = i
		}
	}
	return keys
}()

// decodeRules decodes the config file's rules: list rule by rule and key
// by key, so that an error says which file, line, rule and key it is
// about (yaml's own error for the whole list names none but the line).
// Unknown keys are an error, so that a misspelt optional key (cooldwn:
// 30s) does not silently leave its default in place.
func decodeRules(path string, node *yaml.Node) ([]ruleConfig, error) {
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" { // "rules:" and nothing (its rules commented out): no rules, as rules: []
		return []ruleConfig{}, nil
	}
	if node.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("config: %s line %d: rules: want a list of rules, not %s", path, node.Line, describeNode(node))
	}
	rules := make([]ruleConfig, len(node.Content)) // not nil when empty: rules: [] is no rules, not the demo's
	for i, item := range node.Content {
		rc := &rules[i]
		rc.file, rc.index, rc.line, rc.lines = path, i, item.Line, map[string]int{}
		if item.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("config: %s line %d: rules[%d]: want a rule (id: …, type: …), not %s", path, item.Line, i, describeNode(item))
		}
		var badKey, badVal *yaml.Node // the first value that does not decode, reported once the id is known
		for j := 0; j+1 < len(item.Content); j += 2 {
			key, val := item.Content[j], item.Content[j+1]
			f, ok := ruleKeys[key.Value]
			if !ok {
				return nil, fmt.Errorf("config: %s line %d: rules[%d]: unknown key %q", path, key.Line, i, key.Value)
			}
			rc.lines[key.Value] = key.Line
			if err := val.Decode(reflect.ValueOf(rc).Elem().Field(f).Addr().Interface()); err != nil && badKey == nil {
				badKey, badVal = key, val
			}
		}
		if badKey != nil {
			return nil, rc.badValue(badKey.Value, badVal)
		}
	}
	return rules, nil
}

// badValue is the error for a key of rc whose value val does not decode
// into its field.
func (rc ruleConfig) badValue(key string, val *yaml.Node) error {
	want := map[reflect.Kind]string{reflect.String: "text", reflect.Float64: "a number", reflect.Int: "an integer", reflect.Slice: "a list"}
	kind := reflect.TypeFor[ruleConfig]().Field(ruleKeys[key]).Type.Kind()
	return fmt.Errorf("config: %s: %s: want %s, not %s", rc.where(key), key, want[kind], describeNode(val))
}

// describeNode names what a YAML value is, for an error: a scalar by its
// text, a list or mapping by what it is.
func describeNode(n *yaml.Node) string {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return strconv.Quote(n.Value)
}

// where says where rc is, for an error about its field (or "" for the rule
// as a whole): `FILE line N: rule "ID"`, N the field's line when the file
// gives that field; a rule built in code is only `rule "ID"`.
func (rc ruleConfig) where(field string) string {
	name := fmt.Sprintf("rule %q", rc.ID)
	if rc.ID == "" {
		name = fmt.Sprintf("rules[%d]", rc.index)
	}
	if rc.file == "" {
		return name
	}
	line := rc.line
	if l, ok := rc.lines[field]; ok {
		line = l
	}
	return fmt.Sprintf("%s line %d: %s", rc.file, line, name)
}

// refused is the config error for the engine refusing rc (err, an
// *engine.RuleError or its reason): where rc is, and why.
func (rc ruleConfig) refused(err error) error {
	var re *engine.RuleError
	if errors.As(err, &re) {
		err = re.Err
	}
	return fmt.Errorf("config: %s: %w", rc.where(""), err)
}

// locateRule makes an error of engine.New about one of the configured
// rules (the rules rcs gave, in order) say where in the file that rule is,
// or, with none configured (rcs nil), that it is a demo rule.
func locateRule(err error, rcs []ruleConfig) error {
	var re *engine.RuleError
	switch {
	case !errors.As(err, &re):
		return err
	case rcs == nil:
		return fmt.Errorf("%w (a demo rule: no rules are configured)", err)
	case re.Index >= 0 && re.Index < len(rcs):
		return rcs[re.Index].refused(err)
	}
	return err
}

// spec converts a configured rule to the engine's typed form; the engine
// validates the combination of fields.
func (rc ruleConfig) spec() (engine.RuleSpec, error) {
	fail := func(field string, err error) (engine.RuleSpec, error) {
		return engine.RuleSpec{}, fmt.Errorf("config: %s: %s: %w", rc.where(field), field, err)
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
		return engine.RuleSpec{}, rc.refused(err)
	}
	return s, nil
}

// ruleSpecs converts the configured rules (rcs not nil; nil means none are
// configured: see demoRules).
func ruleSpecs(rcs []ruleConfig) ([]engine.RuleSpec, error) {
	specs := make([]engine.RuleSpec, 0, len(rcs))
	first := make(map[string]ruleConfig, len(rcs))
	for _, rc := range rcs {
		s, err := rc.spec()
		if err != nil {
			return nil, err
		}
		if f, dup := first[rc.ID]; dup {
			if f.file == "" {
				return nil, rc.refused(errors.New("id used twice"))
			}
			return nil, rc.refused(fmt.Errorf("id used twice (first at line %d)", f.line))
		}
		first[rc.ID] = rc
		specs = append(specs, s)
	}
	return specs, nil
}

// demoRules returns the rules run when none are configured (no rules key,
// where `rules: []` is no rules at all): the engine's demo trade rules, and
// its book rules too when the feed carries L3 books (ITCH). A demo rule the
// engine would refuse at this -sma is left out (leftOut), so that a -sma
// chosen for the statistics does not stop serve over a rule nobody wrote:
// zscore_3's k of 3 needs sma ≥ 11.
func demoRules(books bool, sma int) (rules, leftOut []engine.RuleSpec) {
	all := engine.DefaultRules()
	if books {
		all = append(all, engine.DefaultBookRules()...)
	}
	for _, r := range all {
		if r.Type == engine.RuleZScore && sma > 0 && r.K >= engine.MaxZScore(sma) { // sma 0: the engine's default
			leftOut = append(leftOut, r)
		} else {
			rules = append(rules, r)
		}
	}
	return rules, leftOut
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

// unboundRules returns the rules of specs that none of the symbols in syms
// matches: a misspelt pattern (APPL), or symbols the feed never sent. Such
// a rule publishes nothing, which is otherwise indistinguishable from a
// quiet market.
func unboundRules(specs []engine.RuleSpec, syms *tick.SymbolTable) []engine.RuleSpec {
	var unbound []engine.RuleSpec
	for _, r := range specs {
		bound := false
		for id := 0; id < syms.Len() && !bound; id++ {
			bound = r.Matches(syms.Name(tick.SymbolID(id)))
		}
		if !bound {
			unbound = append(unbound, r)
		}
	}
	return unbound
}
