#!/usr/bin/env bash
# bench-activemq.sh: durable-write baseline. Compares ActiveMQ 5.17 (Debian package, KahaDB,
# fsync per persistent send) with `chapar bench log` on the same machine, in the same run.
#
#   bash scripts/bench-activemq.sh [--amq-messages N] [--size S] [--records M] [--producers P]
#                                  [--amq-batch B] [--runs R] [--no-consume] [--help]
#
# Everything talks to 127.0.0.1 only. The broker runs from a private temp dir that is removed on
# exit; no process is left behind. Env: CHAPAR=path/to/chapar (default .build/release/chapar,
# built with `swift build -c release --product chapar` if missing), JAVA=java.
set -euo pipefail

AMQ_N=20000       # ActiveMQ persistent messages per mode and run
SIZE=100          # message / record payload bytes (both systems)
RECORDS=1000000   # Chapar records
PRODUCERS=4       # Chapar producers, and ActiveMQ --parallelThreads
AMQ_BATCH=1000    # ActiveMQ transacted mode: commit (= 1 fsync) every B sends; 0 = skip this mode
RUNS=1            # ActiveMQ repetitions per mode (median is reported; fsync rates vary ~2x)
CONSUME=1         # also consume the sync-mode messages back and time it
START_TIMEOUT=60  # seconds for the broker to log "started"
STEP_TIMEOUT=${STEP_TIMEOUT:-900}   # seconds for any single producer/consumer/bench step
BUILD_TIMEOUT=${BUILD_TIMEOUT:-1800} # seconds for `swift build` when CHAPAR is missing

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "bench-activemq: error: $*" >&2; exit 1; }
log() { echo "[$(date +%T)] $*" >&2; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }
isnum() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --amq-messages) AMQ_N=${2:-}; shift 2 || die "$1 needs a value" ;;
    --size)         SIZE=${2:-};  shift 2 || die "$1 needs a value" ;;
    --records)      RECORDS=${2:-}; shift 2 || die "$1 needs a value" ;;
    --producers)    PRODUCERS=${2:-}; shift 2 || die "$1 needs a value" ;;
    --amq-batch)    AMQ_BATCH=${2:-}; shift 2 || die "$1 needs a value" ;;
    --runs)         RUNS=${2:-}; shift 2 || die "$1 needs a value" ;;
    --no-consume)   CONSUME=0; shift ;;
    -h|--help)      usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
for v in AMQ_N SIZE RECORDS PRODUCERS RUNS; do isnum "${!v}" || die "$v must be a positive integer (got '${!v}')"; done
[[ $AMQ_BATCH =~ ^[0-9]+$ ]] || die "AMQ_BATCH must be a non-negative integer (got '$AMQ_BATCH')"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JAVA=${JAVA:-java}
AMQ_HOME=/usr/share/activemq
AMQ_JAR=$AMQ_HOME/bin/activemq.jar
SCRIPT_T0=$(date +%s.%N)

# ---------------------------------------------------------------- cleanup ---
D=""; BROKER_PID=""; CHILD=""
stop_broker() {
  [[ -n $BROKER_PID ]] || return 0
  if kill -0 "$BROKER_PID" 2>/dev/null; then
    kill "$BROKER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$BROKER_PID" 2>/dev/null && { log "broker did not stop in 10 s, SIGKILL"; kill -9 "$BROKER_PID" 2>/dev/null || true; }
    wait "$BROKER_PID" 2>/dev/null || true
  fi
  BROKER_PID=""
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $CHILD ]] && kill -0 "$CHILD" 2>/dev/null; then
    kill "$CHILD" 2>/dev/null || true; sleep 0.5; kill -9 "$CHILD" 2>/dev/null || true
  fi
  stop_broker
  [[ -n $D && -d $D ]] && rm -rf "$D"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run "$@" bounded by STEP_TIMEOUT, in the background so the traps above stay responsive.
bounded() {
  local rc=0
  timeout --kill-after=10 "$STEP_TIMEOUT" "$@" & CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  [[ $rc -eq 124 || $rc -eq 137 ]] && echo "bench-activemq: timed out after ${STEP_TIMEOUT}s: $*" >&2
  return "$rc"
}

