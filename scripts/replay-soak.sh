#!/usr/bin/env bash
# Memory over a long replay (issue 5): builds a ~10 GB NASDAQ ITCH file from
# the real sample in ../shared/data (repeated; needs that much free disk in
# DIR), replays it at max speed through the engine and its L3 books, and
# samples the process's resident memory once a second.
#
#   scripts/replay-soak.sh [DIR] [COPIES]     (default: a temp dir, 22000 copies ≈ 10.2 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
sample=../shared/data/bx-itch50-sample.itch
[ -r "$sample" ] || { echo "replay-soak: $sample not found (see ../shared/data/README.md)" >&2; exit 1; }
dir=${1:-$(mktemp -d)}
copies=${2:-22000}
go build -o "$dir/tickd" ./cmd/tickd
file=$dir/soak.itch
if [ ! -s "$file" ]; then
  for _ in $(seq 1 100); do cat "$sample"; done > "$dir/x100.itch"
  for _ in $(seq 1 $((copies / 100))); do cat "$dir/x100.itch"; done > "$file"
  rm "$dir/x100.itch"
fi
ls -l "$file"
"$dir/tickd" replay "$file" --speed max -nats-listen off -log-level warn 2> "$dir/replay.log" &
pid=$!
echo "seconds rss_kib"
t=0
while kill -0 "$pid" 2>/dev/null; do
  awk -v t="$t" '/VmRSS/{print t, $2}' "/proc/$pid/status" 2>/dev/null || true
  sleep 1
  t=$((t + 1))
done
wait "$pid"
