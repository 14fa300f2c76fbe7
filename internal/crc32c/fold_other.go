//go:build !amd64 || purego

package crc32c

const canFold = false

func foldCopy(dst, src *byte, blocks int, init uint32, rem *[256]byte) {
	panic("crc32c: no folding here")
}
