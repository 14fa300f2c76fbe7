package ringbuf_test

import (
	"fmt"

	"github.com/tickd/tickd/ringbuf"
)

type trade struct {
	Seq   int
	Price int64
}

// A producer decodes into reserved slots in place and commits them; a
// consumer reads whole batches in place and releases them.
func Example() {
	r, err := ringbuf.New[trade](ringbuf.Options{Capacity: 8})
	if err != nil {
		panic(err)
	}
	go func() {
		for seq := 0; seq < 10; {
			slots := r.Reserve(min(4, 10-seq)) // fewer at the wrap or when full
			for i := range slots {
				slots[i] = trade{Seq: seq + i, Price: int64(100 + seq + i)}
			}
			r.Commit(len(slots))
			seq += len(slots)
		}
		r.Close()
	}()
	c := r.Consumer(0)
	sum := int64(0)
	for {
		batch, ok := c.Wait()
		if !ok {
			break // closed and drained
		}
		for _, t := range batch {
			sum += t.Price
		}
		c.Release(len(batch))
	}
	fmt.Println("sum of prices:", sum)
	// Output: sum of prices: 1045
}

// One goroutine consumes several rings that share a Bell, idling with an
// Idler when a pass over all of them finds nothing.
func ExampleIdler() {
	bell := ringbuf.NewBell()
	var rings []*ringbuf.Ring[int]
	for range 3 {
		r, _ := ringbuf.New[int](ringbuf.Options{Capacity: 16, Wait: ringbuf.Park, Bell: bell})
		rings = append(rings, r)
		go func() {
			for v := 1; v <= 100; v++ {
				s := r.Reserve(1)
				s[0] = v
				r.Commit(1)
			}
			r.Close()
		}()
	}
	idle := ringbuf.NewIdler(ringbuf.Park, bell)
	total, open := 0, len(rings)
	for open > 0 {
		found := 0
		open = 0
		for _, r := range rings {
			c := r.Consumer(0)
			batch := c.Poll()
			for _, v := range batch {
				total += v
			}
			c.Release(len(batch))
			found += len(batch)
			if !c.Closed() {
				open++
			}
		}
		switch {
		case found > 0:
			idle.Reset()
		case open > 0:
			idle.Idle() // spin, yield, then arm the Bell; the next Idle sleeps
		}
	}
	fmt.Println("total:", total)
	// Output: total: 15150
}
