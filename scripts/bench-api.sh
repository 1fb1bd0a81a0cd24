#!/usr/bin/env bash
# (The care round's alert storm is scripts/bench-care-alerts.sh; volunteering is bench-volunteering.sh.)
# Benchmark of the read path and the 邻办事 writes on PostgreSQL + Redis, at 10k and then 1M requests in
# one community. Every figure is a ratio to a baseline measured in the same run with the same connection
# count: `pgbench -S` (select-only) for reads, `pgbench` TPC-B (right before each write load) for writes,
# and a bare `GET /healthz`.
# For each read: the throughput at full load (wrk), then the p99 at half that rate (hey, rate-limited).
# Not a test: it prints a table; the figures of a run are recorded in docs/benchmarks.md.
#
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres, trust), Redis on 127.0.0.1:6379, psql, pgbench,
# redis-cli, wrk, hey, curl and jq. Traffic stays on the loopback; every load run is bounded in time.
#
# Knobs (environment): EHOME_BIN (a built release binary; else built here), BENCH_SMALL_ROWS (10000),
# BENCH_LARGE_ROWS (1000000), BENCH_DURATION (10s per measure), BENCH_CONNECTIONS (8),
# BENCH_DEEP_PAGES (50), BENCH_PORT (random 18100-18999), BENCH_EXPLAIN (1: EXPLAIN ANALYZE of the
# queue's statement at each size), BENCH_ONLY (all; writes: the baselines and the two write loads only,
# for probing a write's cost), BENCH_CPU (1: the CPU time per write of the app, PostgreSQL and Redis,
# read from /proc around each write load).
set -euo pipefail
cd "$(dirname "$0")/.."

SMALL_ROWS="${BENCH_SMALL_ROWS:-10000}"
LARGE_ROWS="${BENCH_LARGE_ROWS:-1000000}"
DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-8}"
DEEP_PAGES="${BENCH_DEEP_PAGES:-50}"
PORT="${BENCH_PORT:-$((18100 + RANDOM % 900))}"
EXPLAIN="${BENCH_EXPLAIN:-1}"
ONLY="${BENCH_ONLY:-all}"
CPU="${BENCH_CPU:-0}"
case "$ONLY" in all | writes) ;; *) echo "bench-api: BENCH_ONLY is all or writes, not '$ONLY'" >&2; exit 2 ;; esac
DB="ehome_bench_$$"
PGBENCH_DB="ehome_bench_pgbench_$$"
BASE="http://127.0.0.1:${PORT}"
WORK="$(mktemp -d)"
SERVER_PID=""
# Residents whose tokens the /me reads rotate through.
TOKENS=100

say() { printf '\n== %s\n' "$*" >&2; }
psql_db() { psql -h 127.0.0.1 -U postgres -X -q -v ON_ERROR_STOP=1 -d "$1" "${@:2}"; }

for tool in psql pgbench redis-cli wrk hey curl jq; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench-api: $tool is missing (Debian: apt-get install -y postgresql-client redis-tools wrk hey curl jq)" >&2
    exit 2
  fi
done

cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  for db in "$DB" "$PGBENCH_DB"; do
    psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  redis-cli --scan --pattern "benchapi$$:*" 2>/dev/null | xargs -r -n 500 redis-cli del >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${EHOME_BIN:-}" ]; then
  BIN="$EHOME_BIN"
else
  say "building ehome (release)"
  cargo build --release -p ehome-api --bin ehome >&2
  BIN="$PWD/target/release/ehome"
fi

say "scratch databases $DB and $PGBENCH_DB"
psql_db postgres -c "CREATE DATABASE $DB" >/dev/null
psql_db postgres -c "CREATE DATABASE $PGBENCH_DB" >/dev/null
pgbench -h 127.0.0.1 -U postgres -i -s 10 -q "$PGBENCH_DB" >/dev/null 2>&1
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export EHOME_ENV=dev REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX="benchapi$$:"
"$BIN" migrate up >&2

