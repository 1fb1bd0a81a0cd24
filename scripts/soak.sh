#!/usr/bin/env bash
# Soak (issue 16, item 7): two `ehome serve` instances on one PostgreSQL + Redis (a fresh database and key
# prefix), the demo data plus 1,000 seeded residents and 10,000 requests, 1,000 keep-alive connections held
# open throughout (each sends GET /healthz every few seconds so the server's 5 s keep-alive does not close
# it), a mixed read/write load measured at full speed first (wrk, a short run) and then run at half that
# rate for SOAK_SECONDS (hey, rate-limited, in one-minute chunks). Reports p50/p99 per route in the first
# and last minute, errors, and each instance's RSS every 30 s. Not a test: it prints tables and checks the
# targets (zero errors, p99 last minute ≤ 1.5 × the first, RSS ≤ 150 MB and not growing after warm-up);
# docs/benchmarks.md ("Soak") records a run.
#
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres, trust), Redis on 127.0.0.1:6379, psql, redis-cli,
# wrk, hey, curl, jq, python3. Loopback only; every load run is bounded in time.
#
# Knobs (environment): EHOME_BIN (a release binary; default /work/reltarget/release/ehome if present,
# else one is built into SOAK_TARGET_DIR), SOAK_SECONDS (600), SOAK_MAX_SECONDS (20, the full-speed
# measure), SOAK_HELD_CONNECTIONS (1000), SOAK_PORT (first of two ports; random 19100-19899). The soak
# runs in whole minutes (SOAK_SECONDS rounded up) when it is longer than one.
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK_SECONDS="${SOAK_SECONDS:-600}"
MAX_SECONDS="${SOAK_MAX_SECONDS:-20}"
HELD="${SOAK_HELD_CONNECTIONS:-1000}"
PORT_A="${SOAK_PORT:-$((19100 + RANDOM % 800))}"
PORT_B=$((PORT_A + 1))
DB="ehome_soak_$$"
PREFIX="soak$$:"
WORK="$(mktemp -d)"
PIDS=()

say() { printf '\n== %s\n' "$*" >&2; }
psql_db() { psql -h 127.0.0.1 -U postgres -X -q -v ON_ERROR_STOP=1 -d "$1" "${@:2}"; }

for tool in psql redis-cli wrk hey curl jq python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "soak: $tool is missing (Debian: apt-get install -y postgresql-client redis-tools wrk hey curl jq python3)" >&2
    exit 2
  fi
done

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql_db postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli --scan --pattern "$PREFIX*" 2>/dev/null | xargs -r -n 500 redis-cli del >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${EHOME_BIN:-}" ]; then
  BIN="$EHOME_BIN"
elif [ -x /work/reltarget/release/ehome ]; then
  BIN=/work/reltarget/release/ehome
else
  TARGET_DIR="${SOAK_TARGET_DIR:-$PWD/reltarget}"
  say "building ehome (release) into $TARGET_DIR"
  CARGO_TARGET_DIR="$TARGET_DIR" nice -n 10 cargo build --release -p ehome-api --bin ehome >&2
  BIN="$TARGET_DIR/release/ehome"
fi
say "binary $BIN ($(stat -c %y "$BIN" | cut -d. -f1))"

say "scratch database $DB, Redis prefix $PREFIX"
psql_db postgres -c "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export EHOME_ENV=dev REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX="$PREFIX"
export JWT_SECRET="soak-jwt-secret-0123456789abcdef-0123456789" JWT_ACCESS_TTL_SECONDS=86400
"$BIN" migrate up >/dev/null 2>&1
"$BIN" seed-demo >/dev/null 2>&1

# Beside the demo community: a community of 10 buildings, 1,000 households with one resident each, 20
# notifications for each of the first 100 residents, the 7 default categories, and 10,000 requests over
# the past year (3 % open). The same shapes as scripts/bench-api.sh.
say "seeding 1,000 residents and 10,000 requests"
COMMUNITY="$(psql_db "$DB" -At <<'SQL'
INSERT INTO communities (street_id, name, created_at) SELECT min(id), '压测社区', now() FROM streets;
INSERT INTO grids (community_id, name) SELECT c.id, '第' || g || '网格' FROM communities c, generate_series(1, 2) g
  WHERE c.name = '压测社区';
