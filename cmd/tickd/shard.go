package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/tickd/tickd/engine"
)

// shardFlag is serve's -shard i/N: this instance owns the symbols
// engine.PartitionOf maps to i of N (FNV-1a 32 of the name mod N).
type shardFlag engine.Partition

func (s *shardFlag) String() string {
	if s == nil || s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

func (s *shardFlag) Set(v string) error {
	i, n, ok := strings.Cut(v, "/")
	idx, err1 := strconv.Atoi(i)
	cnt, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || cnt < 1 || idx < 0 || idx >= cnt {
		return fmt.Errorf("shard %q: want i/N with 0 ≤ i < N", v)
	}
	*s = shardFlag{Index: idx, Count: cnt}
	return nil
}

// publisherID is -publisher-id, or by default host-pid, with the shard
// appended (host-pid-shard1of3) so that shards of one host never share an
// id (and so a seq).
func (c *serveConfig) publisherIDOrDefault() string {
	if c.publisherID != "" || c.shard.Count <= 1 {
		return c.publisherID // "": the bus default
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "tickd"
	}
	return fmt.Sprintf("%s-%d-shard%dof%d", host, os.Getpid(), c.shard.Index, c.shard.Count)
}
