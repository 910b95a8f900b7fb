#!/usr/bin/env bash
# Installs the system packages kpid builds against, and the Python test clients, when missing.
# Safe to run again: it installs nothing that is already there.
set -euo pipefail
need=()
for p in libzmq3-dev libsimdjson-dev libsqlite3-dev liblz4-dev sqlite3 pkg-config python3-pip; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
if [ "${1:-}" = "--test" ]; then
  # msmtp: the sendmail-compatible program of the alert e2e tests (cryptography, from
  # requirements.txt, makes the private CA of the direct SMTP tests).
  for p in msmtp; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$p"
    }
  done
  python3 -c "import zmq, pytest, pytest_timeout, aiosmtpd, cryptography, duckdb" 2>/dev/null || python3 -m pip install -q -r "$(dirname "$0")/../Tests/e2e/requirements.txt"
fi
