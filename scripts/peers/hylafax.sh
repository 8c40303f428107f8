#!/usr/bin/env bash
# HylaFAX for fax tests: the job scheduler (faxq) and the client/server protocol (hfaxd) on
# 127.0.0.1, with a private spool and NO modem.
#
#   hylafax.sh start DIR   copy the spool skeleton (/var/spool/hylafax) and the configuration
#                          (/etc/hylafax) into DIR/spool, allow 127.0.0.1 in hosts.hfaxd, start faxq,
#                          then hfaxd on a free port; wait (≤ 15 s) for faxq's FIFO and hfaxd's
#                          `220` greeting; write DIR/peer.env
#   hylafax.sh stop DIR    stop hfaxd, then faxq, by their PID files and wait (bounded) for them
#
# Jobs are accepted and queued (DIR/spool/sendq/qN, documents in DIR/spool/docq) and then wait
# for a modem forever (state W); a job submitted with `JPARM LASTTIME 000001` is killed by faxq
# instead and ends in DIR/spool/doneq as failed ("Kill time expired"). The system spool
# (/var/spool/hylafax) is only ever read, never used. DIR/peer.env (shell syntax) holds
# HYLAFAX_HOST_PORT (127.0.0.1:PORT, for sendfax -h / faxstat -h), HYLAFAX_HOST, HYLAFAX_PORT,
# HYLAFAX_URL (ftp://127.0.0.1:PORT, for libcurl with --ftp-method nocwd), HYLAFAX_USER (any
# user name works from 127.0.0.1; no password) and HYLAFAX_SPOOL.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

faxq=/usr/sbin/faxq
hfaxd=/usr/sbin/hfaxd
ready_seconds=15

usage() { die "usage: $0 start|stop DIR"; }
[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
spool=$dir/spool

fifo_ready() { [ -p "$spool/FIFO" ]; }

# hfaxd answers a new connection with `220 <host> server (HylaFAX (tm) Version …) ready.`
greeting() {
    timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && head -n 1 <&3' _ "$port" 2>/dev/null
}
hfaxd_ready() { greeting | grep -q '^220 '; }

fail_start() {
    echo "hylafax peer in $dir: $*" >&2
    show_tail "$dir/faxq.out" "$dir/hfaxd.out"
    "$0" stop "$dir" || true
    exit 1
}

case $cmd in
start)
    for b in "$faxq" "$hfaxd"; do
        [ -x "$b" ] || die "$b is missing: run scripts/install-deps.sh (Debian packages hylafax-server, hylafax-client)"
    done
    [ -d /var/spool/hylafax ] && [ -d /etc/hylafax ] || die "HylaFAX's spool skeleton or /etc/hylafax is missing: reinstall hylafax-server"
    [ ! -f "$dir/faxq.pid" ] || die "$dir already has a HylaFAX peer (faxq.pid): '$0 stop $dir' first"
    rm -rf "$spool"
    # cp -a keeps the owners (uucp) and modes the daemons expect; etc/ is what Debian's init
    # script would bind-mount into the spool (the daemons chroot-style resolve etc/ inside it).
    cp -a /var/spool/hylafax "$spool"
    cp -a /etc/hylafax/. "$spool/etc/"
    # Any user on loopback, no password (hosts.hfaxd: a regex per line matched against
    # `user@host`, the host as an address or its name); nothing else may connect.
    printf '%s\n' '^[^@]*@127\.0\.0\.1$' '^[^@]*@localhost$' >"$spool/etc/hosts.hfaxd"
    chown --reference=/etc/hylafax/hosts.hfaxd "$spool/etc/hosts.hfaxd"
    chmod 600 "$spool/etc/hosts.hfaxd"
    # Whatever the skeleton holds besides the empty queues (a FIFO, old jobs) is not ours.
    rm -f "$spool"/sendq/q* "$spool"/doneq/q* "$spool"/docq/doc* "$spool/FIFO"
    port=$(free_ports 1)
    echo "port=$port" >"$dir/ports"
    : >"$dir/faxq.out"
    : >"$dir/hfaxd.out"
    # -D / -d: stay in the foreground, so the PID is the daemon's and stop can wait for it.
    spawn "$dir/faxq.out" "$faxq" -D -q "$spool"
    echo "$spawned_pid" >"$dir/faxq.pid"
    wait_until "$ready_seconds" fifo_ready || fail_start "faxq did not create $spool/FIFO within $ready_seconds s"
    # -l must come before -i, or hfaxd binds every interface.
    spawn "$dir/hfaxd.out" "$hfaxd" -d -q "$spool" -l 127.0.0.1 -i "$port"
    echo "$spawned_pid" >"$dir/hfaxd.pid"
    wait_until "$ready_seconds" hfaxd_ready || fail_start "hfaxd did not greet on 127.0.0.1:$port within $ready_seconds s"
    cat >"$dir/peer.env" <<ENV
HYLAFAX_HOST=127.0.0.1
HYLAFAX_PORT=$port
HYLAFAX_HOST_PORT=127.0.0.1:$port
HYLAFAX_URL=ftp://127.0.0.1:$port
HYLAFAX_USER=chapar
HYLAFAX_SPOOL=$spool
ENV
    echo "hylafax ready: hfaxd 127.0.0.1:$port, faxq, spool $spool"
    ;;
stop)
    # hfaxd first: no client can submit while faxq goes away.
    stop_pidfile "$dir/hfaxd.pid" hfaxd
    stop_pidfile "$dir/faxq.pid" faxq
    rm -f "$dir/peer.env"
    ;;
*) usage ;;
esac
