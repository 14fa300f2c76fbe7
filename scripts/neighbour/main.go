// Command neighbour stands in for a neighbour's work (a recorder's writer,
// another process) beside a benchmark, to see what that much foreign work
// costs it on the same machine. Once per period it spins, copies 8 MiB
// buffers for a burst, or writes 8 MiB to a file with O_DIRECT (Linux; the
// buffer in huge pages, as tickd's direct writer stages it).
//
//	go build -o /tmp/neighbour ./scripts/neighbour
//	/tmp/neighbour -mode copy -burst 1.3ms -period 8ms &
//	go test -run '^$' -bench 'RecordingCostPipelined/engine$' -benchtime 100x ./replay/
//	kill $!
//
// Built first, not under go run: killing a backgrounded `go run` outside
// job control (a script) ends go run only and leaves its child working.
// It never stops by itself.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

func main() {
	mode := flag.String("mode", "spin", "spin, copy (8 MiB buffers) or write (8 MiB with O_DIRECT to -file)")
	burst := flag.Duration("burst", 1300*time.Microsecond, "busy time per period (spin, copy)")
	period := flag.Duration("period", 8*time.Millisecond, "one burst or write per period")
	file := flag.String("file", "neighbour.dat", "file for -mode write, removed at exit; rewritten from the start past 2 GiB")
	flag.Parse()
	var work func()
	switch *mode {
	case "spin", "copy":
		work = busy(*mode == "copy", *burst)
	case "write":
		w, err := newDirectWriter(*file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "neighbour:", err)
			os.Exit(1)
		}
		work = w.write
	default:
		fmt.Fprintln(os.Stderr, "neighbour: -mode is spin, copy or write")
		os.Exit(2)
	}
	for {
		start := time.Now()
		work()
		time.Sleep(*period - time.Since(start))
	}
}

// busy returns a burst of spinning or copying that lasts d.
func busy(copying bool, d time.Duration) func() {
	src, dst := make([]byte, 8<<20), make([]byte, 8<<20)
	for i := range src {
		src[i] = byte(i)
	}
	var acc byte // kept alive so the work is not optimised away
	return func() {
		for start := time.Now(); time.Since(start) < d; {
			if copying {
				copy(dst, src)
				acc += dst[len(dst)-1]
				continue
			}
			for range 1000 {
				acc++
			}
		}
		runtime.KeepAlive(acc)
	}
}