# The community, 2 grids, 10 buildings with 100 households each, 1000 residents (one per household,
# each holding the resident role), 20 notifications for each of the first 100, and the 7 default
# categories with their SLAs.
COMMUNITY="$(psql_db "$DB" -At <<'SQL'
INSERT INTO districts (name) VALUES ('海曙区');
INSERT INTO streets (district_id, name) SELECT id, '南门街道' FROM districts;
INSERT INTO communities (street_id, name, created_at) SELECT id, '压测社区', now() FROM streets;
INSERT INTO grids (community_id, name) SELECT c.id, '第' || g || '网格' FROM communities c, generate_series(1, 2) g;
INSERT INTO buildings (community_id, grid_id, name)
  SELECT g.community_id, g.id, g.id || '-' || b || '号楼' FROM grids g, generate_series(1, 5) b;
INSERT INTO households (building_id, community_id, label)
  SELECT b.id, b.community_id, (100 * (1 + h / 10) + h % 10)::text FROM buildings b, generate_series(0, 99) h;
INSERT INTO users (openid, nickname, is_admin, created_at, updated_at)
  SELECT 'bench-resident-' || n, '居民' || n, false, now(), now() FROM generate_series(1, 1000) n;
INSERT INTO household_members (household_id, community_id, user_id, created_at)
  SELECT h.id, h.community_id, u.id, now()
  FROM (SELECT id, community_id, row_number() OVER (ORDER BY id) AS n FROM households) h
  JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users WHERE openid LIKE 'bench-resident-%') u USING (n);
INSERT INTO member_roles (community_id, user_id, role, scope_id, created_at)
  SELECT community_id, user_id, 'resident', 0, now() FROM household_members;
INSERT INTO notifications (user_id, kind, title, body, created_at)
  SELECT u.id, 'request_update', '您的报事有新进展', '压测通知 ' || k, now() - k * interval '1 hour'
  FROM users u, generate_series(1, 20) k WHERE u.openid LIKE 'bench-resident-%' AND u.id <= (SELECT min(id) + 99 FROM users);
INSERT INTO request_categories (community_id, key, name, response_sla_hours, resolution_sla_hours, active, created_at)
  SELECT c.id, k.key, k.name, k.response, k.resolution, true, now()
  FROM communities c, (VALUES ('repair', '维修', 24, 72), ('environment', '环境卫生', 24, 72),
    ('safety', '安全隐患', 4, 24), ('neighbour_dispute', '邻里纠纷', 24, 168),
    ('elderly_care', '关爱老人', 12, 48), ('facilities', '公共设施', 24, 120),
    ('other', '其他', 48, 168)) AS k(key, name, response, resolution);
SELECT id FROM communities;
SQL
)"
BUILDING="$(psql_db "$DB" -At -c "SELECT min(id) FROM buildings")"
CATEGORIES="$(psql_db "$DB" -At -c "SELECT string_agg(id::text, ', ' ORDER BY id) FROM request_categories")"

