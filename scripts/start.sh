#!/usr/bin/env bash
# Installs what is needed, builds Chapar (release) and runs the pipeline on demo data:
#   demo customers → SQLite store; demo bank transactions (CSV) → `chapar ingest` → durable log;
#   the notifier group → per-channel jobs in Persian and English on the notify.* lane topics.
# Then it keeps the notifier running (Ctrl-C stops it gracefully) so new events keep flowing.
# Usage: scripts/start.sh [DATA_DIR]   (default ./chapar-data; delete it to start over)
# `chapar serve` (HTTP API, console, delivery workers) replaces the last step once it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product chapar
chapar=$PWD/.build/release/chapar
data=${1:-./chapar-data}
export CHAPAR_DATA_DIR=$data CHAPAR_TEMPLATES=$PWD/config/templates
mkdir -p "$data/demo"

if [ ! -f "$data/customers.sqlite" ]; then
    echo "== 1,000 demo customers (70% Persian; SMS, email, some fax and Telegram; some quiet hours)"
    $chapar demo generate-customers --count 1000 --seed 1 --output "$data/demo/customers.csv"
    $chapar customers import "$data/demo/customers.csv"
fi
echo
echo "== customer C0000001"
$chapar customers show C0000001

batch="$data/demo/transactions-$(date +%Y%m%d-%H%M%S).csv"
echo
echo "== 5,000 demo transactions on their accounts → $batch"
$chapar demo generate-transactions --count 5000 --accounts 1000 --seed "$(date +%s)" --output "$batch"
$chapar ingest "$batch"
echo
echo "== the same file again: every entry is a duplicate, nothing is appended"
$chapar ingest "$batch"

echo
echo "== the notifier turns events into jobs (runs until idle here)"
$chapar notify run --until-idle 1
echo
echo "== topics"
$chapar log topics
echo
echo "== three SMS jobs (what the SMS workers will send)"
$chapar log consume notify.sms --from-beginning --max-records 3 --format '%k  %s\n' | cut -c1-400
echo
echo "== preview: what C0000001 would receive for a 12,500,000 rial card purchase"
account=$($chapar customers show C0000001 --json | sed -n 's/.*"accounts" *: *\[ *"\([A-Z0-9]*\)".*/\1/p' | head -1)
if [ -z "$account" ]; then account=$($chapar customers show C0000001 --json | tr -d ' \n' | sed -n 's/.*"accounts":\["\([A-Z0-9]*\)".*/\1/p'); fi
$chapar notify preview --customer C0000001 --event "{\"type\":\"transaction\",\"id\":\"PREVIEW-1\",\"account\":\"$account\",\"direction\":\"debit\",\"amount\":1250000000,\"currency\":\"IRR\",\"balance\":98765432100,\"bookedAt\":$(($(date +%s) * 1000)),\"description\":\"خرید از فروشگاه کوروش\"}"
echo
echo "Data is in $data. The notifier now keeps running (Ctrl-C to stop). It owns the data directory"
echo "and accepts ingest: in another terminal, CHAPAR_DATA_DIR=$data $chapar demo generate-transactions"
echo "--count 1000 --accounts 1000 --output /tmp/more.csv && CHAPAR_DATA_DIR=$data $chapar ingest /tmp/more.csv"
echo "sends new events to it. See README.md for every command."
exec $chapar notify run
