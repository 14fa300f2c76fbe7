// Command cpuhog keeps a fraction of one CPU busy in bursts, either
// spinning or copying memory, as a stand-in for a neighbour's work (a
// recorder's writer, another process): run it beside a benchmark to see
// what that much foreign work costs it on the same machine.
//
//	go run ./scripts/cpuhog -burst 1.3ms -period 8ms -copy &
//	go test -run '^$' -bench 'RecordingCostPipelined/engine$' -benchtime 100x ./replay/
//	kill %1
package main

import (
	"flag"
	"runtime"
	"time"
)

func main() {
	burst := flag.Duration("burst", 1300*time.Microsecond, "busy time per period")
	period := flag.Duration("period", 8*time.Millisecond, "one burst per period")
	copying := flag.Bool("copy", false, "copy 8 MiB buffers during a burst (default: spin)")
	flag.Parse()
	src, dst := make([]byte, 8<<20), make([]byte, 8<<20)
	for i := range src {
		src[i] = byte(i)
	}
	var acc byte // kept alive so the bursts' work is not optimised away
	for {
		start := time.Now()
		for time.Since(start) < *burst {
			if *copying {
				copy(dst, src)
				acc += dst[len(dst)-1]
				continue
			}
			for range 1000 {
				acc++
			}
		}
		runtime.KeepAlive(acc)
		time.Sleep(*period - time.Since(start))
	}
}
