// Package bench holds tickd's cross-package measurements: benchmarks that
// run several hot-path stages together on one core (decode → book →
// statistics → rules), beside the cheaper pipelines they extend, so each
// stage's cost shows as a difference in one run. The latency harness of
// `tickd bench` will live here too.
package bench
