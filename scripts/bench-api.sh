#!/usr/bin/env bash
# (The care round's alert storm is scripts/bench-care-alerts.sh.)
# Benchmark of the 邻办事 queue on PostgreSQL: p99 latency of the committee's first queue page, a deep
# queue page and a request's detail, with 10k and then 1M requests in one community, against a bare
# `GET /healthz` measured in the same run. Not a test: it prints a table; the figures of a run are
# recorded in docs/benchmarks.md.
#
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres, no password), wrk (`apt-get install -y wrk`),
# curl and jq. Traffic stays on the loopback; every load run is bounded in time.
#
# Knobs (environment): BENCH_SMALL_ROWS (10000), BENCH_LARGE_ROWS (1000000), BENCH_DURATION (10s per
# endpoint), BENCH_CONNECTIONS (8), BENCH_DEEP_PAGES (50), BENCH_PORT (random 18100-18999),
# BENCH_EXPLAIN (1: print EXPLAIN ANALYZE of the queue's two queries at each size).
set -euo pipefail
cd "$(dirname "$0")/.."

SMALL_ROWS="${BENCH_SMALL_ROWS:-10000}"
LARGE_ROWS="${BENCH_LARGE_ROWS:-1000000}"
DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-8}"
DEEP_PAGES="${BENCH_DEEP_PAGES:-50}"
PORT="${BENCH_PORT:-$((18100 + RANDOM % 900))}"
EXPLAIN="${BENCH_EXPLAIN:-1}"
DB="ehome_bench_$$"
BASE="http://127.0.0.1:${PORT}"
WORK="$(mktemp -d)"
SERVER_PID=""

say() { printf '\n== %s\n' "$*" >&2; }
psql_db() { psql -h 127.0.0.1 -U postgres -X -q -v ON_ERROR_STOP=1 -d "$1" "${@:2}"; }

for tool in psql wrk curl jq; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench-api: $tool is missing (Debian: apt-get install -y postgresql-client wrk curl jq)" >&2
    exit 2
  fi
done

cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  psql_db postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

say "building ehome (release)"
cargo build --release -p ehome-api --bin ehome >&2
BIN="$PWD/target/release/ehome"

say "scratch database $DB"
psql_db postgres -c "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export EHOME_ENV=dev
"$BIN" migrate up >&2

# The community, 2 grids, 10 buildings, 1000 residents and the 7 default categories with their SLAs.
COMMUNITY="$(psql_db "$DB" -At <<'SQL'
INSERT INTO districts (name) VALUES ('海曙区');
INSERT INTO streets (district_id, name) SELECT id, '南门街道' FROM districts;
INSERT INTO communities (street_id, name, created_at) SELECT id, '压测社区', now() FROM streets;
INSERT INTO grids (community_id, name) SELECT c.id, '第' || g || '网格' FROM communities c, generate_series(1, 2) g;
INSERT INTO buildings (community_id, grid_id, name)
  SELECT g.community_id, g.id, g.id || '-' || b || '号楼' FROM grids g, generate_series(1, 5) b;
INSERT INTO users (openid, nickname, is_admin, created_at, updated_at)
  SELECT 'bench-resident-' || n, '居民' || n, false, now(), now() FROM generate_series(1, 1000) n;
INSERT INTO request_categories (community_id, key, name, response_sla_hours, resolution_sla_hours, active, created_at)
  SELECT c.id, k.key, k.name, k.response, k.resolution, true, now()
  FROM communities c, (VALUES ('repair', '维修', 24, 72), ('environment', '环境卫生', 24, 72),
    ('safety', '安全隐患', 4, 24), ('neighbour_dispute', '邻里纠纷', 24, 168),
    ('elderly_care', '关爱老人', 12, 48), ('facilities', '公共设施', 24, 120),
    ('other', '其他', 48, 168)) AS k(key, name, response, resolution);
SELECT id FROM communities;
SQL
)"