for t in python3 timeout; do command -v $t >/dev/null || die "$t not found"; done

# ------------------------------------------- 0. resolve/build chapar first ---
if [[ -z ${CHAPAR:-} ]]; then
  CHAPAR=$REPO/.build/release/chapar
  if [[ ! -x $CHAPAR ]]; then
    command -v swift >/dev/null || die "$CHAPAR missing and swift not found (set CHAPAR=path)"
    log "building chapar (swift build -c release --product chapar)..."
    STEP_TIMEOUT=$BUILD_TIMEOUT bounded swift build --package-path "$REPO" -c release --product chapar >&2 || die "swift build failed"
  fi
fi
[[ -x $CHAPAR ]] || die "CHAPAR=$CHAPAR is not an executable"
# ------------------------------------------------------- 1. install ActiveMQ ---
if [[ ! -f $AMQ_JAR ]]; then
  [[ $(id -u) -eq 0 ]] || die "ActiveMQ is not installed and we are not root: apt-get install activemq"
  log "installing activemq from Debian (apt-get)..."
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y activemq; }
  if ! apt_install >"${TMPDIR:-/tmp}/bench-activemq-apt.log" 2>&1; then
    log "install failed; running apt-get update and retrying"
    timeout 600 apt-get -o DPkg::Lock::Timeout=600 update >>"${TMPDIR:-/tmp}/bench-activemq-apt.log" 2>&1 || true
    apt_install >>"${TMPDIR:-/tmp}/bench-activemq-apt.log" 2>&1 \
      || { tail -20 "${TMPDIR:-/tmp}/bench-activemq-apt.log" >&2; die "apt-get install activemq failed"; }
  fi
  rm -f "${TMPDIR:-/tmp}/bench-activemq-apt.log"
  [[ -f $AMQ_JAR ]] || die "activemq installed but $AMQ_JAR is missing"
  # Without /usr/sbin/policy-rc.d the package starts its own service: stop it, we run a private broker.
  if pgrep -u activemq java >/dev/null 2>&1; then
    log "stopping the activemq service that the package install started"
    service activemq stop >/dev/null 2>&1 || true
    for _ in $(seq 1 100); do pgrep -u activemq java >/dev/null 2>&1 || break; sleep 0.1; done
    for pid in $(pgrep -u activemq java 2>/dev/null || true); do kill -9 "$pid" 2>/dev/null || true; done
  fi
fi
pgrep -u activemq java >/dev/null 2>&1 && log "warning: a system activemq service is running; it will compete for CPU/disk"
command -v "$JAVA" >/dev/null || die "java not found (activemq should have pulled in a JRE)"

# ------------------------------------------------------------- 2. broker ---
port_free() {
  if command -v ss >/dev/null; then ! ss -ltnH "( sport = :$1 )" 2>/dev/null | grep -q .
  else ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; fi
}
PORT=""
for p in 61616 $(for _ in $(seq 1 50); do echo $((20000 + RANDOM % 40000)); done); do
  if port_free "$p"; then PORT=$p; break; fi
done
[[ -n $PORT ]] || die "no free TCP port found"

D=$(mktemp -d "${TMPDIR:-/tmp}/chapar-amq.XXXXXX")
mkdir -p "$D/conf" "$D/data" "$D/tmp" "$D/tooldata"
cat >"$D/conf/activemq.xml" <<EOF
<beans
  xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
    <bean class="org.springframework.beans.factory.config.PropertyPlaceholderConfigurer"/>
    <broker xmlns="http://activemq.apache.org/schema/core" useJmx="false" brokerName="bench"
            persistent="true" dataDirectory="\${activemq.data}">
        <persistenceAdapter>
            <!-- enableJournalDiskSyncs=true (default): fsync per persistent send -->
            <kahaDB directory="\${activemq.data}/kahadb"/>
        </persistenceAdapter>
        <systemUsage><systemUsage>
            <memoryUsage><memoryUsage percentOfJvmHeap="70"/></memoryUsage>
            <storeUsage><storeUsage limit="4 gb"/></storeUsage>
            <tempUsage><tempUsage limit="1 gb"/></tempUsage>
        </systemUsage></systemUsage>
        <transportConnectors>
            <transportConnector name="openwire" uri="tcp://127.0.0.1:$PORT"/>
        </transportConnectors>
    </broker>
