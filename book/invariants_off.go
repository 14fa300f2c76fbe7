//go:build !invariants

package book

// invariants turns on the consistency check after every Apply (-tags invariants).
const invariants = false
