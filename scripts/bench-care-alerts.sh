#!/usr/bin/env bash
# Alert storm of the 关爱 care round on PostgreSQL with two API instances: 10,000 signed sensor alerts from
# 1,000 devices, 20% of them duplicates (another event id of a device and kind already alerted in the same
# hour, which must fold into the open task), sent round-robin to both instances by concurrent keep-alive
# clients. Checks that every alert was answered 2xx, that the tasks are exactly the distinct
# (device, kind, hour) groups with no duplicate, and that every alert row was kept once; reports the
# throughput beside `GET /healthz` sent by the same client to the same instances in the same run. Not a
# test: it prints a table; the figures of a run are recorded in docs/benchmarks.md.
#
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres, no password), python3 (standard library only), curl
# and psql. Optional: REDIS_URL (both instances share it). Traffic stays on the loopback.
#
# Knobs: BENCH_EVENTS (10000), BENCH_DEVICES (1000), BENCH_DUPLICATE_PERCENT (20), BENCH_CLIENTS (16),
# BENCH_PROFILE (release; `debug` reuses target/debug/ehome without a release build), EHOME_BIN (a
# built binary to use instead).
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS="${BENCH_EVENTS:-10000}"
DEVICES="${BENCH_DEVICES:-1000}"
DUPLICATES="${BENCH_DUPLICATE_PERCENT:-20}"
CLIENTS="${BENCH_CLIENTS:-16}"
PROFILE="${BENCH_PROFILE:-release}"
PORT_A="$((18100 + RANDOM % 400))"
PORT_B="$((18500 + RANDOM % 400))"
DB="ehome_care_bench_$$"
SECRET="bench-vendor-secret-$(openssl rand -hex 8)"
WORK="$(mktemp -d)"
PIDS=()

say() { printf '\n== %s\n' "$*" >&2; }
psql_db() { psql -h 127.0.0.1 -U postgres -X -q -v ON_ERROR_STOP=1 -d "$1" "${@:2}"; }

for tool in psql curl python3 openssl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench-care-alerts: $tool is missing" >&2; exit 2; }
done

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  psql_db postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${EHOME_BIN:-}" ]; then
  BIN="$EHOME_BIN"
else
  if [ "$PROFILE" = release ]; then
    say "building ehome (release)"
    cargo build --release -p ehome-api --bin ehome >&2
  fi
  BIN="$PWD/target/$PROFILE/ehome"
fi

say "scratch database $DB"
psql_db postgres -c "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export EHOME_ENV=dev
"$BIN" migrate up >&2
"$BIN" seed-demo >&2

# One recipient in the demo's first household, with $DEVICES devices of vendor `bench`.
psql_db "$DB" <<SQL
INSERT INTO care_recipients (community_id, grid_id, building_id, household_id, name, circumstance, risk_level,
  consent_by, consent_recorded_at, emergency_contacts, visit_interval_days, next_visit_due_at, registered_by, created_at)
SELECT b.community_id, b.grid_id, b.id, h.id, '压测老人', 'living_alone', 'high', 'recipient', now(), '[]', 3,
  now() + interval '3 days', 1, now()
FROM households h JOIN buildings b ON b.id = h.building_id ORDER BY h.id LIMIT 1;
INSERT INTO care_devices (recipient_id, vendor, device_key, kind, registered_by, created_at)
SELECT (SELECT max(id) FROM care_recipients), 'bench', 'dev-' || g, 'smoke_sensor', 1, now()
FROM generate_series(1, $DEVICES) g;
SQL

start() {
  EHOME_BIND="127.0.0.1:$1" CARE_VENDOR_SECRETS="bench:$SECRET" CARE_JOB_INTERVAL_SECONDS=0 \
  REQUEST_JOB_INTERVAL_SECONDS=0 EHOME_SEED_DEMO=0 RUST_LOG=warn DATABASE_MAX_CONNECTIONS=16 \
  RATE_WRITES_PER_IP_PER_MINUTE=1000000 RATE_READS_PER_IP_PER_MINUTE=1000000 \
    "$BIN" serve >"$WORK/server-$1.log" 2>&1 &
  PIDS+=("$!")
}
start "$PORT_A"
start "$PORT_B"
for port in "$PORT_A" "$PORT_B"; do
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
done

