package bus

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tickd/tickd/tick"
)

// DefaultPrefix is the first subject token of everything tickd publishes.
const DefaultPrefix = "tickd"

// SanitizeToken maps s to a valid NATS subject token, byte by byte:
//
//	'.'  → '_'   (token separator; BRK.A → BRK_A)
//	' '  → '_'   (whitespace ends a subject in the protocol)
//	'*'  → '_'   (single-token wildcard)
//	'>'  → '_'   (full wildcard)
//	any byte < 0x21 or > 0x7e (control, space, DEL, non-ASCII) → '_'
//	every other printable ASCII byte is kept, '_' included
//
// An empty s becomes "_". The mapping is not injective (BRK.A and BRK_A share
// a subject); the payload's "symbol" field always carries the exact name, so
// consumers route by subject and identify by payload. s is returned as is,
// without allocating, when it is already a valid token.
func SanitizeToken(s string) string {
	if s == "" {
		return "_"
	}
	i := 0
	for i < len(s) && tokenByte(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if !tokenByte(b[i]) {
			b[i] = '_'
		}
	}
	return string(b)
}

func tokenByte(c byte) bool {
	return c > 0x20 && c < 0x7f && c != '.' && c != '*' && c != '>'
}

// FormatInterval returns the subject token of a bar interval: the duration in
// the largest unit that divides it exactly, one of h, m, s, ms, us, ns
// ("1h", "5m", "90s", "250ms"). time.ParseDuration reads every token back.
func FormatInterval(d time.Duration) string {
	var buf [24]byte
	return string(appendInterval(buf[:0], int64(d)))
}

var intervalUnits = [...]struct {
	ns   int64
	name string
}{
	{int64(time.Hour), "h"}, {int64(time.Minute), "m"}, {int64(time.Second), "s"},
	{int64(time.Millisecond), "ms"}, {int64(time.Microsecond), "us"}, {1, "ns"},
}

func appendInterval(dst []byte, ns int64) []byte {
	if ns <= 0 {
		return strconv.AppendInt(dst, ns, 10) // not a valid bar; keep it visible
	}
	for _, u := range intervalUnits {
		if ns%u.ns == 0 {
			dst = strconv.AppendInt(dst, ns/u.ns, 10)
			return append(dst, u.name...)
		}
	}
	panic("unreachable") // ns%1 == 0
}

// Subjects builds tickd's subjects under a prefix (DefaultPrefix if empty):
//
//	<prefix>.signal.<SYMBOL>.<rule>
//	<prefix>.bar.<interval>.<SYMBOL>
//	<prefix>.stats.<SYMBOL>
//	<prefix>.bbo.<SYMBOL>
//	<prefix>.status
//
// and, for requests to tickd rather than its output, <prefix>.control.>.
// Symbols and rule ids are passed through SanitizeToken. The methods
// allocate; the Publisher caches what they return per symbol.
type Subjects struct {
	Prefix string
}

func (s Subjects) prefix() string {
	if s.Prefix == "" {
		return DefaultPrefix
	}
	return s.Prefix
}

// Signal returns the subject of rule's signals for symbol.
func (s Subjects) Signal(symbol, rule string) string {
	return s.prefix() + ".signal." + SanitizeToken(symbol) + "." + SanitizeToken(rule)
}

// Bar returns the subject of symbol's bars of the given interval.
func (s Subjects) Bar(interval time.Duration, symbol string) string {
	return s.prefix() + ".bar." + FormatInterval(interval) + "." + SanitizeToken(symbol)
}

// Stats returns the subject of symbol's statistics snapshots.
func (s Subjects) Stats(symbol string) string {
	return s.prefix() + ".stats." + SanitizeToken(symbol)
}

// BBO returns the subject of symbol's best bid and offer.
func (s Subjects) BBO(symbol string) string {
	return s.prefix() + ".bbo." + SanitizeToken(symbol)
}

// Status returns the subject of tickd's status events: losses ("status")
// and feed liveness ("feed").
func (s Subjects) Status() string { return s.prefix() + ".status" }

// Control returns the root of the subjects that steer tickd rather than
// carry its output: `tickd replay` answers pause, resume and step requests
// on <prefix>.control.replay. A <prefix>.> subscriber receives those
// requests too; they are not tickd records (see IsControl).
func (s Subjects) Control() string { return s.prefix() + ".control" }

// IsControl reports whether subject lies under Control(), without allocating.
func (s Subjects) IsControl(subject string) bool {
	rest, ok := strings.CutPrefix(subject, s.prefix())
	return ok && strings.HasPrefix(rest, ".control.")
}

// All returns the wildcard that matches everything under the prefix.
func (s Subjects) All() string { return s.prefix() + ".>" }

// AllSignals returns the wildcard that matches every signal.
func (s Subjects) AllSignals() string { return s.prefix() + ".signal.>" }

// AllBars returns the wildcard that matches every bar.
func (s Subjects) AllBars() string { return s.prefix() + ".bar.>" }

// AllStats returns the wildcard that matches every stats snapshot.
func (s Subjects) AllStats() string { return s.prefix() + ".stats.>" }

