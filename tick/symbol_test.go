package tick

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestSymbolTableIntern(t *testing.T) {
	tab := NewSymbolTable(4)
	a, err := tab.Intern("AAPL")
	if err != nil || a != 0 {
		t.Fatalf("Intern AAPL = %d, %v", a, err)
	}
	b, _ := tab.InternBytes([]byte("BRK.A"))
	if b != 1 {
		t.Fatalf("Intern BRK.A = %d", b)
	}
	if again, _ := tab.Intern("AAPL"); again != a {
		t.Fatalf("re-intern gave %d", again)
	}
	if id, ok := tab.Lookup([]byte("BRK.A")); !ok || id != b {
		t.Fatalf("Lookup BRK.A = %d, %v", id, ok)
	}
	if _, ok := tab.LookupString("MSFT"); ok {
		t.Fatal("Lookup found a name never interned")
	}
	if tab.Name(a) != "AAPL" || tab.Name(b) != "BRK.A" || tab.Name(99) != "" {
		t.Fatal("Name mismatch")
	}
	tab.Intern("C")
	tab.Intern("D")
	if _, err := tab.Intern("E"); !errors.Is(err, ErrSymbolFull) {
		t.Fatalf("full table: %v", err)
	}
	if tab.Len() != 4 || tab.Cap() != 4 {
		t.Fatalf("Len %d Cap %d", tab.Len(), tab.Cap())
	}
	if name := tab.Name(SymbolID(tab.Len())); name != "" { // one past the last issued, the full table's end
		t.Fatalf("Name of an id never issued = %q", name)
	}
}

func TestSymbolTableRejects(t *testing.T) {
	tab := NewSymbolTable(0)
	for _, bad := range []string{"", " AAPL", "AAPL ", "A\x00B", "ÄPPL", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"} {
		if _, err := tab.Intern(bad); !errors.Is(err, ErrSymbolInvalid) {
			t.Errorf("Intern(%q) err = %v, want ErrSymbolInvalid", bad, err)
		}
	}
	if _, err := tab.Intern("BRK A"); err != nil {
		t.Errorf("inner space rejected: %v", err)
	}
}

// TestSymbolTableConcurrent interns from several goroutines while others look
// up; run under -race it checks the lock-free read path is properly published.
func TestSymbolTableConcurrent(t *testing.T) {
	tab := NewSymbolTable(2000)
	var wg sync.WaitGroup
	ids := make([][]SymbolID, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				id, err := tab.Intern(fmt.Sprintf("S%04d", i))
				if err != nil {
					t.Error(err)
					return
				}
				ids[g] = append(ids[g], id)
				if got, ok := tab.Lookup([]byte(fmt.Sprintf("S%04d", i/2))); !ok || tab.Name(got) != fmt.Sprintf("S%04d", i/2) {
					t.Errorf("lookup of interned S%04d failed", i/2)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	for g := 1; g < 4; g++ {
		for i := range ids[0] {
			if ids[g][i] != ids[0][i] {
				t.Fatalf("goroutine %d got id %d for S%04d, goroutine 0 got %d", g, ids[g][i], i, ids[0][i])
			}
		}
	}
	if tab.Len() != 1000 {
		t.Fatalf("Len = %d", tab.Len())
	}
}

func TestSymbolLookupNoAlloc(t *testing.T) {
	tab := NewSymbolTable(0)
	tab.Intern("AAPL")
	name := []byte("AAPL")
	allocs := testing.AllocsPerRun(100, func() { tab.Lookup(name) })
	if allocs != 0 {
		t.Fatalf("Lookup allocates %v", allocs)
	}
}

func BenchmarkSymbolLookup(b *testing.B) {
	tab := NewSymbolTable(0)
	names := make([][]byte, 64)
	for i := range names {
		names[i] = []byte(fmt.Sprintf("SYM%02d", i))
		tab.InternBytes(names[i])
	}
	b.ReportAllocs()
	var sink SymbolID
	for i := 0; i < b.N; i++ {
		sink, _ = tab.Lookup(names[i&63])
	}
	benchSym = sink
}

// BenchmarkSymbolLookupMapBaseline is a Go map behind a RWMutex, the naive
// concurrent-safe alternative.
func BenchmarkSymbolLookupMapBaseline(b *testing.B) {
	var mu sync.RWMutex
	m := map[string]SymbolID{}
	names := make([][]byte, 64)
	for i := range names {
		names[i] = []byte(fmt.Sprintf("SYM%02d", i))
		m[string(names[i])] = SymbolID(i)
	}
	b.ReportAllocs()
	var sink SymbolID
	for i := 0; i < b.N; i++ {
		mu.RLock()
		sink = m[string(names[i&63])]
		mu.RUnlock()
	}
	benchSym = sink
}

var benchSym SymbolID
