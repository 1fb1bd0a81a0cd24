#!/usr/bin/env bash
# Ledger benchmark, one run against one PostgreSQL:
#   1. pgbench TPC-B (scale 10, 32 clients, 2 threads, 30 s) on a scratch database: the baseline;
#   2. `ehome ledger bench` with 32 clients in its three modes on another scratch database —
#      uniform (single transfers among random accounts), hot (every transfer debits the issuance
#      account), batched (hot transfers through the batching poster, each client keeping a window of
#      transfers in flight as a TigerBeetle client sends a batch; and again with one in flight, which
#      bounds the rate at 32 transfers per group-commit latency);
#   3. `ehome ledger verify` on the book the bench left behind.
# Prints transfers/s, p50, p99 and each figure as a ratio to pgbench's TPS.
#
# Environment: EHOME_BENCH_PG_URL (server, default postgres://postgres@127.0.0.1:5432),
# CLIENTS (32), SECONDS_PER_RUN (30), IN_FLIGHT (transfers each client keeps in flight in batched
# mode, 64), ONE_IN_FLIGHT (1: also run batched with one transfer in flight per client; 0 to skip),
# KEEP_DB=1 to keep the ledger database for `ehome ledger export`, EHOME_BIN (the `ehome` binary to
# bench; by default the release binary of this checkout, built first) — so that two builds, e.g.
# before and after a change, run through the same script.
set -euo pipefail
cd "$(dirname "$0")/.."

PG="${EHOME_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
CLIENTS="${CLIENTS:-32}"
SECS="${SECONDS_PER_RUN:-${SECONDS_RUN:-30}}"
IN_FLIGHT="${IN_FLIGHT:-64}"
ONE_IN_FLIGHT="${ONE_IN_FLIGHT:-1}"
STAMP="$(date +%s)"
PGBENCH_DB="ehome_bench_pgbench_${STAMP}"
LEDGER_DB="ehome_bench_ledger_${STAMP}"

cleanup() {
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS ${PGBENCH_DB} WITH (FORCE)" >/dev/null 2>&1 || true
  if [ "${KEEP_DB:-0}" != "1" ]; then
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS ${LEDGER_DB} WITH (FORCE)" >/dev/null 2>&1 || true
  else
    echo "kept ${PG}/${LEDGER_DB}"
  fi
}
trap cleanup EXIT

if [ -n "${EHOME_BIN:-}" ]; then
  EHOME="$EHOME_BIN"
  echo "== benching ${EHOME}"
else
  echo "== building the release ehome binary"
  cargo build --release --bin ehome
  EHOME="${CARGO_TARGET_DIR:-target}/release/ehome"
fi
[ -x "$EHOME" ] || { echo "no executable ehome binary at ${EHOME}" >&2; exit 1; }

echo "== pgbench TPC-B: scale 10, ${CLIENTS} clients, 2 threads, ${SECS} s"
psql -q "$PG/postgres" -c "CREATE DATABASE ${PGBENCH_DB}"
pgbench -i -s 10 -q "$PG/${PGBENCH_DB}" >/dev/null 2>&1
PGBENCH_OUT="$(pgbench -c "$CLIENTS" -j 2 -T "$SECS" "$PG/${PGBENCH_DB}" 2>&1)"
echo "$PGBENCH_OUT" | grep -E "latency average|tps ="
PGBENCH_TPS="$(echo "$PGBENCH_OUT" | awk '/^tps = / {print $3; exit}')"

echo "== ehome ledger bench: ${CLIENTS} clients, ${SECS} s per mode"
psql -q "$PG/postgres" -c "CREATE DATABASE ${LEDGER_DB}"
export DATABASE_URL="$PG/${LEDGER_DB}"
"$EHOME" migrate up >/dev/null 2>&1
RESULTS=()
for mode in uniform hot batched; do
  json="$("$EHOME" ledger bench --clients "$CLIENTS" --seconds "$SECS" --mode "$mode" --in-flight "$IN_FLIGHT" --json 2>/dev/null)"
  RESULTS+=("$json")
done
if [ "$ONE_IN_FLIGHT" = "1" ]; then
  json="$("$EHOME" ledger bench --clients "$CLIENTS" --seconds "$SECS" --mode batched --in-flight 1 --json 2>/dev/null)"
  RESULTS+=("$(echo "$json" | python3 -c 'import json,sys; r=json.load(sys.stdin); r["mode"]="batched, 1 in flight"; print(json.dumps(r))')")
fi

IN_FLIGHT="$IN_FLIGHT" python3 - "$PGBENCH_TPS" "${RESULTS[@]}" <<'PY'
import json, os, sys
base = float(sys.argv[1])
rows = [json.loads(r) for r in sys.argv[2:]]
print(f"\n{'run':<34}{'per second':>12}{'p50 ms':>10}{'p99 ms':>10}{'x pgbench':>11}")
print(f"{'pgbench TPC-B (tps)':<34}{base:>12.0f}{'':>10}{'':>10}{1.0:>11.2f}")
by_mode = {}
for r in rows:
    by_mode[r["mode"]] = r["transfers_per_second"]
    print(f"{'ledger ' + r['mode']:<34}{r['transfers_per_second']:>12.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['transfers_per_second'] / base:>11.2f}")
u = by_mode.get("uniform")
if u:
    print(f"\nhot / uniform = {by_mode.get('hot', 0) / u:.2f}   (target >= 0.5)")
print(f"uniform / pgbench = {by_mode.get('uniform', 0) / base:.2f}   (target >= 1.0)")
print(f"batched / pgbench = {by_mode.get('batched', 0) / base:.2f}   (target >= 10; {os.environ['IN_FLIGHT']} in flight per client)")
PY

echo "== ehome ledger verify on the bench's book"
"$EHOME" ledger verify
