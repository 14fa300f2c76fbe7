//go:build race

package ringbuf

// raceEnabled shortens the stress tests under the race detector, which
// slows the hot loops by an order of magnitude.
const raceEnabled = true
