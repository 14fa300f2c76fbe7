//go:build !amd64 || purego

package crc32c

const canFold = false

func foldCopy(dst, src *byte, blocks int, init uint32) uint32 {
	panic("crc32c: no folding here")
}
