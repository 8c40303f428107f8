#!/usr/bin/env bash
# Kannel SMS gateway for delivery tests: bearerbox + smsbox + fakesmsc, loopback only, free ports.
#
#   kannel.sh start DIR       write DIR/kannel.conf, start the three processes, wait (≤ 15 s) until
#                             the status page shows the fake SMSC online, write DIR/peer.env
#   kannel.sh stop DIR        stop every process by its PID file and wait (bounded) for it to exit
#   kannel.sh stop-smsc DIR   stop only fakesmsc: MTs then queue in bearerbox
#   kannel.sh start-smsc DIR  start fakesmsc again (≤ 15 s until online): the queue drains to it
#
# DIR/fakesmsc.out gets a line `Got message N: <from to text|ucs-2|data payload>` per MT
# (N restarts at 1 when fakesmsc restarts). DIR/peer.env (shell syntax) holds KANNEL_SENDSMS_URL,
# KANNEL_USERNAME, KANNEL_PASSWORD, KANNEL_ADMIN_URL, KANNEL_ADMIN_PASSWORD, KANNEL_STATUS_PASSWORD,
# KANNEL_SMSC_ID. Delivery reports: pass dlr-mask and dlr-url (any http://127.0.0.1 URL) per
# request; smsbox calls it (dlr-storage = internal). The fake SMSC only ever reports success.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

bearerbox=/usr/sbin/bearerbox
smsbox=/usr/sbin/smsbox
fakesmsc=/usr/lib/kannel/test/fakesmsc
ready_seconds=15

usage() { die "usage: $0 start|stop|stop-smsc|start-smsc DIR"; }
[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)

status_page() {
    curl -sf --max-time 2 "http://127.0.0.1:$admin_port/status.txt?password=$status_password"
}
smsc_online() { status_page 2>/dev/null | grep -q "FAKE:$smsc_port (online"; }
smsc_offline() { ! smsc_online; }
smsbox_connected() { status_page 2>/dev/null | grep -q 'smsbox:.*(on-line'; }
sendsms_up() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$sendsms_port/"; }

load_env() {
    [ -f "$dir/ports" ] || die "$dir has no running Kannel peer (no $dir/ports): run '$0 start $dir' first"
    . "$dir/ports"
}

start_fakesmsc() {
    # -m 0: inject no MO; stay connected and print every MT. The fake SMSC serves ONE client at a
    # time, so readiness is read from the status page, never by connecting to its port.
    spawn "$dir/fakesmsc.out" "$fakesmsc" -H 127.0.0.1 -r "$smsc_port" -i 1 -m 0 "0 0 text nop"
    echo "$spawned_pid" >"$dir/fakesmsc.pid"
}

fail_start() {
    echo "kannel peer in $dir: $*" >&2
    show_tail "$dir/bearerbox.out" "$dir/smsbox.out" "$dir/fakesmsc.out"
    "$0" stop "$dir" || true
    exit 1
}

case $cmd in
start)
    for b in "$bearerbox" "$smsbox" "$fakesmsc"; do
        [ -x "$b" ] || die "$b is missing: run scripts/install-deps.sh (Debian packages kannel, kannel-extras)"
    done
    command -v curl >/dev/null || die "curl is missing: run scripts/install-deps.sh"
    [ ! -f "$dir/bearerbox.pid" ] || die "$dir already has a Kannel peer (bearerbox.pid): '$0 stop $dir' first"
    read -r -d '' admin_port smsbox_port sendsms_port smsc_port < <(free_ports 4) || true
    admin_password=chapar-admin
    status_password=chapar-status
    cat >"$dir/ports" <<ENV
admin_port=$admin_port
smsbox_port=$smsbox_port
sendsms_port=$sendsms_port
smsc_port=$smsc_port
admin_password=$admin_password
status_password=$status_password
ENV
    cat >"$dir/kannel.conf" <<CONF
# Written by scripts/peers/kannel.sh: bearerbox + smsbox + fake SMSC on 127.0.0.1 only.
group = core
admin-port = $admin_port
admin-interface = 127.0.0.1
admin-password = $admin_password
status-password = $status_password
admin-allow-ip = "127.0.0.1"
smsbox-port = $smsbox_port
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "$dir/bearerbox.log"
log-level = 0
access-log = "$dir/access.log"
store-type = file
store-location = "$dir/kannel.store"
dlr-storage = internal

# The fake SMSC: bearerbox listens on smsc port, the fakesmsc client connects to it.
group = smsc
smsc = fake
smsc-id = FAKE
host = 127.0.0.1
port = $smsc_port
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $smsbox_port
sendsms-port = $sendsms_port
sendsms-interface = 127.0.0.1
global-sender = 12345
log-file = "$dir/smsbox.log"
log-level = 0
access-log = "$dir/smsbox-access.log"
mo-recode = true

group = sendsms-user
username = chapar
password = chapar-test
max-messages = 10
concatenation = true

# MO messages (none are injected by default) get no reply.
group = sms-service
keyword = default
catch-all = true
text = ""
max-messages = 0
CONF
    : >"$dir/fakesmsc.out"
    spawn "$dir/bearerbox.out" "$bearerbox" -v 1 "$dir/kannel.conf"
    echo "$spawned_pid" >"$dir/bearerbox.pid"
    wait_until "$ready_seconds" status_page >/dev/null || fail_start "bearerbox's status page did not answer on port $admin_port within $ready_seconds s"
    start_fakesmsc
    spawn "$dir/smsbox.out" "$smsbox" -v 1 "$dir/kannel.conf"
    echo "$spawned_pid" >"$dir/smsbox.pid"
    wait_until "$ready_seconds" smsc_online || fail_start "the fake SMSC did not come online within $ready_seconds s"
    wait_until "$ready_seconds" smsbox_connected || fail_start "smsbox did not connect to bearerbox within $ready_seconds s"
    wait_until "$ready_seconds" sendsms_up || fail_start "smsbox's sendsms port $sendsms_port did not answer within $ready_seconds s"
    cat >"$dir/peer.env" <<ENV
KANNEL_SENDSMS_URL=http://127.0.0.1:$sendsms_port/cgi-bin/sendsms
KANNEL_USERNAME=chapar
KANNEL_PASSWORD=chapar-test
KANNEL_ADMIN_URL=http://127.0.0.1:$admin_port
KANNEL_ADMIN_PASSWORD=$admin_password
KANNEL_STATUS_PASSWORD=$status_password
KANNEL_SMSC_ID=FAKE
ENV
    echo "kannel ready: sendsms http://127.0.0.1:$sendsms_port, admin http://127.0.0.1:$admin_port ($dir)"
    ;;
stop)
    # smsbox first so it does not log bearerbox's departure as an error; then the rest.
    stop_pidfile "$dir/smsbox.pid" smsbox
    stop_pidfile "$dir/fakesmsc.pid" fakesmsc
    stop_pidfile "$dir/bearerbox.pid" bearerbox
    rm -f "$dir/peer.env"
    ;;
stop-smsc)
    load_env
    stop_pidfile "$dir/fakesmsc.pid" fakesmsc
    wait_until "$ready_seconds" smsc_offline || die "bearerbox still shows the fake SMSC online $ready_seconds s after fakesmsc stopped"
    ;;
start-smsc)
    load_env
    [ ! -f "$dir/fakesmsc.pid" ] || die "fakesmsc already runs in $dir (fakesmsc.pid)"
    start_fakesmsc
    wait_until "$ready_seconds" smsc_online || { show_tail "$dir/fakesmsc.out"; die "the fake SMSC did not come online within $ready_seconds s"; }
    ;;
*) usage ;;
esac