</beans>
EOF
cat >"$D/conf/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, logfile, stdout
log4j.logger.org.apache.activemq.spring=WARN
log4j.logger.org.springframework=WARN
log4j.logger.org.apache.xbean=WARN
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=%5p | %m%n
log4j.appender.logfile=org.apache.log4j.RollingFileAppender
log4j.appender.logfile.file=${activemq.data}/activemq.log
log4j.appender.logfile.maxFileSize=1024KB
log4j.appender.logfile.maxBackupIndex=5
log4j.appender.logfile.layout=org.apache.log4j.PatternLayout
log4j.appender.logfile.layout.ConversionPattern=%d | %-5p | %m | %c | %t%n
EOF

log "starting ActiveMQ (KahaDB, fsync per send) on 127.0.0.1:$PORT in $D"
T0=$(date +%s.%N)
"$JAVA" -Xms256m -Xmx512m -Djava.awt.headless=true -Djava.io.tmpdir="$D/tmp" \
  -Dlog4j.configuration="file:$D/conf/log4j.properties" \
  --add-reads=java.xml=java.logging --add-opens java.base/java.lang=ALL-UNNAMED \
  --add-opens java.base/java.util=ALL-UNNAMED --add-opens java.base/java.net=ALL-UNNAMED \
  --add-opens java.base/java.util.concurrent=ALL-UNNAMED --add-opens java.naming/javax.naming.spi=ALL-UNNAMED \
  -Dactivemq.classpath="$D/conf" -Dactivemq.home="$AMQ_HOME" -Dactivemq.base="$D" \
  -Dactivemq.conf="$D/conf" -Dactivemq.data="$D/data" \
  -jar "$AMQ_JAR" start "xbean:file:$D/conf/activemq.xml" >"$D/activemq.out" 2>&1 </dev/null &
BROKER_PID=$!
ready=0
for _ in $(seq 1 $((START_TIMEOUT * 10))); do
  if grep -qE 'Apache ActiveMQ [0-9.]+ \(.*\) started' "$D/activemq.out"; then ready=1; break; fi
  kill -0 "$BROKER_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ $ready -ne 1 ]]; then
  tail -25 "$D/activemq.out" >&2 || true
  kill -0 "$BROKER_PID" 2>/dev/null && die "ActiveMQ did not start within ${START_TIMEOUT}s" \
                                     || die "ActiveMQ exited during startup (log above)"
fi
log "broker up in $(elapsed "$T0") s (pid $BROKER_PID)"

# --------------------------------------------------- 3. ActiveMQ producers ---
AMQ_TOOL=("$JAVA" -Xmx256m -Djava.io.tmpdir="$D/tmp" -Dactivemq.home="$AMQ_HOME" -Dactivemq.base="$D"
          -Dactivemq.conf="$D/conf" -Dactivemq.data="$D/tooldata" -jar "$AMQ_JAR")
URL="tcp://127.0.0.1:$PORT"

HAS_PARALLEL=0
if bounded "${AMQ_TOOL[@]}" producer --help >"$D/help.out" 2>&1 && grep -q -- '--parallelThreads' "$D/help.out"; then
  HAS_PARALLEL=1
fi

