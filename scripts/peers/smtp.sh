#!/usr/bin/env bash
# A real SMTP server for email tests: aiosmtpd (scripts/peers/smtp_peer.py) on a free 127.0.0.1 port,
# storing every accepted message in a Maildir.
#
#   smtp.sh start DIR [--auth USER:PASSWORD] [--no-store] [--tls starttls|smtps]
#                      start it (≤ 15 s until it accepts connections), write DIR/peer.env with
#                      SMTP_URL (smtp:// or, with --tls smtps, smtps://127.0.0.1:PORT), SMTP_PORT,
#                      SMTP_MAILDIR (DIR/Maildir) and SMTP_CA_FILE (the self-signed certificate
#                      made for --tls, else empty)
#   smtp.sh stop DIR   stop it by its PID file (bounded wait)
#
# Faults are chosen by the recipient (reject550@, busy421@, temp451@, flaky451@, drop@, silent@):
# see smtp_peer.py. aiosmtpd is Debian's python3-aiosmtpd, importable from /usr/bin/python3 only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ready_seconds=15

[ $# -ge 2 ] || die "usage: $0 start|stop DIR [--auth USER:PASSWORD] [--no-store] [--tls starttls|smtps]"
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
shift 2

case $cmd in
start)
    /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || die "aiosmtpd is missing: run scripts/install-deps.sh (Debian package python3-aiosmtpd)"
    [ ! -f "$dir/smtp.pid" ] || die "$dir already has an SMTP peer (smtp.pid): '$0 stop $dir' first"
    tls="" options=()
    while [ $# -gt 0 ]; do
        case $1 in
        --tls) tls=$2; shift 2 ;;
        --auth) options+=(--auth "$2"); shift 2 ;;
        --no-store) options+=(--no-store); shift ;;
        *) die "unknown option $1; use --auth USER:PASSWORD, --no-store, --tls starttls|smtps" ;;
        esac
    done
    scheme=smtp ca_file=""
    if [ -n "$tls" ]; then
        [ "$tls" = starttls ] || [ "$tls" = smtps ] || die "--tls $tls: use starttls or smtps"
        command -v openssl >/dev/null || die "openssl is missing: run scripts/install-deps.sh"
        # A self-signed certificate for 127.0.0.1 that the client trusts through SMTP_CA_FILE.
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
            -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
            -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 || die "openssl could not make a test certificate in $dir"
        options+=(--tls "$tls" --cert "$dir/cert.pem" --key "$dir/key.pem")
        ca_file=$dir/cert.pem
        [ "$tls" = smtps ] && scheme=smtps
    fi
    port=$(free_ports 1)
    spawn "$dir/smtp.out" /usr/bin/python3 "$here/smtp_peer.py" --port "$port" --maildir "$dir/Maildir" ${options[@]+"${options[@]}"}
    echo "$spawned_pid" >"$dir/smtp.pid"
    if ! wait_until "$ready_seconds" grep -q "^ready $port" "$dir/smtp.out"; then
        show_tail "$dir/smtp.out"
        "$0" stop "$dir" || true
        die "the SMTP peer did not listen on 127.0.0.1:$port within $ready_seconds s"
    fi
    cat >"$dir/peer.env" <<ENV
SMTP_URL=$scheme://127.0.0.1:$port
SMTP_PORT=$port
SMTP_MAILDIR=$dir/Maildir
SMTP_CA_FILE=$ca_file
ENV
    echo "smtp peer on $scheme://127.0.0.1:$port (pid $(cat "$dir/smtp.pid")), Maildir $dir/Maildir"
    ;;
stop)
    stop_pidfile "$dir/smtp.pid" smtp_peer.py 10
    ;;
*)
    die "usage: $0 start|stop DIR [--auth USER:PASSWORD] [--no-store] [--tls starttls|smtps]"
    ;;
esac