// AllBBOs returns the wildcard that matches every symbol's BBO.
func (s Subjects) AllBBOs() string { return s.prefix() + ".bbo.>" }

// ValidatePrefix reports why p cannot prefix tickd's subjects: it must be
// one or more dot-separated tokens of printable ASCII, without wildcards.
func ValidatePrefix(p string) error {
	if p == "" {
		return fmt.Errorf("bus: empty subject prefix")
	}
	for tok := range strings.SplitSeq(p, ".") {
		if tok == "" {
			return fmt.Errorf("bus: subject prefix %q has an empty token", p)
		}
		for i := 0; i < len(tok); i++ {
			if !tokenByte(tok[i]) {
				return fmt.Errorf("bus: subject prefix %q: byte %q not allowed in a subject token", p, tok[i])
			}
		}
	}
	return nil
}

// subjectCache builds each subject the first time a symbol (with a rule or
// interval) is seen and keeps it, so publishing looks subjects up by index
// and never allocates after warm-up. It belongs to the Publisher's goroutine.
type subjectCache struct {
	syms    *tick.SymbolTable
	signalP string   // "<prefix>.signal."
	statsP  string   // "<prefix>.stats."
	barP    string   // "<prefix>.bar."
	bboP    string   // "<prefix>.bbo."
	rules   []string // sanitized rule ids
	symTok  []string // sanitized symbol names by SymbolID; "" = not yet seen
	sigs    [][]string
	stat    []string
	bbos    []string
	bars    []barSubjects // per interval seen, in order of first sight
}

type barSubjects struct {
	ns    int64
	pre   string // "<prefix>.bar.<interval>."
	bySym []string
}

func (c *subjectCache) init(prefix string, syms *tick.SymbolTable, rules []RuleInfo) {
	c.syms = syms
	c.signalP = prefix + ".signal."
	c.statsP = prefix + ".stats."
	c.barP = prefix + ".bar."
	c.bboP = prefix + ".bbo."
	c.rules = make([]string, len(rules))
	for i, r := range rules {
		c.rules[i] = SanitizeToken(r.ID)
	}
}

// grow returns s extended with zero values to length n if it is shorter.
func grow[T any](s []T, n int) []T {
	if n > len(s) {
		s = append(s, make([]T, n-len(s))...)
	}
	return s
}

// symbol returns id's sanitized token, or "" if the table never issued id.
func (c *subjectCache) symbol(id tick.SymbolID) string {
	if int(id) < len(c.symTok) && c.symTok[id] != "" {
		return c.symTok[id]
	}
	name := c.syms.Name(id)
	if name == "" {
		return ""
	}
	c.symTok = grow(c.symTok, max(int(id)+1, c.syms.Len()))
	c.symTok[id] = SanitizeToken(name)
	return c.symTok[id]
}

// signal returns the subject for symbol id and rule r (r < len(c.rules)).
func (c *subjectCache) signal(id tick.SymbolID, r uint16) string {
	if int(id) < len(c.sigs) && c.sigs[id] != nil && c.sigs[id][r] != "" {
		return c.sigs[id][r]
	}
	tok := c.symbol(id)
	if tok == "" {
		return ""
	}
	c.sigs = grow(c.sigs, len(c.symTok))
	if c.sigs[id] == nil {
		c.sigs[id] = make([]string, len(c.rules))
	}
	c.sigs[id][r] = c.signalP + tok + "." + c.rules[r]
	return c.sigs[id][r]
}

func (c *subjectCache) stats(id tick.SymbolID) string { return c.perSymbol(&c.stat, c.statsP, id) }

func (c *subjectCache) bbo(id tick.SymbolID) string { return c.perSymbol(&c.bbos, c.bboP, id) }

// perSymbol returns prefix + id's token, cached by id in *cache; "" for a
// symbol the table does not know.
func (c *subjectCache) perSymbol(cache *[]string, prefix string, id tick.SymbolID) string {
	if int(id) < len(*cache) && (*cache)[id] != "" {
		return (*cache)[id]
	}
	tok := c.symbol(id)
	if tok == "" {
		return ""
	}
	*cache = grow(*cache, len(c.symTok))
	(*cache)[id] = prefix + tok
	return (*cache)[id]
}

// bar returns the subject for interval ns (> 0) and symbol id. Engines
// configure a handful of intervals, so a linear scan finds the row.
func (c *subjectCache) bar(ns int64, id tick.SymbolID) string {
	var b *barSubjects
	for i := range c.bars {
		if c.bars[i].ns == ns {
			b = &c.bars[i]
			break
		}
	}
	if b != nil && int(id) < len(b.bySym) && b.bySym[id] != "" {
		return b.bySym[id]
	}
	tok := c.symbol(id)
	if tok == "" {
		return ""
	}
	if b == nil {
		c.bars = append(c.bars, barSubjects{ns: ns, pre: c.barP + string(appendInterval(nil, ns)) + "."})
		b = &c.bars[len(c.bars)-1]
	}
	b.bySym = grow(b.bySym, len(c.symTok))
	b.bySym[id] = b.pre + tok
	return b.bySym[id]
}
