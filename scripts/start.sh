#!/usr/bin/env bash
# Installs what is needed, builds Chapar (release) and runs the pipeline on demo data:
#   demo customers → SQLite store; demo bank transactions (CSV) → `chapar ingest` → durable log;
#   the notifier group → per-channel jobs in Persian and English on the notify.* lane topics.
#   the delivery pools → SMS through a real Kannel (bearerbox + smsbox + fake SMSC, with delivery
#   reports) and Telegram messages to a Telegram-compatible test gateway, both on 127.0.0.1.
# Then it keeps the delivery pools running (Ctrl-C stops them gracefully, and the gateways).
# Usage: scripts/start.sh [DATA_DIR]   (default ./chapar-data; delete it to start over)
# `chapar serve` (HTTP API, console, notifier and delivery in one process) replaces the last steps once it exists.
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
echo "== real gateways on 127.0.0.1: Kannel with a fake SMSC, and a Telegram-compatible test gateway"
peers="$data/peers"
mkdir -p "$peers"
scripts/peers/kannel.sh start "$peers/kannel" >/dev/null
. "$peers/kannel/peer.env"
python=/usr/bin/python3; [ -x $python ] || python=python3
$python scripts/peers/fault_gateway.py --port 0 --log "$peers/telegram.jsonl" > "$peers/telegram.out" 2>&1 &
telegram_pid=$!
stop_peers() { kill "$telegram_pid" 2>/dev/null || true; scripts/peers/kannel.sh stop "$peers/kannel" >/dev/null 2>&1 || true; }
trap stop_peers EXIT
for _ in $(seq 1 100); do grep -q '^ready' "$peers/telegram.out" 2>/dev/null && break; sleep 0.1; done
telegram_port=$(sed -n 's/^ready \([0-9]*\)/\1/p' "$peers/telegram.out")
callback_port=$($python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export KANNEL_PASSWORD DEMO_TELEGRAM_TOKEN=demo-token CHAPAR_CALLBACK_SECRET=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat > "$data/demo/chapar.yaml" <<YAML
# Written by scripts/start.sh: the demo's gateways on 127.0.0.1 (see config/chapar.yaml for every key).
callbacks:
  listen: 127.0.0.1:$callback_port
  secret: {env: CHAPAR_CALLBACK_SECRET}
channels:
  sms: {gateway: kannel-demo}
  im: {routes: {telegram: telegram-demo}}
gateways:
  kannel-demo:
    type: kannel
    url: $KANNEL_SENDSMS_URL
    username: $KANNEL_USERNAME
    password: {env: KANNEL_PASSWORD}
    from: CHAPAR
    rate: 500/s
  telegram-demo:
    type: telegram
    url: http://127.0.0.1:$telegram_port/telegram
    token: {env: DEMO_TELEGRAM_TOKEN}
YAML
echo
echo "== delivery: SMS and IM jobs through the gateways (runs until idle here)"
$chapar deliver run --config "$data/demo/chapar.yaml" --channels sms,im --until-idle 3
echo
echo "== the ledger: five recent deliveries"
$chapar deliveries list --limit 5
job=$($chapar deliveries list --channel sms --limit 1 --json | sed -n 's/.*"id" *: *"\([0-9a-f]*\)".*/\1/p' | head -1)
if [ -n "$job" ]; then echo; echo "== one SMS job's story"; $chapar deliveries show "$job"; fi
echo
echo "== what the fake SMSC received last (Persian arrives as UCS-2, decoded here)"
grep 'Got message' "$peers/kannel/fakesmsc.out" | tail -3 | $python -c '
import sys, re, urllib.parse
for line in sys.stdin:
    m = re.search(r"<(\S+) (\S+) (text|ucs-2) (.*)>", line)
    if not m: continue
    raw = urllib.parse.unquote_to_bytes(m.group(4).replace("+", "%20"))
    print(m.group(2), raw.decode("utf-16-be" if m.group(3) == "ucs-2" else "utf-8", "replace"))'
echo
echo "Data is in $data. The delivery pools now keep running (Ctrl-C stops them and the demo gateways)."
echo "Email and fax jobs wait on their topics for their adapters. Ingest and the notifier take turns with"
echo "delivery on one data directory until \`chapar serve\` runs them together; see README.md for every command."
$chapar deliver run --config "$data/demo/chapar.yaml" --channels sms,im
