# Shared helpers for the peer scripts (sourced, not run). Bash only.
# Every peer binds 127.0.0.1, takes free ports, starts within a bound and is stopped by its PID.

# Loopback traffic must never go through a proxy a developer's shell may have set.
export NO_PROXY='*' no_proxy='*'
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

# A Python 3 for the stdlib-only helpers: $CHAPAR_PYTHON, Debian's, or the first on PATH.
if [ -n "${CHAPAR_PYTHON:-}" ]; then
    peer_python=$CHAPAR_PYTHON
elif [ -x /usr/bin/python3 ]; then
    peer_python=/usr/bin/python3
else
    peer_python=$(command -v python3) || { echo "no python3 found: run scripts/install-deps.sh" >&2; exit 1; }
fi

# die MESSAGE...: print to stderr and fail.
die() { echo "$*" >&2; exit 1; }

# free_ports N: prints N distinct free TCP ports on 127.0.0.1, one a line. All N sockets are held
# open together while choosing, so the N ports differ; another process may still take one before
# the peer binds it, which the callers' bounded readiness checks turn into a clear failure.
free_ports() {
    "$peer_python" - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
PY
}

# spawn OUT COMMAND...: starts COMMAND as a daemon of this peer and sets spawned_pid. Its stdin
# is /dev/null, stdout and stderr are appended to OUT, it inherits no other descriptor, and every
# signal is at its default and unblocked (env --default-signal). Whoever ran this script may have
# left us descriptors (a test runner's pipes, Foundation's exit-watch socket) that a daemon must
# not keep open, and a blocked SIGTERM, which would make `stop` wait for the SIGKILL.
spawn() {
    local out=$1 fd
    shift
    (
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec env --default-signal "$@" </dev/null >>"$out" 2>&1
    ) &
    spawned_pid=$!
}

# now_ms: milliseconds since the epoch.
now_ms() { date +%s%3N; }

# wait_until SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds (0) or SECONDS pass (1).
wait_until() {
    local deadline=$(($(now_ms) + $1 * 1000))
    shift
    until "$@"; do
        (($(now_ms) < deadline)) || return 1
        sleep 0.1
    done
}

# pid_alive PID: true while PID runs (a zombie counts as exited).
pid_alive() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "$state" != Z ]
}

# stop_pidfile FILE NAME [SECONDS]: SIGTERM the PID in FILE if it is still the program NAME
# (a recycled PID is left alone), wait up to SECONDS (default 10) for it to exit, then SIGKILL.
# Removes FILE.
stop_pidfile() {
    local file=$1 name=$2 bound=${3:-10} pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name"; then
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_until "$bound" eval '! pid_alive '"$pid"; then
            echo "$name (pid $pid) did not exit ${bound} s after SIGTERM: SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            wait_until 5 eval '! pid_alive '"$pid" || true
        fi
    fi
    rm -f "$file"
}

# show_tail FILE...: the last lines of each log, for a failure message.
show_tail() {
    local f
    for f in "$@"; do
        [ -f "$f" ] && { echo "--- last lines of $f" >&2; tail -n 20 "$f" >&2; }
    done
    return 0
}
