package tick

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// SymbolID is a dense index for an interned symbol name: the first symbol
// interned is 0, the next 1, and so on, so per-symbol state lives in slices.
type SymbolID uint32

// MaxSymbolLen is the longest symbol name accepted, in bytes.
const MaxSymbolLen = 32

// DefaultMaxSymbols is the symbol table capacity when none is given.
const DefaultMaxSymbols = 1 << 16

// Errors returned by SymbolTable.Intern.
var (
	ErrSymbolFull    = errors.New("tick: symbol table full")
	ErrSymbolInvalid = errors.New("tick: invalid symbol name")
)

// SymbolTable interns symbol names to dense SymbolIDs. Lookups and Name are
// lock-free and allocation-free, so I/O goroutines may call them per message;
// interning a new name takes a mutex and allocates once (the edge).
//
// The table is an open-addressing hash of capacity 2×max slots, allocated up
// front and never resized, so readers see a stable array: a slot holds id+1
// (0 is empty) and is written once, after the name it points at. Create it
// with NewSymbolTable: the zero SymbolTable has no slots and is not usable.
type SymbolTable struct {
	mu    sync.Mutex      // serialises Intern
	count atomic.Uint32   // names published so far
	names []string        // names[id]; len == max, filled in order
	slots []atomic.Uint32 // hash slots: id+1, or 0 if empty
	mask  uint32
}

// NewSymbolTable returns a table that holds up to max symbols
// (DefaultMaxSymbols if max <= 0).
func NewSymbolTable(max int) *SymbolTable {
	if max <= 0 {
		max = DefaultMaxSymbols
	}
	n := 1
	for n < 2*max {
		n <<= 1
	}
	return &SymbolTable{
		names: make([]string, max),
		slots: make([]atomic.Uint32, n),
		mask:  uint32(n - 1),
	}
}

// ValidSymbol reports why name is not an acceptable symbol, or nil: 1 to
// MaxSymbolLen bytes of printable ASCII, no leading or trailing space.
func ValidSymbol[T string | []byte](name T) error {
	n := len(name)
	if n == 0 || n > MaxSymbolLen {
		return fmt.Errorf("%w: length %d not in 1..%d", ErrSymbolInvalid, n, MaxSymbolLen)
	}
	if name[0] == ' ' || name[n-1] == ' ' {
		return fmt.Errorf("%w: leading or trailing space", ErrSymbolInvalid)
	}
	for i := 0; i < n; i++ {
		if c := name[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("%w: byte 0x%02x at %d", ErrSymbolInvalid, c, i)
		}
	}
	return nil
}

// fnv1a hashes a name (32-bit FNV-1a).
func fnv1a[T string | []byte](s T) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func lookup[T string | []byte](t *SymbolTable, name T) (SymbolID, uint32, bool) {
	i := fnv1a(name) & t.mask
	for {
		v := t.slots[i].Load()
		if v == 0 {
			return 0, i, false
		}
		if t.names[v-1] == string(name) { // no allocation: compiler compares in place
			return SymbolID(v - 1), i, true
		}
		i = (i + 1) & t.mask
	}
}

// Lookup returns the ID of an interned name. It is lock-free and does not allocate.
func (t *SymbolTable) Lookup(name []byte) (SymbolID, bool) {
	id, _, ok := lookup(t, name)
	return id, ok
}

// LookupString is Lookup for a string.
func (t *SymbolTable) LookupString(name string) (SymbolID, bool) {
	id, _, ok := lookup(t, name)
	return id, ok
}

// Intern returns the ID of name, adding it if it is new.
func (t *SymbolTable) Intern(name string) (SymbolID, error) {
	if id, _, ok := lookup(t, name); ok {
		return id, nil
	}
	if err := ValidSymbol(name); err != nil {
		return 0, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	id, slot, ok := lookup(t, name) // again: another goroutine may have added it
	if ok {
		return id, nil
	}
	n := t.count.Load()
	if int(n) == len(t.names) {
		return 0, fmt.Errorf("%w: %d symbols", ErrSymbolFull, n)
	}
	t.names[n] = string([]byte(name)) // own copy: callers may pass slices of buffers
	t.count.Store(n + 1)
	t.slots[slot].Store(n + 1) // publishes names[n] to lock-free readers
	return SymbolID(n), nil
}

// InternBytes is Intern for a byte slice; it allocates only when name is new.
func (t *SymbolTable) InternBytes(name []byte) (SymbolID, error) {
	if id, _, ok := lookup(t, name); ok {
		return id, nil
	}
	return t.Intern(string(name))
}

// Name returns the name of id, or "" if id was never issued.
func (t *SymbolTable) Name(id SymbolID) string {
	if uint32(id) >= t.count.Load() {
		return ""
	}
	return t.names[id]
}

// Len returns how many symbols have been interned.
func (t *SymbolTable) Len() int { return int(t.count.Load()) }

// Cap returns how many symbols the table can hold.
func (t *SymbolTable) Cap() int { return len(t.names) }
