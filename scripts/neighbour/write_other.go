//go:build !linux

package main

import "errors"

type directWriter struct{}

func newDirectWriter(string) (*directWriter, error) {
	return nil, errors.New("-mode write needs Linux (O_DIRECT)")
}

func (w *directWriter) write() {}
