#!/usr/bin/env bash
# The first README command: install what is missing, build kpid in release mode, and start it
# on conf/kpid.toml (SQLite at var/kpid.db). Ctrl-C stops it gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
swift build -c release --product kpid
swift build -c release --product kpictl
exec .build/release/kpid --config "${KPID_CONFIG:-conf/kpid.toml}" "$@"