# Semantics of the shipped tool (activemq-console ProducerCommand): --messageCount is per thread;
# each thread logs "producer-K Produced: N messages" and "... Elapsed time in milli second : X milli seconds".
# With --transactionBatchSize B it commits every B sends (a trailing partial batch is NOT committed).
# (Called in the main shell, not in $(...), so die/traps/timeouts behave.)
# amq_produce QUEUE THREADS PER_THREAD [TOOL_ARGS...] -> RES="total_msgs max_elapsed_ms wall_s"
amq_produce() {
  local q=$1 threads=$2 per=$3 out="$D/prod-$1.out" t0 wall extra=()
  shift 3; extra=("$@")
  [[ $threads -gt 1 ]] && extra+=(--parallelThreads "$threads")
  t0=$(date +%s.%N)
  bounded "${AMQ_TOOL[@]}" producer --brokerUrl "$URL" --destination "queue://$q" --persistent true \
      --messageCount "$per" --textMessageSize "$SIZE" "${extra[@]}" >"$out" 2>&1 \
    || { tail -20 "$out" >&2; die "ActiveMQ producer failed (queue $q)"; }
  wall=$(elapsed "$t0")
  local n ms
  n=$(grep -c 'Elapsed time in milli second' "$out" || true)
  [[ $n -eq $threads ]] || { tail -20 "$out" >&2; die "expected $threads producer timings, got $n (queue $q)"; }
  ms=$(grep -oE 'Elapsed time in milli second : [0-9]+' "$out" | grep -oE '[0-9]+$' | sort -n | tail -1)
  n=$(grep -oE 'Produced: [0-9]+ messages' "$out" | awk '{ s += $2 } END { print s + 0 }')
  [[ $n -eq $((threads * per)) ]] || { tail -20 "$out" >&2; die "producer reported $n messages, expected $((threads * per))"; }
  [[ $ms -gt 0 ]] || ms=1
  RES="$n $ms $wall"
}
amq_consume() {  # amq_consume QUEUE COUNT -> RES="wall_s"
  local q=$1 n=$2 out="$D/cons-$1.out" t0
  t0=$(date +%s.%N)
  bounded "${AMQ_TOOL[@]}" consumer --brokerUrl "$URL" --destination "queue://$q" --messageCount "$n" >"$out" 2>&1 \
    || { tail -20 "$out" >&2; die "ActiveMQ consumer failed (queue $q)"; }
  RES=$(elapsed "$t0")
}

SYNC_RES=(); PAR_RES=(); TXN_RES=(); CONS_RES=()
PAR_PER=$(( (AMQ_N + PRODUCERS - 1) / PRODUCERS ))
TXN_N=0; [[ $AMQ_BATCH -gt 0 ]] && TXN_N=$(( (AMQ_N + AMQ_BATCH - 1) / AMQ_BATCH * AMQ_BATCH ))
for r in $(seq 1 "$RUNS"); do
  log "ActiveMQ run $r/$RUNS: 1 producer, $AMQ_N persistent msgs x $SIZE B"
  amq_produce "bench-sync-$r" 1 "$AMQ_N"; SYNC_RES+=("$RES")
  log "  -> $(awk '{printf "%d msgs in %d ms (tool) / %.2f s (wall)", $1, $2, $3}' <<<"$RES")"
  if [[ $CONSUME -eq 1 ]]; then
    amq_consume "bench-sync-$r" "$AMQ_N"; CONS_RES+=("$RES")
    log "  -> consumed $AMQ_N in $RES s wall (incl. JVM start)"
  fi
  if [[ $HAS_PARALLEL -eq 1 && $PRODUCERS -gt 1 ]]; then
    log "ActiveMQ run $r/$RUNS: $PRODUCERS parallel producers x $PAR_PER persistent msgs x $SIZE B"
    amq_produce "bench-par-$r" "$PRODUCERS" "$PAR_PER"; PAR_RES+=("$RES")
    log "  -> $(awk '{printf "%d msgs in %d ms (slowest thread) / %.2f s (wall)", $1, $2, $3}' <<<"$RES")"
  fi
  if [[ $TXN_N -gt 0 ]]; then
    log "ActiveMQ run $r/$RUNS: 1 producer, transacted, commit every $AMQ_BATCH, $TXN_N persistent msgs x $SIZE B"
    amq_produce "bench-txn-$r" 1 "$TXN_N" --transactionBatchSize "$AMQ_BATCH"; TXN_RES+=("$RES")
    log "  -> $(awk '{printf "%d msgs in %d ms (tool) / %.2f s (wall)", $1, $2, $3}' <<<"$RES")"
  fi
done
stop_broker   # free CPU and disk before Chapar runs
log "broker stopped"

# ------------------------------------------------------------- 4. Chapar ---
log "Chapar: $CHAPAR bench log --records $RECORDS --size $SIZE --producers $PRODUCERS --json"
bounded "$CHAPAR" bench log --records "$RECORDS" --size "$SIZE" --producers "$PRODUCERS" --json \
    >"$D/chapar.json" 2>"$D/chapar.err" || { tail -20 "$D/chapar.err" >&2; die "chapar bench log failed"; }

