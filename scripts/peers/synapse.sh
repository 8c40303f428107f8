#!/usr/bin/env bash
# Matrix Synapse for IM delivery tests: SQLite, 127.0.0.1 only, a free port, no federation.
#
#   synapse.sh start DIR   write DIR/homeserver.yaml, start Synapse, wait (≤ 60 s) for /health,
#                          register a bot (admin) and a recipient through the shared-secret admin
#                          API, create a private room the recipient has joined, write DIR/peer.env
#   synapse.sh stop DIR    stop Synapse by its PID file and wait (bounded) for it to exit
#
# DIR/peer.env (shell syntax): MATRIX_URL, MATRIX_BOT_USER, MATRIX_BOT_TOKEN, MATRIX_ROOM_ID,
# MATRIX_RECIPIENT, MATRIX_RECIPIENT_TOKEN. Read the room with scripts/peers/matrix_messages.py.
# Synapse itself comes from scripts/install-deps.sh (a venv in ${CHAPAR_PEERS_HOME:-/var/cache/chapar-peers}).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

venv=${CHAPAR_PEERS_HOME:-/var/cache/chapar-peers}/synapse-venv
ready_seconds=60

usage() { die "usage: $0 start|stop DIR"; }
[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)

health() { curl -sf --max-time 2 "http://127.0.0.1:$port/health" >/dev/null; }

fail_start() {
    echo "synapse peer in $dir: $*" >&2
    show_tail "$dir/synapse.out" "$dir/homeserver.log"
    "$0" stop "$dir" || true
    exit 1
}

case $cmd in
start)
    [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import synapse' 2>/dev/null ||
        die "Matrix Synapse is not installed in $venv: run scripts/install-deps.sh"
    command -v curl >/dev/null || die "curl is missing: run scripts/install-deps.sh"
    [ ! -f "$dir/synapse.pid" ] || die "$dir already has a Synapse peer (synapse.pid): '$0 stop $dir' first"
    port=$(free_ports 1)
    shared_secret=chapar-test-registration-secret
    mkdir -p "$dir/data"
    cat >"$dir/homeserver.yaml" <<YAML
# Written by scripts/peers/synapse.sh: test-only Synapse on 127.0.0.1:$port, SQLite, no federation.
server_name: "localhost"
pid_file: "$dir/data/homeserver.pid"
listeners:
  - port: $port
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "$dir/data/homeserver.db"
log_config: "$dir/log.config"
media_store_path: "$dir/data/media_store"
signing_key_path: "$dir/signing.key"
registration_shared_secret: "$shared_secret"
macaroon_secret_key: "chapar-test-macaroon-secret"
form_secret: "chapar-test-form-secret"
report_stats: false
enable_metrics: false
presence:
  enabled: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
enable_registration: false
url_preview_enabled: false
# Tests hammer the API: lift the default rate limits.
rc_message: {per_second: 1000, burst_count: 1000}
rc_registration: {per_second: 1000, burst_count: 1000}
rc_login:
  address: {per_second: 1000, burst_count: 1000}
  account: {per_second: 1000, burst_count: 1000}
  failed_attempts: {per_second: 1000, burst_count: 1000}
rc_joins:
  local: {per_second: 1000, burst_count: 1000}
rc_invites:
  per_room: {per_second: 1000, burst_count: 1000}
  per_user: {per_second: 1000, burst_count: 1000}
  per_issuer: {per_second: 1000, burst_count: 1000}
YAML
    cat >"$dir/log.config" <<YAML
version: 1
formatters: {precise: {format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'}}
handlers: {file: {class: logging.FileHandler, formatter: precise, filename: "$dir/homeserver.log"}}
loggers: {synapse.storage.SQL: {level: WARNING}}
root: {level: INFO, handlers: [file]}
disable_existing_loggers: false
YAML
    # The signing key, written here rather than by synapse's generate_signing_key (which costs a
    # second importing synapse): "ed25519 <key id> <unpadded base64 of a 32-byte seed>".
    [ -f "$dir/signing.key" ] ||
        printf 'ed25519 a_%s %s\n' "$(LC_ALL=C tr -dc 'A-Za-z' </dev/urandom | head -c 4)" \
            "$(head -c 32 /dev/urandom | base64 -w0 | tr -d '=')" >"$dir/signing.key"
    spawn "$dir/synapse.out" "$venv/bin/python" -m synapse.app.homeserver -c "$dir/homeserver.yaml"
    echo "$spawned_pid" >"$dir/synapse.pid"
    wait_until "$ready_seconds" health || fail_start "/health did not answer on port $port within $ready_seconds s"
    "$venv/bin/python" "$here/synapse_setup.py" "http://127.0.0.1:$port" "$shared_secret" >"$dir/peer.env.new" ||
        fail_start "registering the users or creating the room failed"
    mv "$dir/peer.env.new" "$dir/peer.env"
    echo "synapse ready: http://127.0.0.1:$port ($dir)"
    ;;
stop)
    stop_pidfile "$dir/synapse.pid" synapse.app.homeserver 15
    rm -f "$dir/peer.env"
    ;;
*) usage ;;
esac
