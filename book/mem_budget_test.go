//go:build !invariants

// The memory budget is measured without the invariants tag: with it, every
// Apply re-checks the whole book, and 1M adds would take minutes.

package book

import "testing"

// TestMemoryPerLiveOrder checks the budget of <= 100 bytes per live order at
// 1M live orders.
func TestMemoryPerLiveOrder(t *testing.T) {
	bpo := liveOrderBytes(t, 1<<20)
	t.Logf("%.1f bytes per live order at %d live orders", bpo, 1<<20)
	if bpo > 100 {
		t.Errorf("%.1f bytes per live order, budget 100", bpo)
	}
}
