// Command nats-publisher is an example feed producer for `tickd serve
// -feed-nats`: it reads CSV or JSON tick lines from standard input and
// publishes them to a NATS subject, -lines lines to a message (each message
// a whole stream of its own, as the NATS feed source takes it).
//
//	go run ./examples/nats-publisher [-nats-url nats://127.0.0.1:4222] [-subject ticks.in] [-lines 100] < ticks.csv
//
// A CSV header line (the column names in any order, as tickd takes them)
// leads every message after it, since each message is decoded on its own;
// as tickd does, it takes one on any line (behind a comment, or a second
// file's), and the lines after it follow it. It flushes before it exits, so every line read has reached the
// server.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "nats-publisher:", err)
		os.Exit(1)
	}
}

func run(args []string, in io.Reader, stderr io.Writer) error {
	fs := flag.NewFlagSet("nats-publisher", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("nats-url", nats.DefaultURL, "NATS server")
	subject := fs.String("subject", "ticks.in", "subject to publish to")
	lines := fs.Int("lines", 100, "lines per message")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *lines < 1 {
		return fmt.Errorf("-lines %d: want at least 1", *lines)
	}
	nc, err := nats.Connect(*url)
	if err != nil {
		return err
	}
	defer nc.Close()
	msgs, n, err := publishLines(nc, *subject, *lines, in)
	if err != nil {
		return err
	}
	if err := nc.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "published %d lines in %d messages to %s\n", n, msgs, *subject)
	return nil
}

// utf8BOM may open the input (Excel's "CSV UTF-8"): tickd skips it at the
// start of a stream, so a header behind it is a header, to repeat without it.
const utf8BOM = "\uFEFF"

// isCSVHeader says whether line is a CSV header as tickd's decoder takes
// one: the column names, in any order, maybe quoted or spaced.
func isCSVHeader(line string) bool {
	names := strings.Split(line, ",")
	if len(names) < 4 || len(names) > 5 {
		return false
	}
	seen := map[string]bool{}
	for _, name := range names {
		name = strings.Trim(name, " \t") // then one pair of quotes, as tickd reads a field
		if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
			name = name[1 : len(name)-1]
		}
		switch name {
		case "ts", "symbol", "price", "size", "side":
		default:
			return false
		}
		if seen[name] {
			return false // each column once
		}
		seen[name] = true
	}
	return seen["ts"] && seen["symbol"] && seen["price"] && seen["size"]
}

// publishLines publishes in's lines, per lines to a message, each message
// led by the CSV header its lines follow, if in has one.
func publishLines(nc *nats.Conn, subject string, per int, in io.Reader) (msgs, n int, err error) {
	sc := bufio.NewScanner(in)
	var header, buf []byte
	k := 0
	send := func() error {
		if k == 0 {
			return nil
		}
		msgs++
		err := nc.Publish(subject, buf)
		buf, k = append(buf[:0], header...), 0
		return err
	}
	for sc.Scan() {
		line := sc.Text()
		if h := strings.TrimPrefix(line, utf8BOM); isCSVHeader(h) { // the lines after it, in every message, follow it
			header = append([]byte(h), '\n')
			if k == 0 {
				buf = buf[:0] // the header of the lines before, if any
			}
			buf = append(buf, header...)
			continue
		}
		buf = append(append(buf, line...), '\n')
		n++
		if k++; k == per {
			if err := send(); err != nil {
				return msgs, n, err
			}
		}
	}
	if err := send(); err != nil {
		return msgs, n, err
	}
	return msgs, n, sc.Err()
}
