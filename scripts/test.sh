#!/usr/bin/env bash
# The whole test suite: installs what is needed, builds everything, runs every test.
# Usage: scripts/test.sh [extra `swift test` arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build "$@"