# Appends `count` requests: 97% finished over the past year (confirmed, closed after the window,
# rejected, withdrawn), 3% open and created in the last 10 days (about two thirds of those overdue).
# With `submitted_only` = 1, every request is submitted a minute ago (work for the transition measure).
seed_requests() {
  local count="$1" submitted_only="${2:-0}"
  psql_db "$DB" -v count="$count" -v community="$COMMUNITY" -v fresh="$submitted_only" >/dev/null <<'SQL'
WITH refs AS (
  SELECT (SELECT array_agg(id ORDER BY id) FROM request_categories WHERE community_id = :community) AS categories,
         (SELECT array_agg(id ORDER BY id) FROM buildings WHERE community_id = :community) AS buildings,
         (SELECT array_agg(grid_id ORDER BY id) FROM buildings WHERE community_id = :community) AS grids,
         (SELECT array_agg(id ORDER BY id) FROM users WHERE openid LIKE 'bench-resident-%') AS users
), draws AS (
  SELECT g, CASE WHEN :fresh = 1 THEN 0 ELSE random() END AS r, random() AS u, random() AS v, random() AS w
  FROM generate_series(1, :count) AS g
), shaped AS (
  SELECT d.*,
    CASE WHEN r < 0.01 THEN 'submitted' WHEN r < 0.02 THEN 'accepted' WHEN r < 0.03 THEN 'in_progress'
         WHEN r < 0.78 THEN 'confirmed' WHEN r < 0.91 THEN 'closed_timeout' WHEN r < 0.97 THEN 'rejected'
         ELSE 'withdrawn' END AS status,
    CASE WHEN :fresh = 1 THEN now() - interval '1 minute'
         WHEN r < 0.03 THEN now() - u * interval '10 days'
         ELSE now() - interval '10 days' - u * interval '355 days' END AS created
  FROM draws d
), timed AS (
  SELECT s.*,
    CASE WHEN status IN ('submitted', 'withdrawn') THEN NULL ELSE created + v * interval '20 hours' END AS responded,
    CASE WHEN status IN ('confirmed', 'closed_timeout') THEN created + v * interval '20 hours' + w * interval '48 hours' END AS resolved
  FROM shaped s
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
  '压测请求 ' || g || ' 号：楼道灯不亮', '压测数据，第 ' || g || ' 条', NULL, '[]',
  CASE WHEN w < 0.1 THEN 'urgent' ELSE 'normal' END, false, status,
  status IN ('submitted', 'accepted', 'in_progress'), 'published', 'building_leader', NULL, 0, 0,
  created + interval '24 hours', created + interval '72 hours', responded, resolved,
  CASE WHEN status IN ('submitted', 'accepted', 'in_progress') THEN NULL
       WHEN resolved IS NOT NULL THEN resolved + interval '2 days'
       ELSE created + interval '1 day' END,
  CASE WHEN status = 'confirmed' AND w < 0.6 THEN 1 + floor(v * 5)::int END, NULL, created, created
FROM timed, refs;
SQL
  # The daily statistics rollups, which the app keeps in step with every write, rebuilt for the rows
  # written here behind its back. Then what autovacuum would do after a bulk insert (it is off on this
  # machine): the planner's statistics and the visibility map, which index-only scans read.
  "$BIN" stats rebuild >/dev/null
  psql_db "$DB" -c "VACUUM ANALYZE" >/dev/null
}

start_server() {
  EHOME_BIND="127.0.0.1:$PORT" EHOME_SEED_DEMO=0 REQUEST_JOB_INTERVAL_SECONDS=0 \
    RATE_WRITES_PER_IP_PER_MINUTE=1000000 RATE_WRITES_PER_USER_PER_MINUTE=1000000 \
    RATE_READS_PER_IP_PER_MINUTE=1000000 RATE_READS_PER_USER_PER_MINUTE=1000000 \
    RATE_LOGIN_PER_IP_PER_MINUTE=100000 REQUEST_SUBMISSIONS_PER_HOUR=100000 RUST_LOG=warn \
    "$BIN" serve >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -fsS "$BASE/healthz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "bench-api: the server did not come up:" >&2
  cat "$WORK/server.log" >&2
  exit 1
}

login() { # openid → a fresh access token (they live 15 minutes)
  curl -fsS -X POST "$BASE/api/v1/auth/dev-login" -H 'content-type: application/json' \
    -d "{\"openid\": \"$1\", \"nickname\": \"压测\"}" | jq -r .access_token
}

# Lua for wrk: GET `path`, rotating through the residents' tokens.
rotate_lua() {
  cat >"$WORK/rotate.lua" <<LUA
local tokens = {}
for line in io.lines("$WORK/tokens") do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[i] })
end
LUA
}

