#!/usr/bin/env bash
# Installs what is needed, builds Chapar (release), and runs a demo on the embedded log:
# bank transactions appended durably (keyed by account), then read back by a consumer group.
# Usage: scripts/start.sh [DATA_DIR]   (default ./chapar-data; delete it to start over)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product chapar
chapar=.build/release/chapar
data=${1:-./chapar-data}
export CHAPAR_DATA_DIR=$data

$chapar log topics >/dev/null
if ! $chapar log describe transactions >/dev/null 2>&1; then
    $chapar log create transactions --partitions 4
fi
echo
echo "== appending demo transactions (key = account, acknowledged only once fsynced)"
cat <<'DEMO' | $chapar log produce transactions --key-separator '|' --print-acks
IR820540102680020817909002|{"account":"IR820540102680020817909002","direction":"debit","amount":12500000,"currency":"IRR","description":"خرید از فروشگاه"}
IR062960000000100324200001|{"account":"IR062960000000100324200001","direction":"credit","amount":250000000,"currency":"IRR","description":"واریز حقوق"}
IR820540102680020817909002|{"account":"IR820540102680020817909002","direction":"debit","amount":300000,"currency":"IRR","description":"کارمزد انتقال"}
GB33BUKB20201555555555|{"account":"GB33BUKB20201555555555","direction":"credit","amount":1999,"currency":"GBP","description":"Refund"}
DEMO
echo
echo "== topics"
$chapar log topics
echo
echo "== the 'demo' consumer group reads what it has not seen yet, in order per account"
$chapar log consume transactions --group demo --from-beginning --exit-at-end --format 'partition %p offset %o key %k\n  %s\n'
echo
echo "== group positions"
$chapar log groups
echo
echo "Data is in $data. Try: $chapar log --help"
