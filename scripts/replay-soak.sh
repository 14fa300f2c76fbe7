#!/usr/bin/env bash
# Memory over a long replay (issue 5): builds a ~10 GB NASDAQ ITCH file from
# the real sample in ../shared/data (COPIES times over; needs that much free
# disk in DIR), replays it at max speed through the engine and its L3 books,
# and samples the process's resident memory once a second.
#
#   scripts/replay-soak.sh [DIR] [COPIES]     (default: a temp dir, 22000 copies ≈ 10.2 GB)
#
# A file DIR/soak.itch of COPIES copies, left by an earlier run, is used again.
# Without DIR, the temp dir and its file are removed at exit.
set -euo pipefail
sample=../shared/data/bx-itch50-sample.itch
dir=${1:-}
copies=${2:-22000}
[[ $copies =~ ^[1-9][0-9]*$ ]] || { echo "replay-soak: COPIES must be a whole number above 0, not \"$copies\"" >&2; exit 2; }
if [[ -z $dir ]]; then
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd) # a relative DIR is the caller's, not the repo's
cd "$(dirname "$0")/.."
[ -r "$sample" ] || { echo "replay-soak: $sample not found (see ../shared/data/README.md)" >&2; exit 1; }
go build -o "$dir/tickd" ./cmd/tickd
file=$dir/soak.itch
want=$(($(wc -c < "$sample") * copies))
if [ ! -f "$file" ] || [ "$(wc -c < "$file")" -ne "$want" ]; then
  for _ in $(seq 1 100); do cat "$sample"; done > "$dir/x100.itch"
  {
    for _ in $(seq 1 $((copies / 100))); do cat "$dir/x100.itch"; done
    for _ in $(seq 1 $((copies % 100))); do cat "$sample"; done
  } > "$file"
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
