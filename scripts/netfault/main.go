// Command netfault is a fault-injecting proxy for testing feed handlers
// against misbehaving networks: UDP (MoldUDP64 lines: drop, duplicate,
// reorder, delay, truncate, corrupt) and TCP (SoupBinTCP: split writes,
// stall, cut mid-stream, slow reader). Every fault is seeded. The UDP proxy
// logs its counts every 2 s of traffic and its totals when interrupted.
//
//	netfault udp -listen 127.0.0.1:28001 -to 127.0.0.1:28002 -drop 0.05 -dup 0.02 -reorder 0.02
//	netfault tcp -listen 127.0.0.1:28010 -to 127.0.0.1:28011 -split 1 -cut-after 100000
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: netfault udp|tcp [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "udp":
		udp(os.Args[2:])
	case "tcp":
		tcp(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: netfault udp|tcp [flags]")
		os.Exit(2)
	}
}

func udp(args []string) {
	fs := flag.NewFlagSet("udp", flag.ExitOnError)
	listen := fs.String("listen", "", "address to receive datagrams on")
	to := fs.String("to", "", "address to forward them to")
	seed := fs.Uint64("seed", 1, "random seed")
	drop := fs.Float64("drop", 0, "probability of dropping a datagram")
	dup := fs.Float64("dup", 0, "probability of sending a datagram twice")
	reorder := fs.Float64("reorder", 0, "probability of holding a datagram back behind the next one")
	delay := fs.Duration("delay", 0, "delay every datagram by this much")
	truncate := fs.Float64("truncate", 0, "probability of cutting a datagram short")
	corrupt := fs.Float64("corrupt", 0, "probability of flipping a byte of a datagram")
	skip := fs.Int("skip", 0, "forward the first N datagrams untouched")
	dead := fs.Int("dead-after", 0, "after N datagrams forward nothing (0: never)")
	deadFor := fs.Int("dead-for", 0, "with -dead-after: forward again after this many lost datagrams (0: never)")
	fs.Parse(args)
	requireAddrs(fs, *listen, *to)
	la, err := net.ResolveUDPAddr("udp4", *listen)
	check(err)
	ra, err := net.ResolveUDPAddr("udp4", *to)
	check(err)
	in, err := net.ListenUDP("udp4", la)
	check(err)
	closeOnSignal(in)
	out, err := net.DialUDP("udp4", nil, ra)
	check(err)
	rng := rand.New(rand.NewPCG(*seed, 0x6e6574))
	var held []byte
	var n, dropped, dups, reordered, truncated, corrupted int
	logged := time.Now()
	report := func() {
		log.Printf("udp %s->%s: %d in, %d dropped, %d duplicated, %d reordered, %d truncated, %d corrupted",
			*listen, *to, n, dropped, dups, reordered, truncated, corrupted)
	}
	defer report()
	send := func(p []byte) {
		if *delay > 0 {
			c := append([]byte(nil), p...)
			time.AfterFunc(*delay, func() { out.Write(c) })
			return
		}
		out.Write(p)
	}
	buf := make([]byte, 65536)
	for {
		m, err := in.Read(buf)
		if errors.Is(err, net.ErrClosed) {
			return // interrupted: the deferred report gives the totals
		}
		if err != nil {
			continue
		}
		n++
		if time.Since(logged) > 2*time.Second { // counts every 2 s of traffic; the read loop owns them
			report()
			logged = time.Now()
		}
		p := append([]byte(nil), buf[:m]...)
		if *dead > 0 && n > *dead && (*deadFor == 0 || n <= *dead+*deadFor) {
			dropped++
			continue
		}
		if n <= *skip {
			send(p)
			continue
		}
		if rng.Float64() < *drop {
			dropped++
			continue
		}
		if rng.Float64() < *truncate && len(p) > 1 {
			p = p[:rng.IntN(len(p))]
			truncated++
		}
		if rng.Float64() < *corrupt && len(p) > 0 {
			p[rng.IntN(len(p))] ^= byte(1 + rng.IntN(255))
			corrupted++
		}
		if held == nil && rng.Float64() < *reorder {
			held = p
			reordered++
			continue
		}
		send(p)
		if rng.Float64() < *dup {
			send(p)
			dups++
		}
		if held != nil {
			send(held)
			held = nil
		}
	}
}