INSERT INTO buildings (community_id, grid_id, name)
  SELECT g.community_id, g.id, g.id || '-' || b || '号楼' FROM grids g JOIN communities c ON c.id = g.community_id,
  generate_series(1, 5) b WHERE c.name = '压测社区';
INSERT INTO households (building_id, community_id, label)
  SELECT b.id, b.community_id, (100 * (1 + h / 10) + h % 10)::text
  FROM buildings b JOIN communities c ON c.id = b.community_id, generate_series(0, 99) h WHERE c.name = '压测社区';
INSERT INTO users (openid, nickname, is_admin, created_at, updated_at)
  SELECT 'soak-resident-' || n, '居民' || n, false, now(), now() FROM generate_series(1, 1000) n;
INSERT INTO household_members (household_id, community_id, user_id, created_at)
  SELECT h.id, h.community_id, u.id, now()
  FROM (SELECT h.id, h.community_id, row_number() OVER (ORDER BY h.id) AS n
        FROM households h JOIN communities c ON c.id = h.community_id WHERE c.name = '压测社区') h
  JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users WHERE openid LIKE 'soak-resident-%') u USING (n);
INSERT INTO member_roles (community_id, user_id, role, scope_id, created_at)
  SELECT m.community_id, m.user_id, 'resident', 0, now()
  FROM household_members m JOIN users u ON u.id = m.user_id WHERE u.openid LIKE 'soak-resident-%';
INSERT INTO notifications (user_id, kind, title, body, created_at)
  SELECT u.id, 'request_update', '您的报事有新进展', '压测通知 ' || k, now() - k * interval '1 hour'
  FROM users u, generate_series(1, 20) k
  WHERE u.openid LIKE 'soak-resident-%' AND u.id <= (SELECT min(id) + 99 FROM users WHERE openid LIKE 'soak-resident-%');
INSERT INTO request_categories (community_id, key, name, response_sla_hours, resolution_sla_hours, active, created_at)
  SELECT c.id, k.key, k.name, k.response, k.resolution, true, now()
  FROM communities c, (VALUES ('repair', '维修', 24, 72), ('environment', '环境卫生', 24, 72),
    ('safety', '安全隐患', 4, 24), ('neighbour_dispute', '邻里纠纷', 24, 168),
    ('elderly_care', '关爱老人', 12, 48), ('facilities', '公共设施', 24, 120),
    ('other', '其他', 48, 168)) AS k(key, name, response, resolution)
  WHERE c.name = '压测社区';
SELECT id FROM communities WHERE name = '压测社区';
SQL
)"
psql_db "$DB" -v community="$COMMUNITY" >/dev/null <<'SQL'
WITH refs AS (
  SELECT (SELECT array_agg(id ORDER BY id) FROM request_categories WHERE community_id = :community) AS categories,
         (SELECT array_agg(id ORDER BY id) FROM buildings WHERE community_id = :community) AS buildings,
         (SELECT array_agg(grid_id ORDER BY id) FROM buildings WHERE community_id = :community) AS grids,
         (SELECT array_agg(id ORDER BY id) FROM users WHERE openid LIKE 'soak-resident-%') AS users
), draws AS (
  SELECT g, random() AS r, random() AS u, random() AS v FROM generate_series(1, 10000) AS g
), shaped AS (
  SELECT d.*,
    CASE WHEN r < 0.03 THEN 'submitted' WHEN r < 0.85 THEN 'confirmed' ELSE 'withdrawn' END AS status,
    CASE WHEN r < 0.03 THEN now() - u * interval '10 days' ELSE now() - interval '10 days' - u * interval '355 days' END AS created
  FROM draws d
)
INSERT INTO service_requests (community_id, category_id, grid_id, building_id, reporter_id, title, description,
  location, photos, urgency, anonymous, status, is_open, moderation, assignee_level, assignee_id,
  escalation_level, interest_count, response_due_at, resolution_due_at, first_response_at, resolved_at,
  closed_at, rating, rating_text, created_at, updated_at)
