package engine

import (
	"strings"
	"testing"
)

// TestCommitBeyondClaimPanics: every shape of Input (one shard, several,
// Drop, inline) refuses a Commit of more slots than its last Claim handed
// out, and a second Commit without a Claim between, instead of publishing
// stale slots of its scratch batch.
func TestCommitBeyondClaimPanics(t *testing.T) {
	shapes := []struct {
		name string
		cfg  Config
		bp   Backpressure
	}{
		{"one shard", Config{}, Block},
		{"one shard drop", Config{}, Drop},
		{"two shards", Config{Shards: 2}, Block},
		{"two shards drop", Config{Shards: 2}, Drop},
		{"inline", Config{Emit: &recorder{t: t}}, Block},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			e, syms := newTestEngine(t, sh.cfg, "A")
			in, err := e.NewInputWith("src", sh.bp)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			a, _ := syms.LookupString("A")

			mustPanic(t, "Commit(1) with 0 slots claimed", func() { in.Commit(1) })
			slots := in.Claim(4)
			for i := range slots {
				slots[i] = trade(a, t0+int64(i)*sec, 10, 1)
			}
			mustPanic(t, "slots claimed", func() { in.Commit(len(slots) + 1) })
			mustPanic(t, "Commit(-1)", func() { in.Commit(-1) })

			slots = in.Claim(4)
			in.Commit(len(slots))
			mustPanic(t, "Commit(1) with 0 slots claimed", func() { in.Commit(1) })
			in.Commit(0) // nothing claimed, nothing committed: fine
		})
	}
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want one saying %q", want)
		}
		if msg, _ := r.(string); !strings.Contains(msg, want) {
			t.Fatalf("panic %v, want one saying %q", r, want)
		}
	}()
	f()
}
