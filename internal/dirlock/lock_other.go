//go:build !unix

package dirlock

import "os"

// tryLock: no advisory locks here; a directory is not guarded.
func tryLock(*os.File) error { return nil }
