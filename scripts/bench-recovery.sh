#!/usr/bin/env bash
# Reopen-after-kill benchmark: fills a topic to SIZE_MB with `chapar log produce`, kills the producer
# with SIGKILL while it is still appending, then times `chapar log verify` (open + recovery) and a
# first read at the end of the log (serving again).
#   scripts/bench-recovery.sh [SIZE_MB=1024] [PARTITIONS=1]
# Env: CHAPAR=path (default .build/release/chapar, built if missing). Uses ./chapar-recovery.tmp, removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-1024}
PARTITIONS=${2:-1}
CHAPAR=${CHAPAR:-.build/release/chapar}
[ -x "$CHAPAR" ] || swift build -c release --product chapar
DIR=./chapar-recovery.tmp
rm -rf "$DIR"
trap 'kill -9 $PRODUCER 2>/dev/null || true; rm -rf "$DIR"' EXIT
"$CHAPAR" log create bench --partitions "$PARTITIONS" --data-dir "$DIR" >/dev/null

# ~110-byte lines, keyed so they spread over the partitions.
awk 'BEGIN { v = sprintf("%090d", 0); for (i = 0; ; i++) printf "acct%d|%s\n", i % 9973, v }' \
    | "$CHAPAR" log produce bench --key-separator '|' --data-dir "$DIR" 2>/dev/null &
PRODUCER=$!
start=$(date +%s.%N)
while :; do
    used=$(du -sm "$DIR" | cut -f1)
    [ "$used" -ge "$SIZE_MB" ] && break
    sleep 0.2
done
fill=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
kill -9 $PRODUCER 2>/dev/null || true
pkill -9 -f "log produce bench --key-separator" 2>/dev/null || true
sleep 0.5
echo "filled $(du -sh "$DIR" | cut -f1) in ${fill} s, then SIGKILL while appending"

t0=$(date +%s.%N)
"$CHAPAR" log verify --data-dir "$DIR"
t1=$(date +%s.%N)
"$CHAPAR" log consume bench --partition 0 --exit-at-end --max-records 1 --data-dir "$DIR" >/dev/null
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "open + recovery (chapar log verify, whole process): %.3f s\nfirst read at the end (whole process): %.3f s\n", b - a, c - b }'
"$CHAPAR" log topics --data-dir "$DIR"