SELECT :community,
  refs.categories[1 + g % array_length(refs.categories, 1)],
  refs.grids[1 + g % array_length(refs.buildings, 1)],
  refs.buildings[1 + g % array_length(refs.buildings, 1)],
  refs.users[1 + g % array_length(refs.users, 1)],
  '压测请求 ' || g || ' 号：楼道灯不亮', '压测数据，第 ' || g || ' 条', NULL, '[]', 'normal', false, status,
  status = 'submitted', 'published', 'building_leader', NULL, 0, 0,
  created + interval '24 hours', created + interval '72 hours',
  CASE WHEN status = 'confirmed' THEN created + v * interval '20 hours' END,
  CASE WHEN status = 'confirmed' THEN created + v * interval '40 hours' END,
  CASE WHEN status = 'submitted' THEN NULL ELSE created + interval '3 days' END,
  NULL, NULL, created, created
FROM shaped, refs;
SQL
"$BIN" stats rebuild >/dev/null 2>&1
psql_db "$DB" -c "ANALYZE" >/dev/null
BUILDING="$(psql_db "$DB" -At -c "SELECT min(id) FROM buildings WHERE community_id = $COMMUNITY")"
REPAIR="$(psql_db "$DB" -At -c "SELECT id FROM request_categories WHERE community_id = $COMMUNITY AND key = 'repair'")"
DETAIL="$(psql_db "$DB" -At -c "SELECT id FROM service_requests WHERE community_id = $COMMUNITY ORDER BY id OFFSET 5000 LIMIT 1")"

start_instance() { # port → pid (logs in $WORK/server-<port>.log)
  EHOME_BIND="127.0.0.1:$1" EHOME_SEED_DEMO=0 REQUEST_JOB_INTERVAL_SECONDS=0 \
    RATE_WRITES_PER_IP_PER_MINUTE=1000000 RATE_WRITES_PER_USER_PER_MINUTE=1000000 \
    RATE_READS_PER_IP_PER_MINUTE=1000000 RATE_READS_PER_USER_PER_MINUTE=1000000 \
    RATE_LOGIN_PER_IP_PER_MINUTE=100000 REQUEST_SUBMISSIONS_PER_HOUR=100000 RUST_LOG=warn \
    "$BIN" serve >"$WORK/server-$1.log" 2>&1 &
  echo $!
}
PID_A="$(start_instance "$PORT_A")"
PID_B="$(start_instance "$PORT_B")"
PIDS+=("$PID_A" "$PID_B")
for port in "$PORT_A" "$PORT_B"; do
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$WORK/server-$port.log" >&2; exit 1; }
done
say "instances on ports $PORT_A (pid $PID_A) and $PORT_B (pid $PID_B)"

login() { # openid → an access token (valid for the whole run: JWT_ACCESS_TTL_SECONDS)
  curl -fsS -X POST "http://127.0.0.1:$PORT_A/api/v1/auth/dev-login" -H 'content-type: application/json' \
    -d "{\"openid\": \"$1\"}" | jq -r .access_token
}
login soak-committee >/dev/null
"$BIN" admin grant --user soak-committee --community "$COMMUNITY" --role committee >/dev/null 2>&1
COMMITTEE="$(login soak-committee)"
: >"$WORK/tokens"
for n in $(seq 1 50); do login "soak-resident-$n" >>"$WORK/tokens"; done
RESIDENT_A="$(sed -n 1p "$WORK/tokens")"
RESIDENT_B="$(sed -n 2p "$WORK/tokens")"
echo "{\"category_id\": $REPAIR, \"building_id\": $BUILDING, \"title\": \"楼道灯不亮\", \"description\": \"压测写入\"}" \
  >"$WORK/submit.json"
echo '{}' >"$WORK/empty.json"

# The mix: route name, weight (of 100), method, path, who. Reads 85 %, writes 15 %.
ROUTES=(
  "me 25 GET /api/v1/me resident"
  "points 15 GET /api/v1/me/points resident"
  "notifications 15 GET /api/v1/me/notifications resident"
  "queue 15 GET /api/v1/requests?community_id=$COMMUNITY&limit=20 committee"
  "detail 15 GET /api/v1/requests/$DETAIL committee"
  "submit 10 POST /api/v1/requests resident"
  "read_all 5 POST /api/v1/me/notifications/read-all resident"
)

