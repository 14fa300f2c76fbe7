//go:build !linux

package replay

import (
	"errors"
	"os"
)

// openDirect reports that O_DIRECT is not used here: captures are written
// through the page cache.
func openDirect(string) (*os.File, error) {
	return nil, errors.New("replay: O_DIRECT is Linux-only")
}
