package replay

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
)

// benchPayloads: an ITCH-sized message (one record per message, as the
// ITCH file source taps them) and a TCP read chunk of feed text.
func benchPayloads() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 1))
	return map[string][]byte{
		"msg36":    feedBytes(rng, 36),
		"chunk4KB": feedBytes(rng, 4096),
	}
}

// BenchmarkWriter: cost of Writer.Data per record, to a file (no fsync),
// through the page cache raw (zstd=false) and compressed (zstd=true), and
// raw with O_DIRECT (direct, as the recorder writes by default); the file
// writes are inside the timer.
func BenchmarkWriter(b *testing.B) {
	modes := []struct {
		name string
		opts WriterOptions
	}{
		{"zstd=false", WriterOptions{}},
		{"zstd=true", WriterOptions{Compress: true}},
		{"direct", WriterOptions{Direct: true}},
	}
	for _, name := range []string{"msg36", "chunk4KB"} {
		p := benchPayloads()[name]
		for _, m := range modes {
			b.Run(name+"/"+m.name, func(b *testing.B) {
				opts := m.opts
				opts.Format, opts.Sync = "itch", SyncPolicy{Every: -1}
				w, err := Create(filepath.Join(b.TempDir(), "w.cap"), opts)
				if err != nil {
					b.Fatal(err)
				}
				if opts.Direct && !w.f.isDirect() {
					b.Log("O_DIRECT is not available in the temporary directory: direct writes through the page cache")
				}
				b.SetBytes(int64(len(p)))
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					if err := w.Data(1, int64(i), p); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				// The block index grows by one entry per block: amortised
				// to ~0 allocations per record.
				if err := w.Finish(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkReader: reading a capture from the page cache, in feed bytes per
// second (b.SetBytes counts the Data payloads, not the file).
func BenchmarkReader(b *testing.B) {
	for _, name := range []string{"msg36", "chunk4KB"} {
		p := benchPayloads()[name]
		for _, c := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/zstd=%v", name, c), func(b *testing.B) {
				path := filepath.Join(b.TempDir(), "r.cap")
				w, err := Create(path, WriterOptions{Format: "itch", Compress: c, Sync: SyncPolicy{Every: -1}})
				if err != nil {
					b.Fatal(err)
				}
				const total = 32 << 20
				n := total / len(p)
				for i := range n {
					if err := w.Data(uint16(i&7), int64(i), p); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Finish(); err != nil {
					b.Fatal(err)
				}
				r, _, err := OpenCapture(path, OpenOptions{ReadOnly: true})
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close()
				b.SetBytes(int64(n * len(p)))
				b.ReportAllocs()
				for b.Loop() {
					if err := r.SeekTime(0); err != nil {
						b.Fatal(err)
					}
					got := 0
					for {
						rec, err := r.Next()
						if err == io.EOF {
							break
						}
						if err != nil {
							b.Fatal(err)
						}
						got += len(rec.Bytes)
					}
					if got != n*len(p) {
						b.Fatalf("read %d bytes, want %d", got, n*len(p))
					}
				}
			})
		}
	}
}

// BenchmarkRecorderData: cost per Recorder.Data call (36-byte message) with
// the writer goroutine writing real files, beside a baseline of the obvious
// alternative: a buffered channel of copied slices.
func BenchmarkRecorderData(b *testing.B) {
	p := benchPayloads()["msg36"]
	for _, par := range []int{1, 4} {
		b.Run(fmt.Sprintf("recorder/callers=%d", par), func(b *testing.B) {
			// zstd keeps the file writes (and so the writer goroutine)
			// faster than the callers, so this measures the call.
			rec, err := NewRecorder(RecorderOptions{Dir: b.TempDir(), Format: "itch", Compress: true, Sync: SyncPolicy{Every: -1}})
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- rec.Run(context.Background()) }()
			for src := range par {
				rec.Open(uint16(src), fmt.Sprint("caller-", src))
			}
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			b.SetParallelism(par)
			runCallers(b, par, func(src uint16, i int64) { rec.Data(src, i, p) })
			rec.Stop()
			if rec.Dropped() != 0 {
				b.Fatalf("%d records dropped", rec.Dropped())
			}
			// A caller that waited for the writer measured the writer.
			b.ReportMetric(float64(rec.Stalls())/float64(b.N), "stalls/op")
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
		b.Run(fmt.Sprintf("baseline-chan/callers=%d", par), func(b *testing.B) {
			type msg struct {
				src  uint16
				recv int64
				b    []byte
			}
			ch := make(chan msg, 64<<10)
			var sink int
			var wg sync.WaitGroup
			wg.Go(func() {
				for m := range ch {
					sink += len(m.b)
				}
			})
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			runCallers(b, par, func(src uint16, i int64) {
				ch <- msg{src, i, append([]byte(nil), p...)}
			})
			close(ch)
			wg.Wait()
		})
	}
}

// runCallers runs b.N calls of f split over par goroutines, one source each.
func runCallers(b *testing.B, par int, f func(src uint16, i int64)) {
	b.ResetTimer()
	var wg sync.WaitGroup
	for g := range par {
		wg.Go(func() {
			for i := g; i < b.N; i += par {
				f(uint16(g), int64(i))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
}