# Keep-alive connections held open for the whole run, half on each instance.
cat >"$WORK/hold.py" <<'PY'
import asyncio, sys, time, random
ports = [int(p) for p in sys.argv[1].split(",")]
total, seconds, status_file = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
stats = {"open": 0, "requests": 0, "errors": 0, "reconnects": 0}

async def answer(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return head.startswith(b"HTTP/1.1 200")

async def hold(port, deadline):
    await asyncio.sleep(random.uniform(0, 3))
    reader = writer = None
    while time.monotonic() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                stats["open"] += 1
            writer.write(REQUEST)
            ok = await asyncio.wait_for(answer(reader), 10)
            stats["requests"] += 1
            if not ok:
                stats["errors"] += 1
        except Exception:
            stats["errors"] += 1
            stats["reconnects"] += 1
            if writer is not None:
                stats["open"] -= 1
                writer.close()
            writer = None
            await asyncio.sleep(1)
            continue
        await asyncio.sleep(3)  # under actix-web's 5 s keep-alive
    if writer is not None:
        writer.close()

async def report(deadline):
    while time.monotonic() < deadline + 5:
        with open(status_file, "w") as f:
            f.write("%(open)d %(requests)d %(errors)d %(reconnects)d\n" % stats)
        await asyncio.sleep(1)

async def main():
    deadline = time.monotonic() + seconds
    tasks = [hold(ports[i % len(ports)], deadline) for i in range(total)]
    await asyncio.gather(report(deadline), *tasks)

asyncio.run(main())
PY

# Lua for wrk: the mix above, rotating the residents' tokens (threads numbered by setup()).
cat >"$WORK/mix.lua" <<LUA
local tokens = {}
for line in io.lines("$WORK/tokens") do tokens[#tokens + 1] = line end
local routes = {}
LUA
for route in "${ROUTES[@]}"; do
  read -r name weight method path who <<<"$route"
  body=""
  [ "$name" = submit ] && body="$(cat "$WORK/submit.json")"
  [ "$name" = read_all ] && body="{}"
  printf 'for _ = 1, %d do routes[#routes + 1] = { method = "%s", path = "%s", who = "%s", body = [[%s]] } end\n' \
    "$weight" "$method" "$path" "$who" "$body" >>"$WORK/mix.lua"
done
cat >>"$WORK/mix.lua" <<LUA
local i = 0
request = function()
  i = i + 1
  local route = routes[(i * 37) % #routes + 1]
  local token = "$COMMITTEE"
  if route.who == "resident" then token = tokens[i % #tokens + 1] end
  local headers = { ["Authorization"] = "Bearer " .. token }
  if route.method == "POST" then headers["content-type"] = "application/json" end
  local body = nil
  if route.method == "POST" then body = route.body end
  return wrk.format(route.method, route.path, headers, body)
end
LUA

# Each instance's RSS and the held connections every 30 s, until told to stop.
sample() {
  local started
  started=$(date +%s)
  while [ ! -e "$WORK/stop-sampling" ]; do
    printf '%d %d %d %s %s\n' $(( $(date +%s) - started )) \
      "$(awk '/VmRSS/ { print $2 }' "/proc/$PID_A/status" 2>/dev/null || echo 0)" \
      "$(awk '/VmRSS/ { print $2 }' "/proc/$PID_B/status" 2>/dev/null || echo 0)" \
      "$(cut -d' ' -f1 "$WORK/held" 2>/dev/null || echo 0)" "$(cut -d' ' -f1 /proc/loadavg)" >>"$WORK/rss"
    for _ in $(seq 1 30); do [ -e "$WORK/stop-sampling" ] && break; sleep 1; done
  done
}

HOLD_SECONDS=$((MAX_SECONDS + SOAK_SECONDS + 90))
say "holding $HELD keep-alive connections"
python3 "$WORK/hold.py" "$PORT_A,$PORT_B" "$HELD" "$HOLD_SECONDS" "$WORK/held" &
PIDS+=("$!")
for _ in $(seq 1 60); do
  [ "$(cut -d' ' -f1 "$WORK/held" 2>/dev/null || echo 0)" -ge "$HELD" ] && break
  sleep 1
done
sample &
SAMPLER=$!
PIDS+=("$SAMPLER")

say "full speed: wrk -t1 -c8 -d${MAX_SECONDS}s on each instance, the mix (load average $(cut -d' ' -f1 /proc/loadavg))"
WRKS=()
for port in "$PORT_A" "$PORT_B"; do
  wrk -t1 -c8 -d"${MAX_SECONDS}s" --timeout 30s -s "$WORK/mix.lua" "http://127.0.0.1:$port" >"$WORK/max-$port.txt" &
  WRKS+=("$!")
done
for pid in "${WRKS[@]}"; do wait "$pid"; done
MAX_RPS=0
for port in "$PORT_A" "$PORT_B"; do
  if grep -qE 'Non-2xx|Socket errors' "$WORK/max-$port.txt"; then
    echo "soak: errors at full speed on $port:" >&2
    cat "$WORK/max-$port.txt" >&2
    exit 1
  fi
  MAX_RPS="$(awk -v sum="$MAX_RPS" '/^Requests\/sec/ { print sum + $2 }' "$WORK/max-$port.txt")"
done
HALF_RPS="$(awk -v m="$MAX_RPS" 'BEGIN { printf "%.0f", m / 2 }')"
say "maximum $MAX_RPS req/s over both instances; soaking at $HALF_RPS req/s for ${SOAK_SECONDS}s"

# hey per route and instance, in one-minute chunks so each minute has its own percentiles.
CHUNK=$(( SOAK_SECONDS < 60 ? SOAK_SECONDS : 60 ))
CHUNKS=$(( (SOAK_SECONDS + CHUNK - 1) / CHUNK ))
WORKERS=4
mkdir -p "$WORK/hey"
drive() { # name weight method path who port tag
  local name="$1" weight="$2" method="$3" path="$4" who="$5" port="$6" tag="$7" token per
  token="$COMMITTEE"
  [ "$who" = resident ] && { [ "$tag" = a ] && token="$RESIDENT_A" || token="$RESIDENT_B"; }
  per="$(awk -v r="$HALF_RPS" -v w="$weight" -v c="$WORKERS" 'BEGIN { printf "%.3f", r * w / 100 / 2 / c }')"
  local args=(-z "${CHUNK}s" -c "$WORKERS" -q "$per" -t 30 -m "$method" -H "Authorization: Bearer $token")
  [ "$name" = submit ] && args+=(-T application/json -D "$WORK/submit.json")
  [ "$name" = read_all ] && args+=(-T application/json -D "$WORK/empty.json")
  for minute in $(seq 1 "$CHUNKS"); do
    hey "${args[@]}" "http://127.0.0.1:$port$path" >"$WORK/hey/$name-$tag-$minute.txt" 2>&1 || true
  done
}
DRIVERS=()
for route in "${ROUTES[@]}"; do
  read -r name weight method path who <<<"$route"
  drive "$name" "$weight" "$method" "$path" "$who" "$PORT_A" a &
  DRIVERS+=("$!")
  drive "$name" "$weight" "$method" "$path" "$who" "$PORT_B" b &
  DRIVERS+=("$!")
done
PIDS+=("${DRIVERS[@]}")
for pid in "${DRIVERS[@]}"; do wait "$pid"; done
touch "$WORK/stop-sampling"
wait "$SAMPLER" 2>/dev/null || true
read -r HELD_OPEN HELD_REQUESTS HELD_ERRORS HELD_RECONNECTS <"$WORK/held"

for port in "$PORT_A" "$PORT_B"; do
  if grep -qE ' (ERROR|WARN) ' "$WORK/server-$port.log"; then
    say "warnings and errors logged by the instance on $port (last 10)"
    grep -E ' (ERROR|WARN) ' "$WORK/server-$port.log" | tail -10 >&2
  fi
done

python3 - "$WORK" "$CHUNKS" "$MAX_RPS" "$HALF_RPS" "$SOAK_SECONDS" "$HELD" "$HELD_OPEN" "$HELD_REQUESTS" \
  "$HELD_ERRORS" "$HELD_RECONNECTS" "${ROUTES[@]}" <<'PY'
import re, sys, os
work, chunks, max_rps, half_rps, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
held, held_open, held_requests, held_errors, held_reconnects = (int(x) for x in sys.argv[6:11])
routes = [r.split()[:4] for r in sys.argv[11:]]

def parse(path):
    text = open(path).read() if os.path.exists(path) else ""
    pct = dict(re.findall(r"(\d+)% in ([\d.]+) secs", text))
    ok = sum(int(n) for code, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", text) if code.startswith("2"))
    bad = sum(int(n) for code, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", text) if not code.startswith("2"))
    errors = 0
    if "Error distribution:" in text:
        errors = sum(int(n) for n in re.findall(r"^\s+\[(\d+)\]\s", text.split("Error distribution:")[1], re.M))
    return {"p50": float(pct.get("50", "nan")) * 1000, "p99": float(pct.get("99", "nan")) * 1000,
            "ok": ok, "bad": bad + errors}

print(f"\nMaximum (wrk, the mix, both instances): {max_rps:.0f} req/s; soak at {half_rps} req/s for {seconds} s.")
print("\n| route | weight | requests | errors | p50 ms first min | p50 ms last min | p99 ms first min | p99 ms last min | p99 last/first |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
all_ok = all_bad = 0
worst_ratio = 0.0
for name, weight, method, path in routes:
    minutes = [[parse(f"{work}/hey/{name}-{tag}-{m}.txt") for tag in "ab"] for m in range(1, chunks + 1)]
    ok = sum(r["ok"] for minute in minutes for r in minute)
    bad = sum(r["bad"] for minute in minutes for r in minute)
    all_ok += ok; all_bad += bad
    first, last = minutes[0], minutes[-1]
    p50f, p50l = max(r["p50"] for r in first), max(r["p50"] for r in last)
    p99f, p99l = max(r["p99"] for r in first), max(r["p99"] for r in last)
    ratio = p99l / p99f if p99f > 0 else float("nan")
    worst_ratio = max(worst_ratio, ratio)
    print(f"| `{method} {path.split('?')[0]}` ({name}) | {weight} | {ok + bad} | {bad} | {p50f:.2f} | {p50l:.2f} | {p99f:.2f} | {p99l:.2f} | {ratio:.2f} |")
total = all_ok + all_bad
print(f"\nLoad requests: {total}, errors {all_bad} ({100.0 * all_bad / max(total, 1):.3f} %). Held keep-alive connections: "
      f"{held_open} of {held} open at the end, {held_requests} requests on them, {held_errors} errors, {held_reconnects} reconnects.")
print("(p50/p99 per minute: the worse of the two instances.)")

print("\n| t (s) | RSS instance A (MB) | RSS instance B (MB) | held connections | load average |")
print("|---:|---:|---:|---:|---:|")
samples = [line.split() for line in open(f"{work}/rss")]
for t, a, b, h, load in samples:
    print(f"| {t} | {int(a) / 1024:.1f} | {int(b) / 1024:.1f} | {h} | {load} |")
rss_max = max(max(int(a), int(b)) for _, a, b, _, _ in samples) / 1024
warm = [s for s in samples if int(s[0]) >= 120] or samples
growth = [(int(warm[-1][i]) - int(warm[0][i])) / 1024 for i in (1, 2)]
print(f"\nRSS max {rss_max:.1f} MB; after warm-up (t ≥ 120 s) A {growth[0]:+.1f} MB, B {growth[1]:+.1f} MB.")
targets = [("zero errors", all_bad == 0 and held_errors == 0),
           ("p99 last minute ≤ 1.5 × the first, every route", worst_ratio <= 1.5),
           ("RSS ≤ 150 MB per instance", rss_max <= 150),
           ("RSS not growing after warm-up (< 10 MB)", max(growth) < 10)]
for what, met in targets:
    print(f"target {'met' if met else 'NOT MET'}: {what}")
PY
