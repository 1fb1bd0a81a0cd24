#!/usr/bin/env bash
# Kill -9 under load (issue 16, item 1; docs/reliability.md): two `ehome serve` instances on a fresh
# PostgreSQL database and Redis prefix with the demo community take a mixed write load — 邻办事 submissions
# and transitions, 邻互助 help posts confirmed with the community's bonus (a points award), ballots of a
# secret poll — every write with an `Idempotency-Key`, retried on the other instance after a reset or a
# timeout. One instance at a time is killed with SIGKILL at a random moment and restarted. Afterwards every
# acknowledged write is in the database exactly once, every domain row has its transfer and every
# transfer its row, request timelines are gapless, and `ehome ledger verify` and `ehome polls verify` pass.
# The load, the killer and the checks are scripts/fault-kill.py (where a new scene adds its workload).
#
# Knobs: KILL_COUNT (3 kills; the long run is 20), KILL_DEADLINE_SECONDS (100, or 8 per kill), EHOME_BIN (default: the
# debug binary, built if missing or older than the sources is cargo's business: `cargo build` runs first).
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust), Redis on 127.0.0.1:6379, psql, python3 with
# requests (installed with pip when missing). Loopback only; every loop is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*" >&2; }
psql_db() { psql -h 127.0.0.1 -U postgres -X -q -v ON_ERROR_STOP=1 -d "$1" "${@:2}"; }

for tool in psql redis-cli python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "fault-kill: $tool is missing" >&2; exit 2; }
done
if ! python3 -c 'import requests' 2>/dev/null; then
  say "installing the Python package requests"
  python3 -m pip install --quiet requests >&2
fi

if [ -n "${EHOME_BIN:-}" ]; then
  BIN="$EHOME_BIN"
else
  cargo build --quiet -p ehome-api --bin ehome >&2
  BIN="$PWD/target/debug/ehome"
fi

DB="ehome_kill_$$"
PREFIX="kill$$:"
PORT_A="$((19100 + RANDOM % 400))"
PORT_B="$((PORT_A + 500))"
WORK="$(mktemp -d)"

cleanup() {
  psql_db postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli --scan --pattern "${PREFIX}*" 2>/dev/null | xargs -r -n 500 redis-cli del >/dev/null 2>&1 || true
  if [ -z "${KILL_KEEP_WORK:-}" ]; then rm -rf "$WORK"; else echo "fault-kill: logs kept in $WORK" >&2; fi
}
trap cleanup EXIT

say "a fresh database ($DB) with the demo community"
psql_db postgres -c "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export EHOME_ENV=dev REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX="$PREFIX" RUST_LOG=warn
"$BIN" migrate up >/dev/null 2>&1
"$BIN" seed-demo >/dev/null 2>&1
# The load is one client: lift the per-user and per-IP limits that would otherwise refuse it.
export RATE_WRITES_PER_USER_PER_MINUTE=1000000 RATE_WRITES_PER_IP_PER_MINUTE=1000000 \
  RATE_READS_PER_USER_PER_MINUTE=1000000 RATE_READS_PER_IP_PER_MINUTE=1000000 \
  RATE_LOGIN_PER_IP_PER_MINUTE=1000000 REQUEST_SUBMISSIONS_PER_HOUR=100000 EHOME_SEED_DEMO=0

say "two instances (ports $PORT_A, $PORT_B), ${KILL_COUNT:-3} SIGKILLs under load"
EHOME_BIN="$BIN" KILL_PORTS="$PORT_A,$PORT_B" KILL_WORK="$WORK" python3 scripts/fault-kill.py
