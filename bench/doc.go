// Package bench is tickd's latency and throughput suite.
//
// The latency harness is open-loop, as wrk2 is: tick i has an intended
// send time start + i/rate and carries it as its event time; a stall in
// the sender or in tickd delays the ticks behind it but never skips them,
// so the stall shows up in every latency it causes (no coordinated
// omission). RunLoad sends ticks over a real TCP socket into tickd's feed
// and records, per signal read back from NATS, receive time − intended
// time; RunFloor measures bare NATS (publisher → the same server →
// subscriber) at tickd's signal rate and payload size; RunInproc times
// decode → engine → output ring inside one process (or, Fused, decode and
// engine on one goroutine up to the signal enqueued), with both ends
// stamped by the time-stamp counter. In process, the interval starts at the
// decode's receive stamp (ts_recv, as tickd's own tick-to-signal figure),
// not at the intended time: a tick the producer encodes late (behind a full
// input ring, or a late wake-up) is not charged for the wait, so those
// figures are the pipeline's service time, not open-loop latency. A sender sleeps, yields or spins
// until each tick is due (Pace). Latencies go into
// HdrHistograms (ns); WriteReport prints the percentile table and writes
// report.txt, result.json, one .hgrm per side and the percentile plots
// (latency.svg, latency.png). `tickd bench` drives it.
//
// BenchmarkITCH runs several hot-path stages together on one core
// (decode → book → statistics → rules), beside the cheaper pipelines it
// extends, so each stage's cost shows as a difference in one run.
package bench
