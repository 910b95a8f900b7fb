#!/usr/bin/env bash
# The second README command, and what CI runs: install what is missing, build, run the Swift
# unit and integration tests, then the end-to-end tests that drive the real kpid binary with
# pyzmq publishers and check SQLite against an independent computation.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh --test
swift build --build-tests
swift test --skip-build
export KPID_BIN="$PWD/.build/debug/kpid" KPICTL_BIN="$PWD/.build/debug/kpictl"
# A hung test fails after 5 minutes instead of holding CI to its limit.
python3 -m pytest Tests/e2e -q -p no:cacheprovider --timeout 300
