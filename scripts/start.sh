#!/usr/bin/env bash
# Installs what is needed, builds Chapar (release) and runs `chapar serve --demo`: the whole pipeline
# in one process with its API and web console, on demo data.
#
#   - 1,000 demo customers (70% Persian) are seeded into an empty store, and a few realistic bank
#     transactions arrive every second (ingested exactly as `chapar ingest` would);
#   - the notifier turns them into SMS, email, fax and IM jobs in each customer's language;
#   - SMS go through a real Kannel on 127.0.0.1 (bearerbox + smsbox + a fake SMSC, with delivery
#     reports back to Chapar), email through a real SMTP server (aiosmtpd, into a Maildir), fax as
#     rendered A4 PDFs into a real HylaFAX queue (faxq + hfaxd, no modem: the faxes wait there),
#     IM through a Telegram-compatible demo gateway that chapar serve itself serves;
#   - the console URL it prints carries a one-off token: open it to watch notifications flow.
# Ctrl-C drains and stops Chapar, then the peers.
# Usage: scripts/start.sh [DATA_DIR]   (default ./chapar-data; delete it to start over)
#        CHAPAR_LISTEN=127.0.0.1:8480 (default) sets the API/console address.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product chapar
chapar=$PWD/.build/release/chapar
data=${1:-./chapar-data}
listen=${CHAPAR_LISTEN:-127.0.0.1:8480}
export CHAPAR_TEMPLATES=$PWD/config/templates
mkdir -p "$data/demo"

echo "== real gateways on 127.0.0.1: Kannel with a fake SMSC, an SMTP server, HylaFAX"
peers="$data/peers"
mkdir -p "$peers"
stop_peers() {
    scripts/peers/kannel.sh stop "$peers/kannel" >/dev/null 2>&1 || true
    scripts/peers/smtp.sh stop "$peers/smtp" >/dev/null 2>&1 || true
    scripts/peers/hylafax.sh stop "$peers/hylafax" >/dev/null 2>&1 || true
}
trap stop_peers EXIT
scripts/peers/kannel.sh start "$peers/kannel" >/dev/null
scripts/peers/smtp.sh start "$peers/smtp" >/dev/null
scripts/peers/hylafax.sh start "$peers/hylafax" >/dev/null
. "$peers/kannel/peer.env"
. "$peers/smtp/peer.env"
. "$peers/hylafax/peer.env"
export KANNEL_PASSWORD CHAPAR_CALLBACK_SECRET=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat > "$data/demo/chapar.yaml" <<YAML
# Written by scripts/start.sh (config/chapar.yaml documents every key).
server:
  listen: $listen
callbacks:
  secret: {env: CHAPAR_CALLBACK_SECRET}   # Kannel's delivery reports come back to the server's port
channels:
  sms: {gateway: kannel-demo}             # IM: the demo's Telegram-compatible gateway (--demo)
  email: {gateway: mail-demo}
  fax: {gateway: hylafax-demo}
gateways:
  mail-demo:
    type: smtp
    url: $SMTP_URL
    starttls: false                       # a server on loopback
    from: "بانک چاپار <alerts@chapar.example>"
    rate: 50/s
  hylafax-demo:
    type: hylafax
    url: $HYLAFAX_URL
    username: $HYLAFAX_USER
    report-interval: 10s
    bank-name: بانک چاپار
    address: تهران، خیابان ولیعصر · Chapar Bank, Valiasr Ave, Tehran
    rate: 5/s
  kannel-demo:
    type: kannel
    url: $KANNEL_SENDSMS_URL
    username: $KANNEL_USERNAME
    password: {env: KANNEL_PASSWORD}
    from: CHAPAR
    rate: 100/s
YAML
"$chapar" config check --config "$data/demo/chapar.yaml"
echo
echo "== chapar serve --demo (Ctrl-C stops it; data in $data; see README.md for every command)"
echo "   Persian SMS as the fake SMSC received them: grep 'Got message' $peers/kannel/fakesmsc.out"
echo "   Email as the SMTP server stored them:         ls $SMTP_MAILDIR/new"
echo "   Faxes queued in HylaFAX (PDFs in docq):        faxstat -h $HYLAFAX_HOST_PORT -s; ls $HYLAFAX_SPOOL/docq"
"$chapar" serve --demo --config "$data/demo/chapar.yaml" --data-dir "$data"
