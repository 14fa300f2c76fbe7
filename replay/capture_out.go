package replay

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"github.com/tickd/tickd/internal/hugepage"
)

// directAlign is the alignment O_DIRECT asks of buffers, file offsets and
// lengths: 4 KiB covers the logical block size of every common device.
const directAlign = 4096

// directStage is how many bytes a direct captureOut gathers before one
// write: large writes keep a disk busy with few system calls.
const directStage = 8 << 20

// captureOut is where a Writer's bytes go: the file through the page
// cache, or, with Direct, written with O_DIRECT from an aligned staging
// buffer.
//
// Why direct: a buffered write copies into the page cache, and once dirty
// pages pile up the kernel makes the writer pay for their writeback too. On
// the guest tickd is measured on, `dd bs=1M count=1000` to ext4 took 2.19 s
// of system time buffered and 0.10 s with oflag=direct. A recorder keeping
// up with a feed at hundreds of MB/s would spend a core in the kernel,
// beside the engine's.
//
// O_DIRECT wants whole aligned blocks, and a capture ends anywhere: the
// staged bytes go out in whole directAlign blocks, and push writes the
// unaligned remainder through f (the page cache) at its offset; the next
// direct write rewrites that remainder with what follows it. So the file
// always ends exactly at the bytes pushed.
type captureOut struct {
	f *os.File // the file, opened normally

	// Direct only (direct != nil).
	direct   *os.File  // the same file opened with O_DIRECT
	stage    []byte    // bytes from base not yet written direct; cap directStage, aligned
	base     int64     // file offset of stage[0], aligned
	pushed   int       // stage[:pushed] is in the file already (through f)
	stagedAt time.Time // when a byte first waited in stage unpushed

	dirSynced bool // the directory naming the file has been fsynced since it was created
}

// createCaptureOut creates (or truncates) path; with direct, it also opens
// it with O_DIRECT where the system and file system allow, and otherwise
// writes through the page cache (see captureOut.isDirect).
func createCaptureOut(path string, direct bool) (*captureOut, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	c := &captureOut{f: f}
	if direct {
		if d, err := openDirect(path); err == nil {
			c.direct = d
			c.stage = alignedBuffer(directStage)
		}
	}
	return c, nil
}

// probeDirect reports whether files in dir take O_DIRECT writes: it writes
// one aligned block to a temporary file there and removes it.
func probeDirect(dir string) bool {
	f, err := os.CreateTemp(dir, ".tickd-direct-probe-*")
	if err != nil {
		return false
	}
	path := f.Name()
	f.Close()
	defer os.Remove(path)
	d, err := openDirect(path)
	if err != nil {
		return false
	}
	defer d.Close()
	_, err = d.WriteAt(alignedBuffer(directAlign)[:directAlign], 0)
	return err == nil
}

// alignedBuffer returns an empty slice of capacity n whose first byte is
// directAlign-aligned. A buffer of a huge page or more (the stage) starts on
// a huge-page boundary and asks for huge pages: every O_DIRECT write pins
// the buffer's pages, and with 2 MiB pages that took a fifth of the system
// time of 4 KiB ones here (43–63 against 252–261 µs per 8 MiB write), and
// 800 MiB went out in 169 ms instead of 260–266. The alignment costs up to
// 2 MiB more per open capture.
func alignedBuffer(n int) []byte {
	if n >= hugepage.Size {
		return hugepage.Bytes(n)
	}
	b := make([]byte, n+directAlign)
	skip := int(-uintptr(unsafe.Pointer(&b[0])) & (directAlign - 1))
	return b[skip : skip : skip+n]
}

// isDirect reports whether writes go out with O_DIRECT.
func (c *captureOut) isDirect() bool { return c.direct != nil }

// write appends p. Direct, it stages p and writes each full stage.
func (c *captureOut) write(p []byte) error {
	if c.direct == nil {
		_, err := c.f.Write(p)
		return err
	}
	for len(p) > 0 {
		n := copy(c.stage[len(c.stage):cap(c.stage)], p)
		p = p[n:]
		if err := c.commit(n); err != nil {
			return err
		}
	}
	return nil
}

// reserve returns the next n bytes of the stage, for the caller to fill
// and then commit, or nil if the output is not direct or n bytes do not
// fit before the stage is full (then write them).
func (c *captureOut) reserve(n int) []byte {
	if c.direct == nil || len(c.stage)+n > cap(c.stage) {
		return nil
	}
	return c.stage[len(c.stage) : len(c.stage)+n]
}

// commit appends the next n bytes of the stage, filled by the caller, and
// writes the stage if they fill it.
func (c *captureOut) commit(n int) error {
	if n > 0 && c.pushed == len(c.stage) {
		c.stagedAt = time.Now()
	}
	c.stage = c.stage[:len(c.stage)+n]
	if len(c.stage) == cap(c.stage) {
		return c.writeDirect(len(c.stage))
	}
	return nil
}

// writeDirect writes stage[:n] (n aligned) at base with O_DIRECT and drops
// it from the stage.
func (c *captureOut) writeDirect(n int) error {
	if _, err := c.direct.WriteAt(c.stage[:n], c.base); err != nil {
		return err
	}
	rest := copy(c.stage, c.stage[n:])
	c.stage = c.stage[:rest]
	c.base += int64(n)
	c.pushed = max(c.pushed-n, 0)
	return nil
}

// push puts every byte written into the file: the aligned part of the
// stage with O_DIRECT, the rest through f.
func (c *captureOut) push() error {
	if c.direct == nil || c.pushed == len(c.stage) {
		return nil
	}
	if n := len(c.stage) &^ (directAlign - 1); n > 0 {
		if err := c.writeDirect(n); err != nil {
			return err
		}
	}
	if _, err := c.f.WriteAt(c.stage[c.pushed:], c.base+int64(c.pushed)); err != nil {
		return err
	}
	c.pushed = len(c.stage)
	return nil
}

// waiting reports whether written bytes wait to be pushed, and since when.
func (c *captureOut) waiting() (time.Time, bool) {
	return c.stagedAt, c.direct != nil && c.pushed < len(c.stage)
}

// sync pushes and fsyncs. The first sync of a file also fsyncs its
// directory: the file's own fsync makes its bytes durable but, by POSIX, not
// the directory entry that names it, so after a power cut a new capture
// whose blocks were all synced could be gone whole.
func (c *captureOut) sync() error {
	if err := c.push(); err != nil {
		return err
	}
	if err := c.f.Sync(); err != nil {
		return err
	}
	if !c.dirSynced {
		if err := syncDir(filepath.Dir(c.f.Name())); err != nil {
			return err
		}
		c.dirSynced = true
	}
	return nil
}

// syncDir fsyncs the directory dir.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// close pushes and closes the file; it does not sync.
func (c *captureOut) close() error {
	err := c.push()
	if c.direct != nil {
		if cerr := c.direct.Close(); err == nil {
			err = cerr
		}
	}
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}