# Lua for wrk: residents submit requests about their own buildings (no building_id: the one home), in
# every category, each with its own title (threads numbered by setup()). The submitters live ten to a
# building; a load where one building reports in one category only would measure how the duplicate
# check reads thousands of open requests of that building and category (see docs/benchmarks.md).
submit_lua() {
  cat >"$WORK/submit.lua" <<LUA
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("tid", threads) end
local tokens = {}
for line in io.lines("$WORK/submitters") do tokens[#tokens + 1] = line end
local categories = { $CATEGORIES }
local i = 0
request = function()
  i = i + 1
  local body = string.format('{"category_id": %d, "title": "压测提交 %d-%d 楼道灯不亮", "description": "压测写入"}',
    categories[i % #categories + 1], tid, i)
  return wrk.format("POST", "/api/v1/requests", { ["Authorization"] = "Bearer " .. tokens[i % #tokens + 1],
    ["content-type"] = "application/json" }, body)
end
LUA
}

# Lua for wrk: the committee accepts submitted requests, each id once (thread t takes every n-th).
accept_lua() {
  cat >"$WORK/accept.lua" <<LUA
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("tid", threads); thread:set("nthreads", 2) end
local ids = {}
for line in io.lines("$WORK/submitted") do ids[#ids + 1] = line end
local i = 0
request = function()
  local at = tid + i * nthreads
  i = i + 1
  return wrk.format("POST", "/api/v1/requests/" .. ids[at] .. "/transitions", { ["Authorization"] = "Bearer $COMMITTEE",
    ["content-type"] = "application/json" }, '{"action": "accept"}')
end
LUA
}

# Full-load throughput of one URL (wrk; fails on any non-2xx). Args: url, token or @rotate, [lua].
rps() {
  local url="$1" token="$2" out
  local args=()
  if [ "$token" = "@rotate" ]; then args=(-s "$WORK/rotate.lua"); elif [ -n "$token" ]; then args=(-H "Authorization: Bearer $token"); fi
  [ -n "${3:-}" ] && args=(-s "$3")
  out="$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --timeout 60s --latency "${args[@]}" "$url")"
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
    echo "bench-api: errors from $url:" >&2
    echo "$out" >&2
    tail -20 "$WORK/server.log" >&2
    exit 1
  fi
  awk '/^Requests\/sec/ { print $2 }' <<<"$out"
}

# p99 in ms of one URL at `rate` req/s in all (hey, rate-limited per connection). Args: url, token, rate.
p99_at() {
  local url="$1" token="$2" rate="$3" per out
  per="$(awk -v r="$rate" -v c="$CONNECTIONS" 'BEGIN { q = int(r / c); if (q < 1) q = 1; print q }')"
  local auth=()
  [ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
  out="$(hey -z "$DURATION" -c "$CONNECTIONS" -q "$per" "${auth[@]}" "$url")"
  if ! grep -qE '\[200\][[:space:]]+[0-9]+ responses' <<<"$out" \
    || grep -qE '\[[345][0-9]{2}\][[:space:]]+[0-9]+ responses|Error distribution' <<<"$out"; then
    echo "bench-api: errors at half load from $url:" >&2
    echo "$out" >&2
    exit 1
  fi
  awk '/99% in/ { printf "%.2f", $3 * 1000 }' <<<"$out"
}

declare -A RPS P99
# One read: full load, then the p99 at half that rate (with the first token when the load rotated).
read_measure() {
  local key="$1" url="$2" token="$3" one="$3"
  [ "$token" = "@rotate" ] && one="$(head -1 "$WORK/tokens")"
  curl -fsS -o /dev/null -H "Authorization: Bearer $one" "$url" || { echo "bench-api: $url fails" >&2; exit 1; }
  say "$key: $url"
  RPS[$key,$SIZE]="$(rps "$url" "$token")"
  P99[$key,$SIZE]="$(p99_at "$url" "$one" "$(awk -v r="${RPS[$key,$SIZE]}" 'BEGIN { print r / 2 }')")"
  say "$key: ${RPS[$key,$SIZE]} req/s; p99 ${P99[$key,$SIZE]} ms at half that rate"
}

# The queue's statements as queue.rs writes them: the overdue rank, then the rest, each an index range
# scan in (created_at, id) order with the page's reporters joined by primary key (the first page reads
# the second rank only when the first has too few rows). Then a submission's duplicate check as
# requests/store.rs writes it.
explain_queue() {
  local at="$1"
  psql_db "$DB" -v community="$COMMUNITY" -v at="'$at'" -v building="$BUILDING" -v category="${CATEGORIES%%,*}" <<'SQL'
\echo '-- rank 0 (open and overdue), first page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT r.*, reporter.* FROM service_requests r LEFT JOIN users reporter ON reporter.id = r.reporter_id
WHERE r.community_id = :community
  AND (r.is_open = TRUE AND (r.resolution_due_at < :at OR (r.first_response_at IS NULL AND r.response_due_at < :at)))
ORDER BY r.created_at, r.id LIMIT 21;
\echo '-- rank 1 (the rest), first page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT r.*, reporter.* FROM service_requests r LEFT JOIN users reporter ON reporter.id = r.reporter_id
WHERE r.community_id = :community
  AND NOT (r.is_open = TRUE AND (r.resolution_due_at < :at OR (r.first_response_at IS NULL AND r.response_due_at < :at)))
ORDER BY r.created_at, r.id LIMIT 21;
\echo '-- the duplicate check of a report: the newest 200 open requests of its building and category'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT id, title FROM service_requests
WHERE building_id = :building AND category_id = :category AND is_open = TRUE AND moderation = 'published'
ORDER BY id DESC LIMIT 200;
SQL
}

# CPU seconds so far of the app's processes (named as its binary), PostgreSQL's and Redis's (utime + stime; a process
# that ended meanwhile is not counted, so the pools' long-lived connections are what is measured).
cpu_seconds() {
  local tck
  tck="$(getconf CLK_TCK)"
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v tck="$tck" -v app="$(basename "$BIN" | cut -c1-15)" '{
    name = $0; sub(/^[0-9]+ \(/, "", name); sub(/\) .*$/, "", name)
    rest = $0; sub(/^.*\) /, "", rest); split(rest, f, " ")
    if (name == app || name == "postgres" || name == "redis-server") t[name] += (f[12] + f[13]) / tck
  } END { printf "%.2f %.2f %.2f", t[app], t["postgres"], t["redis-server"] }'
}

# One write load (wrk with a Lua script); with BENCH_CPU=1 also each process kind's CPU ms per write.
write_load() {
  local key="$1" lua="$2" before after
  checkpoint
  before="$(cpu_seconds)"
  RPS[$key,$SIZE]="$(rps "$BASE/api/v1/requests" "" "$lua")"
  after="$(cpu_seconds)"
  if [ "$CPU" = "1" ]; then
    say "$SIZE $key: $(awk -v b="$before" -v a="$after" -v r="${RPS[$key,$SIZE]}" -v d="${DURATION%s}" 'BEGIN {
      split(b, x, " "); split(a, y, " "); n = r * d
      printf "CPU per write: app %.3f ms, PostgreSQL %.3f ms, Redis %.3f ms (%d writes)",
        1000 * (y[1] - x[1]) / n, 1000 * (y[2] - x[2]) / n, 1000 * (y[3] - x[3]) / n, n }')"
  fi
}

# Dirty pages written out (a seeding's, a load's) before measuring, so that their write-back is not
# measured: each write load, and the TPC-B it is compared with, starts right after a checkpoint instead
# of meeting a timed one (every 5 minutes here) at whatever moment of the run it falls.
checkpoint() { psql_db "$DB" -c "CHECKPOINT" >/dev/null; }

declare -A BASE_RO BASE_RW LOAD
# The writes' baseline, `pgbench` TPC-B with the same connections, measured right before each write
# load: the database's write-back and WAL then stand as they do for the load measured after it.
tpc_b() {
  checkpoint
  BASE_RW[$1,$SIZE]="$(pgbench -h 127.0.0.1 -U postgres -c "$CONNECTIONS" -j 2 -T "${DURATION%s}" "$PGBENCH_DB" 2>/dev/null \
    | awk '/^tps/ { print $3; exit }')"
  say "$SIZE: pgbench TPC-B ${BASE_RW[$1,$SIZE]} tps (before $1)"
}
measure_size() {
  LOAD[$SIZE]="$(cut -d' ' -f1 /proc/loadavg)"
  say "$SIZE: pgbench -S, $CONNECTIONS clients (load average ${LOAD[$SIZE]})"
  BASE_RO[$SIZE]="$(pgbench -h 127.0.0.1 -U postgres -S -c "$CONNECTIONS" -j 2 -T "${DURATION%s}" "$PGBENCH_DB" 2>/dev/null \
    | awk '/^tps/ { print $3; exit }')"
  say "$SIZE: pgbench -S ${BASE_RO[$SIZE]} tps"
  RPS[healthz,$SIZE]="$(rps "$BASE/healthz" "")"
  P99[healthz,$SIZE]="$(p99_at "$BASE/healthz" "" "$(awk -v r="${RPS[healthz,$SIZE]}" 'BEGIN { print r / 2 }')")"

  : >"$WORK/tokens"
  for n in $(seq 1 "$TOKENS"); do login "bench-resident-$n" >>"$WORK/tokens"; done
  : >"$WORK/submitters"
  for openid in $(psql_db "$DB" -At -c "SELECT openid FROM (SELECT u.openid, row_number() OVER (PARTITION BY h.building_id
      ORDER BY u.id) AS n FROM users u JOIN household_members m ON m.user_id = u.id JOIN households h ON h.id = m.household_id
      WHERE u.openid LIKE 'bench-resident-%') ten WHERE n <= 10"); do
    login "$openid" >>"$WORK/submitters"
  done
  rotate_lua
  COMMITTEE="$(login bench-committee)"
  [ "$ONLY" = "writes" ] || measure_reads
  measure_writes
}

measure_reads() {
  local committee="$COMMITTEE" queue cursor deep id month_from today
  read_measure me "$BASE/api/v1/me" @rotate
  read_measure points "$BASE/api/v1/me/points" @rotate
  read_measure notifications "$BASE/api/v1/me/notifications" @rotate

  queue="$BASE/api/v1/requests?community_id=$COMMUNITY&limit=20"
  cursor=""
  for _ in $(seq 1 "$DEEP_PAGES"); do
    cursor="$(curl -fsS -H "Authorization: Bearer $committee" "$queue${cursor:+&cursor=$cursor}" | jq -r .next_cursor)"
    [ "$cursor" = "null" ] && { echo "bench-api: fewer than $DEEP_PAGES pages" >&2; exit 1; }
  done
  deep="$queue&cursor=$cursor"
  id="$(psql_db "$DB" -At -c "SELECT id FROM service_requests ORDER BY id OFFSET (SELECT count(*) / 2 FROM service_requests) LIMIT 1")"
  today="$(TZ=Asia/Shanghai date +%F)"
  month_from="$(TZ=Asia/Shanghai date -d "$today -29 days" +%F)"
  read_measure first "$queue" "$committee"
  read_measure deep "$deep" "$committee"
  read_measure by_status "$queue&status=submitted" "$committee"
  read_measure overdue "$queue&overdue=true" "$committee"
  read_measure by_building "$queue&building_id=$BUILDING" "$committee"
  read_measure detail "$BASE/api/v1/requests/$id" "$committee"
  read_measure stats "$BASE/api/v1/communities/$COMMUNITY/stats?period=day&from=$month_from&to=$today" "$committee"
}

measure_writes() {
  say "$SIZE: writes — residents submit requests"
  submit_lua
  tpc_b submit
  write_load submit "$WORK/submit.lua"
  say "$SIZE: writes — the committee accepts submitted requests"
  seed_requests 40000 1
  psql_db "$DB" -At -c "SELECT id FROM service_requests WHERE status = 'submitted' AND created_at > now() - interval '1 hour'
    AND title LIKE '压测请求%' ORDER BY id" >"$WORK/submitted"
  accept_lua
  tpc_b accept
  write_load accept "$WORK/accept.lua"
  if [ "$EXPLAIN" = "1" ]; then
    say "$SIZE: the queue's first page, EXPLAIN ANALYZE"
    explain_queue "$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)" >&2
  fi
}


say "seeding $SMALL_ROWS requests"
seed_requests "$SMALL_ROWS"
checkpoint
start_server
login bench-committee >/dev/null
"$BIN" admin grant --user bench-committee --community "$COMMUNITY" --role committee >&2
SIZE=small
measure_size

say "seeding up to $LARGE_ROWS requests"
started=$(date +%s)
remaining=$((LARGE_ROWS - $(psql_db "$DB" -At -c 'SELECT count(*) FROM service_requests')))
while [ "$remaining" -gt 0 ]; do
  chunk=$(( remaining > 250000 ? 250000 : remaining ))
  seed_requests "$chunk"
  remaining=$((remaining - chunk))
done
SEED_SECONDS=$(( $(date +%s) - started ))
checkpoint
say "seeded in ${SEED_SECONDS}s; $(psql_db "$DB" -At -c 'SELECT count(*) FROM service_requests') rows"
SIZE=large
measure_size

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
printf '\nBaselines (same run, %s connections): pgbench -S %s / %s tps, pgbench TPC-B before submit %s / %s and before accept %s / %s tps, GET /healthz %s / %s req/s (p99 at half load %s / %s ms), at %s / %s rows\n' \
  "$CONNECTIONS" "${BASE_RO[small]}" "${BASE_RO[large]}" "${BASE_RW[submit,small]}" "${BASE_RW[submit,large]}" \
  "${BASE_RW[accept,small]}" "${BASE_RW[accept,large]}" \
  "${RPS[healthz,small]}" "${RPS[healthz,large]}" "${P99[healthz,small]}" "${P99[healthz,large]}" "$SMALL_ROWS" "$LARGE_ROWS"
printf '\n| endpoint | req/s %s | ratio %s | p99 ms half load %s | req/s %s | ratio %s | p99 ms half load %s | p99 %s/%s | target |\n' \
  "$SMALL_ROWS" "$SMALL_ROWS" "$SMALL_ROWS" "$LARGE_ROWS" "$LARGE_ROWS" "$LARGE_ROWS" "$LARGE_ROWS" "$SMALL_ROWS"
printf '|---|---:|---:|---:|---:|---:|---:|---:|---|\n'
READS=(me points notifications first deep by_status overdue by_building detail stats)
[ "$ONLY" = "writes" ] && READS=()
for key in "${READS[@]}"; do
  case "$key" in
    me) name='`GET /me`'; target='≥ 0.5 ×, p99 ≤ 2 ms' ;;
    points) name='`GET /me/points`'; target='≥ 0.5 ×, p99 ≤ 2 ms' ;;
    notifications) name='`GET /me/notifications`'; target='≥ 0.5 ×, p99 ≤ 2 ms' ;;
    first) name='queue, first page'; target='≥ 0.2 ×, p99 ≤ 10 ms, 1M/10k ≤ 1.5' ;;
    deep) name="queue, page $DEEP_PAGES"; target='≥ 0.2 ×, p99 ≤ 10 ms, 1M/10k ≤ 1.5' ;;
    by_status) name='queue, `status=submitted`'; target='≥ 0.2 ×, p99 ≤ 10 ms, 1M/10k ≤ 1.5' ;;
    overdue) name='queue, `overdue=true`'; target='≥ 0.2 ×, p99 ≤ 10 ms, 1M/10k ≤ 1.5' ;;
    by_building) name='queue, `building_id=`'; target='≥ 0.2 ×, p99 ≤ 10 ms, 1M/10k ≤ 1.5' ;;
    detail) name='`GET /requests/{id}`'; target='≥ 0.2 ×, p99 ≤ 10 ms, 1M/10k ≤ 1.5' ;;
    stats) name='`GET /communities/{id}/stats`, 30 days by day'; target='≥ 0.2 ×, p99 ≤ 10 ms, 1M/10k ≤ 1.5' ;;
  esac
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" \
    "${RPS[$key,small]}" "$(ratio "${RPS[$key,small]}" "${BASE_RO[small]}")" "${P99[$key,small]}" \
    "${RPS[$key,large]}" "$(ratio "${RPS[$key,large]}" "${BASE_RO[large]}")" "${P99[$key,large]}" \
    "$(ratio "${P99[$key,large]}" "${P99[$key,small]}")" "$target"
done
for key in submit accept; do
  case "$key" in
    submit) name='`POST /requests` (residents submit)' ;;
    accept) name='`POST /requests/{id}/transitions` accept' ;;
  esac
  printf '| %s | %s | %s × TPC-B | | %s | %s × TPC-B | | | ≥ 0.25 × TPC-B |\n' "$name" \
    "${RPS[$key,small]}" "$(ratio "${RPS[$key,small]}" "${BASE_RW[$key,small]}")" \
    "${RPS[$key,large]}" "$(ratio "${RPS[$key,large]}" "${BASE_RW[$key,large]}")"
done
printf '\nwrk -t2 -c%s -d%s at full load, hey -c%s at half that rate; %s CPUs; load average %s / %s at the start of each size; 1M seeding %s s\n' \
  "$CONNECTIONS" "$DURATION" "$CONNECTIONS" "$(nproc)" "${LOAD[small]}" "${LOAD[large]}" "$SEED_SECONDS"