# Appends `count` requests: 97% finished over the past year (confirmed, closed after the window,
# rejected, withdrawn), 3% open and created in the last 10 days (about two thirds of those overdue).
seed_requests() {
  local count="$1"
  psql_db "$DB" -v count="$count" -v community="$COMMUNITY" >/dev/null <<'SQL'
WITH refs AS (
  SELECT (SELECT array_agg(id ORDER BY id) FROM request_categories WHERE community_id = :community) AS categories,
         (SELECT array_agg(id ORDER BY id) FROM buildings WHERE community_id = :community) AS buildings,
         (SELECT array_agg(grid_id ORDER BY id) FROM buildings WHERE community_id = :community) AS grids,
         (SELECT array_agg(id ORDER BY id) FROM users WHERE openid LIKE 'bench-resident-%') AS users
), draws AS (
  SELECT g, random() AS r, random() AS u, random() AS v, random() AS w FROM generate_series(1, :count) AS g
), shaped AS (
  SELECT d.*,
    CASE WHEN r < 0.01 THEN 'submitted' WHEN r < 0.02 THEN 'accepted' WHEN r < 0.03 THEN 'in_progress'
         WHEN r < 0.78 THEN 'confirmed' WHEN r < 0.91 THEN 'closed_timeout' WHEN r < 0.97 THEN 'rejected'
         ELSE 'withdrawn' END AS status,
    CASE WHEN r < 0.03 THEN now() - u * interval '10 days'
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
ANALYZE service_requests;
SQL
}

start_server() {
  EHOME_BIND="127.0.0.1:$PORT" EHOME_SEED_DEMO=0 REQUEST_JOB_INTERVAL_SECONDS=0 \
    RATE_WRITES_PER_IP_PER_MINUTE=1000000 RATE_WRITES_PER_USER_PER_MINUTE=1000000 \
    RATE_LOGIN_PER_IP_PER_MINUTE=100000 RUST_LOG=warn \
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

# A fresh access token (they live 15 minutes) for the committee member.
committee_token() {
  curl -fsS -X POST "$BASE/api/v1/auth/dev-login" -H 'content-type: application/json' \
    -d '{"openid": "bench-committee", "nickname": "压测居委会"}' | jq -r .access_token
}

# p99 of one URL in milliseconds; fails on any non-2xx answer.
p99_ms() {
  local url="$1" token="${2:-}" out
  local auth=()
  [ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
  curl -fsS -o /dev/null "${auth[@]}" "$url" || { echo "bench-api: $url fails" >&2; exit 1; }
  out="$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --timeout 60s --latency "${auth[@]}" "$url")"
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
    echo "bench-api: non-2xx answers from $url:" >&2
    echo "$out" >&2
    exit 1
  fi
  echo "$out" | awk '/^Requests\/sec/ { printf "  %s req/s\n", $2 > "/dev/stderr" }'
  echo "$out" | awk '$1 == "99%" {
    v = $2; unit = v; gsub(/[0-9.]/, "", unit); sub(/[a-z]+$/, "", v);
    if (unit == "us") v /= 1000; else if (unit == "s") v *= 1000; else if (unit == "m") v *= 60000;
    printf "%.3f\n", v }'
}

# The queue's two queries as sea-orm writes them (queue.rs), and the keyset in row-value form.
explain_queue() {
  local at="$1" cursor_created="$2" cursor_id="$3"
  psql_db "$DB" -v community="$COMMUNITY" -v at="'$at'" -v cc="'$cursor_created'" -v cid="$cursor_id" <<'SQL'
\echo '-- rank 0 (open and overdue), first page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM service_requests
WHERE community_id = :community
  AND (is_open = TRUE AND (resolution_due_at < :at OR (first_response_at IS NULL AND response_due_at < :at)))
ORDER BY created_at ASC, id ASC LIMIT 21;
\echo '-- rank 1 (the rest) after a cursor in the middle, as queue.rs writes the keyset'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM service_requests
WHERE community_id = :community
  AND NOT (is_open = TRUE AND (resolution_due_at < :at OR (first_response_at IS NULL AND response_due_at < :at)))
  AND (created_at > :cc OR (created_at = :cc AND id > :cid))
ORDER BY created_at ASC, id ASC LIMIT 21;
\echo '-- the same with the keyset as a row value, (created_at, id) > (c, i)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM service_requests
WHERE community_id = :community
  AND NOT (is_open = TRUE AND (resolution_due_at < :at OR (first_response_at IS NULL AND response_due_at < :at)))
  AND (created_at, id) > (:cc, :cid)
ORDER BY created_at ASC, id ASC LIMIT 21;
SQL
}

# A queue cursor (base64url JSON, as queue.rs encodes it) for the rank-1 page that starts after the
# request in the middle of the community's history: where a committee member paging through every
# request would be halfway. Sets MIDDLE_CURSOR, MIDDLE_CREATED and MIDDLE_ID.
middle_cursor() {
  local at="$1" row
  row="$(psql_db "$DB" -At -F ' ' -c "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), id
    FROM service_requests WHERE community_id = $COMMUNITY ORDER BY created_at, id
    OFFSET (SELECT count(*) / 2 FROM service_requests WHERE community_id = $COMMUNITY) LIMIT 1")"
  MIDDLE_CREATED="${row% *}" MIDDLE_ID="${row#* }"
  MIDDLE_CURSOR="$(printf '{"at":"%s","rank":1,"created_at":"%s","id":%s}' "$at" "$MIDDLE_CREATED" "$MIDDLE_ID" \
    | base64 -w0 | tr '+/' '-_' | tr -d '=')"
}

declare -A RESULT
measure_size() {
  local label="$1" token first deep middle cursor id at
  token="$(committee_token)"
  first="$BASE/api/v1/requests?community_id=$COMMUNITY&limit=20"
  cursor=""
  for _ in $(seq 1 "$DEEP_PAGES"); do
    cursor="$(curl -fsS -H "Authorization: Bearer $token" "$first${cursor:+&cursor=$cursor}" | jq -r .next_cursor)"
    [ "$cursor" = "null" ] && { echo "bench-api: fewer than $DEEP_PAGES pages" >&2; exit 1; }
  done
  deep="$first&cursor=$cursor"
  at="$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)"
  middle_cursor "$at"
  middle="$first&cursor=$MIDDLE_CURSOR"
  id="$(psql_db "$DB" -At -c "SELECT id FROM service_requests ORDER BY id OFFSET (SELECT count(*) / 2 FROM service_requests) LIMIT 1")"
  RESULT[load,$label]="$(cut -d' ' -f1 /proc/loadavg)"
  say "$label rows: healthz (load average ${RESULT[load,$label]})"
  RESULT[healthz,$label]="$(p99_ms "$BASE/healthz")"
  say "$label rows: queue first page"
  RESULT[first,$label]="$(p99_ms "$first" "$token")"
  say "$label rows: queue page $DEEP_PAGES"
  RESULT[deep,$label]="$(p99_ms "$deep" "$token")"
  say "$label rows: queue page after the middle request"
  RESULT[middle,$label]="$(p99_ms "$middle" "$token")"
  say "$label rows: request $id"
  RESULT[detail,$label]="$(p99_ms "$BASE/api/v1/requests/$id" "$token")"
  if [ "$EXPLAIN" = "1" ]; then
    say "$label rows: query plans (rank-1 cursor after request $MIDDLE_ID, created $MIDDLE_CREATED)"
    explain_queue "$at" "$MIDDLE_CREATED" "$MIDDLE_ID" >&2
  fi
}

say "seeding $SMALL_ROWS requests"
seed_requests "$SMALL_ROWS"
# The seeding writes around the app: the statistics' daily rollups are recomputed from the rows.
"$BIN" stats rebuild >&2
start_server
committee_token >/dev/null
"$BIN" admin grant --user bench-committee --community "$COMMUNITY" --role committee >&2
measure_size small

say "seeding up to $LARGE_ROWS requests"
started=$(date +%s)
remaining=$((LARGE_ROWS - SMALL_ROWS))
while [ "$remaining" -gt 0 ]; do
  chunk=$(( remaining > 250000 ? 250000 : remaining ))
  seed_requests "$chunk"
  remaining=$((remaining - chunk))
done
"$BIN" stats rebuild >&2
say "seeded in $(( $(date +%s) - started ))s; $(psql_db "$DB" -At -c 'SELECT count(*) FROM service_requests') rows, $(psql_db "$DB" -At -c 'SELECT count(*) FROM service_requests WHERE is_open') open"
measure_size large

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
printf '\n| endpoint | p99 %s rows (ms) | p99 %s rows (ms) | %s/%s | ×healthz at %s | ×healthz at %s |\n' \
  "$SMALL_ROWS" "$LARGE_ROWS" "$LARGE_ROWS" "$SMALL_ROWS" "$SMALL_ROWS" "$LARGE_ROWS"
printf '|---|---:|---:|---:|---:|---:|\n'
for endpoint in healthz first deep middle detail; do
  case "$endpoint" in
    healthz) name='`GET /healthz`' ;;
    first) name='`GET /api/v1/requests?community_id=X&limit=20`' ;;
    deep) name="\`GET /api/v1/requests?…&cursor=\` (page $DEEP_PAGES)" ;;
    middle) name='`GET /api/v1/requests?…&cursor=` (after the middle request)' ;;
    detail) name='`GET /api/v1/requests/{id}`' ;;
  esac
  small="${RESULT[$endpoint,small]}" large="${RESULT[$endpoint,large]}"
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$small" "$large" "$(ratio "$large" "$small")" \
    "$(ratio "$small" "${RESULT[healthz,small]}")" "$(ratio "$large" "${RESULT[healthz,large]}")"
done
printf '\nwrk -t2 -c%s -d%s per endpoint, loopback, %s CPUs, load average %s / %s at the start of each size\n' \
  "$CONNECTIONS" "$DURATION" "$(nproc)" "${RESULT[load,small]}" "${RESULT[load,large]}"