say "storm: $EVENTS alerts, $DEVICES devices, $DUPLICATES% duplicates, $CLIENTS clients, 2 instances"
python3 - "$EVENTS" "$DEVICES" "$DUPLICATES" "$CLIENTS" "$SECRET" "$PORT_A" "$PORT_B" >"$WORK/result.json" <<'PY'
import datetime, hashlib, hmac, http.client, json, sys, threading, time
events, devices, dup_pct, clients, secret, port_a, port_b = sys.argv[1:8]
events, devices, dup_pct, clients = int(events), int(devices), int(dup_pct), int(clients)
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
kinds = ["smoke", "no_water_24h", "fall", "no_power_24h"]
distinct = events - events * dup_pct // 100
# Distinct groups first; duplicates repeat an earlier group with a new event id.
bodies, groups = [], []
for n in range(events):
    if n < distinct:
        # Device, kind, and how many hours before now it was observed: (device, kind, hour) is distinct.
        group = (n % devices, kinds[(n // devices) % len(kinds)], n // (devices * len(kinds)))
        groups.append(group)
    else:
        group = groups[(n * 7919) % distinct]
    device, kind, hours_back = group
    observed = (now - datetime.timedelta(hours=hours_back)).isoformat().replace("+00:00", "Z")
    bodies.append(json.dumps({"device_id": f"dev-{device + 1}", "event_id": f"ev-{n}", "kind": kind,
                              "observed_at": observed}, separators=(",", ":")))
order = sorted(range(events), key=lambda n: (n * 2654435761) % events)  # duplicates spread through the storm

def run(requests):
    statuses, lock = {}, threading.Lock()
    def worker(index):
        conns = {p: http.client.HTTPConnection("127.0.0.1", int(p), timeout=30) for p in (port_a, port_b)}
        for j in range(index, len(requests), clients):
            port = (port_a, port_b)[j % 2]
            method, path, headers, body = requests[j](port)
            conn = conns[port]
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse(); response.read()
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    return time.perf_counter() - start, statuses

def alert(n):
    def build(_port):
        ts = str(int(time.time()))
        body = bodies[n].encode()
        sig = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        return "POST", "/api/v1/care/alerts", {"Content-Type": "application/json", "X-Care-Vendor": "bench",
                                               "X-Care-Timestamp": ts, "X-Care-Signature": sig}, body
    return build

health = [lambda _p: ("GET", "/healthz", {}, None)] * events
health_seconds, health_statuses = run(health)
storm_seconds, storm_statuses = run([alert(n) for n in order])
print(json.dumps({"events": events, "distinct_groups": len(set(groups)), "storm_seconds": storm_seconds,
                  "storm_statuses": storm_statuses, "health_seconds": health_seconds,
                  "health_statuses": health_statuses}))
PY

RESULT="$(cat "$WORK/result.json")"
TASKS="$(psql_db "$DB" -At -c "SELECT count(*) FROM care_tasks")"
KEYS="$(psql_db "$DB" -At -c "SELECT count(DISTINCT fold_key) FROM care_tasks")"
ALERTS="$(psql_db "$DB" -At -c "SELECT count(*) FROM care_alerts")"
FOLDED="$(psql_db "$DB" -At -c "SELECT coalesce(sum(events_count), 0) FROM care_tasks")"
python3 - "$RESULT" "$TASKS" "$KEYS" "$ALERTS" "$FOLDED" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); tasks, keys, alerts, folded = map(int, sys.argv[2:6])
ok2xx = sum(v for k, v in r["storm_statuses"].items() if 200 <= int(k) < 300)
storm_rps = r["events"] / r["storm_seconds"]; health_rps = r["events"] / r["health_seconds"]
print(f"| alerts sent | {r['events']} |")
print(f"| answered 2xx | {ok2xx} {r['storm_statuses']} |")
print(f"| distinct (device, kind, hour) groups | {r['distinct_groups']} |")
print(f"| tasks / distinct fold keys | {tasks} / {keys} |")
print(f"| alert rows / events folded into tasks | {alerts} / {folded} |")
print(f"| alert storm | {storm_rps:.0f} req/s ({r['storm_seconds']:.2f} s) |")
print(f"| GET /healthz, same client | {health_rps:.0f} req/s ({r['health_seconds']:.2f} s) |")
print(f"| ratio storm / healthz | {storm_rps / health_rps:.2f} |")
bad = ok2xx != r["events"] or tasks != r["distinct_groups"] or keys != tasks or alerts != r["events"] or folded != r["events"]
sys.exit(1 if bad else 0)
PY