func tcp(args []string) {
	fs := flag.NewFlagSet("tcp", flag.ExitOnError)
	listen := fs.String("listen", "", "address to accept on")
	to := fs.String("to", "", "server to dial per accepted connection")
	split := fs.Int("split", 0, "write server->client bytes in chunks of at most N bytes (0: as read)")
	stallAfter := fs.Int64("stall-after", 0, "after N bytes server->client, stall for -stall")
	stall := fs.Duration("stall", 0, "how long to stall")
	cutAfter := fs.Int64("cut-after", 0, "cut each connection after N bytes server->client (0: never)")
	cuts := fs.Int("cuts", 1, "cut or stall this many connections (then pass through)")
	rate := fs.Int("rate", 0, "slow reader: read from the server at most N bytes/s (0: no limit)")
	fs.Parse(args)
	requireAddrs(fs, *listen, *to)
	ln, err := net.Listen("tcp", *listen)
	check(err)
	var conns atomic.Int64
	for {
		c, err := ln.Accept()
		check(err)
		s, err := net.Dial("tcp", *to)
		if err != nil {
			log.Printf("dial %s: %v", *to, err)
			c.Close()
			continue
		}
		k := conns.Add(1) // only connections that reached the server count against -cuts
		cut, stallAt := int64(0), int64(0)
		if int(k) <= *cuts { // the first -cuts connections are cut or stalled; later ones pass
			cut, stallAt = *cutAfter, *stallAfter
		}
		log.Printf("conn %d: %s <-> %s (cut after %d)", k, c.RemoteAddr(), *to, cut)
		go func() { io.Copy(s, c); s.Close() }()
		go func() {
			defer c.Close()
			defer s.Close()
			var sent int64
			stalled := false
			buf := make([]byte, 32<<10)
			for {
				max := len(buf)
				if *rate > 0 {
					max = min(max, *rate/10+1)
				}
				m, err := s.Read(buf[:max])
				if err != nil {
					log.Printf("conn %d: server side: %v after %d bytes", k, err, sent)
					return
				}
				p := buf[:m]
				for len(p) > 0 {
					w := len(p)
					if *split > 0 {
						w = min(w, *split)
					}
					if cut > 0 && sent+int64(w) > cut {
						w = int(cut - sent)
						c.Write(p[:w])
						log.Printf("conn %d: cut after %d bytes", k, cut)
						return
					}
					if _, err := c.Write(p[:w]); err != nil {
						log.Printf("conn %d: client side: %v", k, err)
						return
					}
					sent += int64(w)
					p = p[w:]
					if !stalled && stallAt > 0 && sent >= stallAt {
						stalled = true
						log.Printf("conn %d: stalling %v after %d bytes", k, *stall, sent)
						time.Sleep(*stall)
					}
				}
				if *rate > 0 {
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
}

// requireAddrs exits with the usage unless both addresses are given: without
// -to a proxy would forward nowhere, and without -listen listen on a port
// nobody is told of, both silently.
func requireAddrs(fs *flag.FlagSet, listen, to string) {
	if listen != "" && to != "" {
		return
	}
	fmt.Fprintf(fs.Output(), "netfault %s: -listen and -to are both required\n", fs.Name())
	fs.Usage()
	os.Exit(2)
}

// closeOnSignal closes c on SIGINT or SIGTERM, so that the loop reading it
// ends and reports what it counted since its last report, which the signal's
// default action would lose.
func closeOnSignal(c io.Closer) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		c.Close()
	}()
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
