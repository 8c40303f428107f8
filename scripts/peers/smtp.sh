#!/usr/bin/env bash
# A real SMTP server for email tests: aiosmtpd (scripts/peers/smtp_peer.py) on a free 127.0.0.1 port,
# storing every accepted message in a Maildir.
#
#   smtp.sh start DIR [--auth USER:PASSWORD] [--no-store]
#                      start it (≤ 15 s until it accepts connections), write DIR/peer.env with
#                      SMTP_URL (smtp://127.0.0.1:PORT), SMTP_PORT and SMTP_MAILDIR (DIR/Maildir)
#   smtp.sh stop DIR   stop it by its PID file (bounded wait)
#
# Faults are chosen by the recipient (reject550@, busy421@, temp451@, flaky451@, drop@, silent@):
# see smtp_peer.py. aiosmtpd is Debian's python3-aiosmtpd, importable from /usr/bin/python3 only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ready_seconds=15

[ $# -ge 2 ] || die "usage: $0 start|stop DIR [--auth USER:PASSWORD] [--no-store]"
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
shift 2

case $cmd in
start)
    /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || die "aiosmtpd is missing: run scripts/install-deps.sh (Debian package python3-aiosmtpd)"
    [ ! -f "$dir/smtp.pid" ] || die "$dir already has an SMTP peer (smtp.pid): '$0 stop $dir' first"
    port=$(free_ports 1)
    spawn "$dir/smtp.out" /usr/bin/python3 "$here/smtp_peer.py" --port "$port" --maildir "$dir/Maildir" "$@"
    echo "$spawned_pid" >"$dir/smtp.pid"
    if ! wait_until "$ready_seconds" grep -q "^ready $port" "$dir/smtp.out"; then
        show_tail "$dir/smtp.out"
        "$0" stop "$dir" || true
        die "the SMTP peer did not listen on 127.0.0.1:$port within $ready_seconds s"
    fi
    cat >"$dir/peer.env" <<ENV
SMTP_URL=smtp://127.0.0.1:$port
SMTP_PORT=$port
SMTP_MAILDIR=$dir/Maildir
ENV
    echo "smtp peer on 127.0.0.1:$port (pid $(cat "$dir/smtp.pid")), Maildir $dir/Maildir"
    ;;
stop)
    stop_pidfile "$dir/smtp.pid" smtp_peer.py 10
    ;;
*)
    die "usage: $0 start|stop DIR [--auth USER:PASSWORD] [--no-store]"
    ;;
esac