# -------------------------------------------------------------- 5. report ---
export SYNC="${SYNC_RES[*]/%/;}" PAR="${PAR_RES[*]/%/;}" TXN="${TXN_RES[*]/%/;}" CONS="${CONS_RES[*]/%/;}"
export AMQ_N SIZE RECORDS PRODUCERS RUNS PAR_PER TXN_N AMQ_BATCH HAS_PARALLEL SCRIPT_T0 CHAPAR_JSON="$D/chapar.json"
python3 - <<'PY' || die "could not parse chapar JSON ($(head -c 300 "$D/chapar.json"))"
import json, os, statistics as st, time
E = os.environ
def runs(key):
    return [tuple(map(float, s.split())) for s in E[key].split(";") if s.strip()]
def med(xs): return st.median(xs) if xs else None
sync, par, txn = runs("SYNC"), runs("PAR"), runs("TXN")
cons = [float(s) for s in E["CONS"].split(";") if s.strip()]
j = json.load(open(E["CHAPAR_JSON"]))
log, raw, read = j["log"], j.get("raw", {}), j.get("read", {})
c_rps = float(log["recordsPerSecond"])
def rate(rs):  # (tool msg/s list, wall msg/s list)
    return [n / (ms / 1000) for n, ms, _ in rs], [n / w for n, _, w in rs]
def fmt(v, unit=""): return "-" if v is None else f"{v:,.0f}{unit}"
rows = []
s_tool, s_wall = rate(sync)
rows.append(("ActiveMQ persistent, 1 producer (sync send)", med(s_tool), med(s_wall), s_tool))
if par:
    p_tool, p_wall = rate(par)
    rows.append((f"ActiveMQ persistent, {E['PRODUCERS']} parallel producers", med(p_tool), med(p_wall), p_tool))
if txn:
    t_tool, t_wall = rate(txn)
    rows.append((f"ActiveMQ persistent, transacted (commit/{E['AMQ_BATCH']})", med(t_tool), med(t_wall), t_tool))
print()
print(f"Settings: ActiveMQ N={E['AMQ_N']} msgs/mode (parallel: {E['PRODUCERS']}x{E['PAR_PER']}; transacted: {E['TXN_N']}), "
      f"S={E['SIZE']} B, runs={E['RUNS']}; Chapar M={j.get('records', E['RECORDS'])} records, "
      f"S={j.get('recordSize', E['SIZE'])} B, P={j.get('producers', E['PRODUCERS'])}, batch={j.get('batch', '?')}")
print(f"{'system / mode':<46} {'msg/s (tool)':>13} {'msg/s (wall)':>13}  {'Chapar/this':>11}  runs (tool msg/s)")
print("-" * 110)
for name, tool, wall, allr in rows:
    print(f"{name:<46} {fmt(tool):>13} {fmt(wall):>13}  {c_rps / tool:>10.1f}x  {', '.join(f'{x:,.0f}' for x in allr)}")
if cons:
    n = int(E["AMQ_N"])
    print(f"{'ActiveMQ consume (1 consumer, auto-ack)':<46} {'-':>13} {fmt(med([n / c for c in cons])):>13}  "
          f"{'':>11}  (wall incl. ~0.7 s JVM start)")
print(f"{'Chapar durable appends (log)':<46} {fmt(c_rps):>13} {'':>13}  {'1.0x':>11}  "
      f"ack p50 {log.get('ackP50Ms', '-')} ms, p99 {log.get('ackP99Ms', '-')} ms")
if raw: print(f"{'Chapar raw write+fsync floor':<46} {fmt(float(raw['recordsPerSecond'])):>13}")
if read: print(f"{'Chapar read back':<46} {fmt(float(read['recordsPerSecond'])):>13}")
print(f"\nmsg/s (tool) = messages / producer-reported elapsed (slowest thread); wall includes JVM start.")
print(f"Total script time: {time.time() - float(E['SCRIPT_T0']):.0f} s")
PY
