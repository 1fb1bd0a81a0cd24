#!/usr/bin/env bash
# Installs the two accounting tools the ledger's export test checks journals with, only when missing:
# hledger (Debian package) and bean-check (PyPI beancount).
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v hledger >/dev/null 2>&1; then
  echo "installing hledger"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hledger
fi

if ! command -v bean-check >/dev/null 2>&1; then
  echo "installing beancount"
  python3 -m pip install --quiet beancount || python3 -m pip install --quiet --user beancount
fi

echo "$(hledger --version | head -n1 | cut -d, -f1); $(bean-check --version 2>&1 | head -n1)"
