#!/usr/bin/env bash
# Rebuilds cmd/tickd/default.pgo: the CPU profile that `go build` optimises
# the tickd binary with (profile-guided optimisation: hot calls are inlined
# past the usual budget). It merges profiles of the hot-path benchmarks:
# replay into the engine, ITCH into the books and the engine, the fused
# in-process path, the engine's ring pipeline and the publisher's encoders.
# Rerun it after changing a hot path, and measure: `make bench` builds the
# benchmarks with the same profile. Takes about a minute.
#
#   scripts/pgo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
profile() { # package, benchmark pattern, -benchtime
  n=$((n + 1))
  # Shown only on failure: go test prints a benchmark's FAIL on stdout.
  go test -pgo=off -run '^$' -bench "$2" -benchtime "$3" -o "$tmp/$n.test" -cpuprofile "$tmp/$n.pprof" "$1" > "$tmp/$n.log" ||
    { cat "$tmp/$n.log" >&2; echo "pgo.sh: go test -bench '$2' $1 failed; cmd/tickd/default.pgo is unchanged" >&2; exit 1; }
}
profile ./replay 'ReplayMax$' 300x
profile ./bench 'ITCH/decode\+book\+stats' 20000000x
profile ./bench 'Fused' 3000000x
profile ./engine 'Pipeline' 1s
profile ./bus 'Encode' 1s
# Merged beside the others first: a merge that fails leaves the profile in use.
go tool pprof -proto "$tmp"/*.pprof > "$tmp/default.pgo"
mv "$tmp/default.pgo" cmd/tickd/default.pgo
echo "cmd/tickd/default.pgo: $(wc -c < cmd/tickd/default.pgo) bytes from $n profiles"
