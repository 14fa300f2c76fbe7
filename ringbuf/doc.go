// Package ringbuf provides lock-free single-producer rings in the style of
// the LMAX Disruptor. (Full design notes below.)
package ringbuf
