#!/usr/bin/env bash
# Benchmark of 邻互助 volunteering (issue #11) on PostgreSQL + Redis, two API instances, release build.
# Not a test: it prints a table of ratios against baselines measured in the same run; the figures of a
# run are recorded in docs/benchmarks.md.
#
#  1. History: BENCH_VOLUNTEERS volunteers (100,000) in activities of BENCH_PER_ACTIVITY (1,000)
#     attendances each (rows of the activities scene's tables, as its tests write them), every activity's
#     hours approved through the API in ONE bulk call each — so each volunteer has an hour record and an
#     award in the ledger, written by the product's own path. Each call's time is one sample of
#     "bulk approval of 1,000 attendances", compared with 1,000 single ledger transfers
#     (`ehome ledger bench --mode uniform --clients 1` in a scratch database of the same run).
#  2. `GET /api/v1/me/points` for signed-in volunteers (tokens of BENCH_TOKENS volunteers, rotated by wrk)
#     at full load, against `pgbench -S` with the same connection count; then the p99 at half that
#     rate (hey, rate-limited).
#  3. Check-in burst: BENCH_BURST (500) volunteers of one activity in progress check in within 10 s,
#     each through both instances (so every check-in is also repeated): every request answered, each
#     volunteer checked in once.
#
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres, trust), Redis on 127.0.0.1:6379, psql, pgbench,
# curl, jq, wrk and hey (installed with apt-get when missing and allowed). Traffic stays on loopback.
#
# Knobs: BENCH_VOLUNTEERS, BENCH_PER_ACTIVITY, BENCH_TOKENS (200), BENCH_BURST (500), BENCH_DURATION
# (10s), BENCH_CONNECTIONS (8), EHOME_BIN (a prebuilt binary instead of `cargo build --release`).
set -euo pipefail
cd "$(dirname "$0")/.."

VOLUNTEERS="${BENCH_VOLUNTEERS:-100000}"
PER_ACTIVITY="${BENCH_PER_ACTIVITY:-1000}"
TOKENS="${BENCH_TOKENS:-200}"
BURST="${BENCH_BURST:-500}"
DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-8}"
PORT_A="$((18100 + RANDOM % 400))"
PORT_B="$((PORT_A + 500))"
DB="ehome_benchvol_$$"
LEDGER_DB="ehome_benchvol_ledger_$$"
PGBENCH_DB="ehome_benchvol_pgbench_$$"
A="http://127.0.0.1:${PORT_A}"
B="http://127.0.0.1:${PORT_B}"
WORK="$(mktemp -d)"
PIDS=()

say() { printf '\n== %s\n' "$*" >&2; }
psql_db() { psql -h 127.0.0.1 -U postgres -X -q -v ON_ERROR_STOP=1 -d "$1" "${@:2}"; }

for tool in wrk hey; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    say "installing $tool"
    apt-get install -y "$tool" >&2 || { echo "bench-volunteering: $tool is missing (apt-get install -y $tool)" >&2; exit 2; }
  fi
done
for tool in psql pgbench curl jq redis-cli; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench-volunteering: $tool is missing" >&2; exit 2; }
done

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  for db in "$DB" "$LEDGER_DB" "$PGBENCH_DB"; do
    psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  redis-cli --scan --pattern "benchvol$$:*" 2>/dev/null | xargs -r -n 500 redis-cli del >/dev/null 2>&1 || true
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

say "scratch databases"
for db in "$DB" "$LEDGER_DB" "$PGBENCH_DB"; do psql_db postgres -c "CREATE DATABASE $db" >/dev/null; done
export EHOME_ENV=dev REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX="benchvol$$:"
DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" "$BIN" migrate up >&2
DATABASE_URL="postgres://postgres@127.0.0.1:5432/$LEDGER_DB" "$BIN" migrate up >&2
pgbench -h 127.0.0.1 -U postgres -i -s 10 -q "$PGBENCH_DB" >/dev/null 2>&1
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"

start_instance() {
  local port="$1" log="$2"
  EHOME_BIND="127.0.0.1:$port" EHOME_SEED_DEMO=0 REQUEST_JOB_INTERVAL_SECONDS=0 RUST_LOG=warn \
    RATE_WRITES_PER_IP_PER_MINUTE=1000000 RATE_WRITES_PER_USER_PER_MINUTE=1000000 \
    RATE_LOGIN_PER_IP_PER_MINUTE=1000000 RATE_READS_PER_IP_PER_MINUTE=1000000 \
    RATE_READS_PER_USER_PER_MINUTE=1000000 \
    "$BIN" serve >"$log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "bench-volunteering: the instance on $port did not come up:" >&2
  cat "$log" >&2
  exit 1
}

login() { # openid → access token (instance A)
  curl -fsS -X POST "$A/api/v1/auth/dev-login" -H 'content-type: application/json' \
    -d "{\"openid\": \"$1\", \"nickname\": \"志愿者\"}" | jq -r .access_token
}

say "seeding the community and $VOLUNTEERS volunteers"
COMMUNITY="$(psql_db "$DB" -At <<'SQL'
INSERT INTO districts (name) VALUES ('海曙区');
INSERT INTO streets (district_id, name) SELECT id, '南门街道' FROM districts;
INSERT INTO communities (street_id, name, created_at) SELECT id, '压测社区', now() FROM streets;
SELECT id FROM communities;
SQL
)"
psql_db "$DB" -v volunteers="$VOLUNTEERS" -v community="$COMMUNITY" >/dev/null <<'SQL'
INSERT INTO users (openid, nickname, is_admin, created_at, updated_at)
  SELECT 'bench-vol-' || n, '志愿者' || n, false, now(), now() FROM generate_series(1, :volunteers) n;
INSERT INTO volunteers (community_id, user_id, status, skills, real_name, leaderboard_consent, created_at)
  SELECT :community, id, 'approved', '["environment"]', NULL, (id % 10 <> 0), now()
  FROM users WHERE openid LIKE 'bench-vol-%';
-- Approval grants the volunteer role in the community (as POST /volunteers/{id}/decision does).
INSERT INTO member_roles (community_id, user_id, role, scope_id, created_at)
  SELECT :community, user_id, 'volunteer', 0, now() FROM volunteers;
SQL

start_instance "$PORT_A" "$WORK/a.log"
start_instance "$PORT_B" "$WORK/b.log"
login bench-committee >/dev/null
"$BIN" admin grant --user bench-committee --community "$COMMUNITY" --role committee >&2
COMMITTEE="$(login bench-committee)"
ORGANISER="$(psql_db "$DB" -At -c "SELECT id FROM users WHERE openid = 'bench-committee'")"

# Ended activities of 2 hours on consecutive past days, PER_ACTIVITY volunteers each, all attended.
ACTIVITIES=$(( (VOLUNTEERS + PER_ACTIVITY - 1) / PER_ACTIVITY ))
psql_db "$DB" -v n="$ACTIVITIES" -v per="$PER_ACTIVITY" -v community="$COMMUNITY" -v organiser="$ORGANISER" >/dev/null <<'SQL'
INSERT INTO activities (community_id, organiser_id, title, description, starts_at, ends_at, signup_deadline,
  capacity, audience, points_per_hour_minor, beneficiaries, status, checkin_secret, confirmed_count,
  signup_arrivals, created_at, updated_at)
SELECT :community, :organiser, '压测活动 ' || a, '压测数据', d + interval '9 hours', d + interval '11 hours',
  d + interval '8 hours', :per, 'community', 1000, 20, 'ended', md5(random()::text), :per, :per, now(), now()
FROM generate_series(1, :n) a, LATERAL (SELECT date_trunc('day', now()) - a * interval '1 day' AS d) day;
INSERT INTO activity_signups (activity_id, user_id, status, arrival, checked_in_at, checked_out_at, created_at, updated_at)
SELECT act.id, v.user_id, 'confirmed', v.rn, act.starts_at - interval '5 minutes', act.ends_at, now(), now()
FROM (SELECT user_id, row_number() OVER (ORDER BY user_id) AS rn FROM volunteers) v
JOIN (SELECT id, starts_at, ends_at, row_number() OVER (ORDER BY id) AS k FROM activities) act
  ON act.k = (v.rn - 1) / :per + 1;
ANALYZE;
SQL

say "approving $ACTIVITIES activities' hours, one bulk call each ($PER_ACTIVITY attendances)"
: >"$WORK/approvals"
approved=0
for activity in $(psql_db "$DB" -At -c "SELECT id FROM activities ORDER BY id"); do
  # A fresh token each time: on a loaded machine 100 approvals can outlast an access token's 15 minutes.
  COMMITTEE="$(login bench-committee)"
  out="$(curl -sS -o "$WORK/approve.json" -w '%{http_code} %{time_total}' -X POST \
    "$A/api/v1/activities/$activity/hours/approve" -H "Authorization: Bearer $COMMITTEE" \
    -H 'content-type: application/json' -H "Idempotency-Key: bench-approve-$activity" -d '{}')"
  [ "${out%% *}" = "200" ] || { echo "bench-volunteering: approval of $activity: $out $(cat "$WORK/approve.json")" >&2; exit 1; }
  echo "${out#* }" >>"$WORK/approvals"
  # This machine's PostgreSQL runs with autovacuum off, so nothing would analyse the tables the
  # approvals grow: the plans the app's connections keep stay those made for empty tables, and each
  # approval scans them whole (one took 253 s). Analyse between calls, as autovacuum would.
  if (( ++approved % 5 == 0 )); then
    psql_db "$DB" -c "ANALYZE ledger_accounts, ledger_account_shards, ledger_transfers, ledger_chain_head, hour_records"
  fi
done
RECORDS="$(psql_db "$DB" -At -c "SELECT count(*) FROM hour_records")"
TRANSFERS="$(psql_db "$DB" -At -c "SELECT count(*) FROM ledger_transfers")"
say "$RECORDS hour records, $TRANSFERS ledger transfers"
APPROVE_P50="$(sort -n "$WORK/approvals" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
APPROVE_MAX="$(sort -n "$WORK/approvals" | tail -1)"

say "1,000 single ledger transfers (ehome ledger bench, 1 client, uniform)"
SINGLE="$(DATABASE_URL="postgres://postgres@127.0.0.1:5432/$LEDGER_DB" "$BIN" ledger bench --clients 1 --seconds 10 \
  --mode uniform --json 2>/dev/null)"
SINGLE_TPS="$(jq -r .transfers_per_second <<<"$SINGLE")"
THOUSAND_SINGLE="$(awk -v t="$SINGLE_TPS" 'BEGIN { printf "%.3f", 1000 / t }')"

say "tokens of $TOKENS volunteers"
: >"$WORK/tokens"
for n in $(shuf -i 1-"$VOLUNTEERS" -n "$TOKENS"); do login "bench-vol-$n" >>"$WORK/tokens"; done
ONE_TOKEN="$(head -1 "$WORK/tokens")"
curl -fsS -H "Authorization: Bearer $ONE_TOKEN" "$A/api/v1/me/points" >&2; echo >&2
cat >"$WORK/rotate.lua" <<LUA
local tokens = {}
for line in io.lines("$WORK/tokens") do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[i] })
end
LUA

say "pgbench -S, $CONNECTIONS clients"
PGBENCH_S="$(pgbench -h 127.0.0.1 -U postgres -S -c "$CONNECTIONS" -j 2 -T "${DURATION%s}" "$PGBENCH_DB" 2>/dev/null \
  | awk '/^tps/ { print $3; exit }')"
say "GET /me/points at full load (wrk -t2 -c$CONNECTIONS, tokens rotated)"
WRK_OUT="$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/rotate.lua" "$A/api/v1/me/points")"
if grep -qE 'Non-2xx|Socket errors' <<<"$WRK_OUT"; then echo "$WRK_OUT" >&2; exit 1; fi
POINTS_RPS="$(awk '/^Requests\/sec/ { print $2 }' <<<"$WRK_OUT")"
HALF_RATE="$(awk -v r="$POINTS_RPS" -v c="$CONNECTIONS" 'BEGIN { q = int(r / 2 / c); if (q < 1) q = 1; print q }')"
say "GET /me/points at half that rate (hey, $HALF_RATE req/s per connection)"
HEY_OUT="$(hey -z "$DURATION" -c "$CONNECTIONS" -q "$HALF_RATE" -H "Authorization: Bearer $ONE_TOKEN" "$A/api/v1/me/points")"
POINTS_P99_HALF="$(awk '/99%% in/ || /99% in/ { printf "%.2f", $3 * 1000 }' <<<"$HEY_OUT")"
grep -q '\[200\]' <<<"$HEY_OUT" || { echo "$HEY_OUT" >&2; exit 1; }

say "check-in burst: $BURST volunteers of one activity, each through both instances"
BURST_ACTIVITY="$(psql_db "$DB" -At -v burst="$BURST" -v community="$COMMUNITY" -v organiser="$ORGANISER" <<'SQL'
INSERT INTO activities (community_id, organiser_id, title, description, starts_at, ends_at, signup_deadline,
  capacity, audience, points_per_hour_minor, status, checkin_secret, confirmed_count, signup_arrivals,
  created_at, updated_at)
VALUES (:community, :organiser, '压测签到', '压测数据', now() - interval '10 minutes', now() + interval '2 hours',
  now() - interval '1 hour', :burst, 'community', 1000, 'in_progress', md5(random()::text), :burst, :burst, now(), now())
RETURNING id;
SQL
)"
BURST_ACTIVITY="$(head -1 <<<"$BURST_ACTIVITY")"
psql_db "$DB" -v activity="$BURST_ACTIVITY" -v burst="$BURST" >/dev/null <<'SQL'
INSERT INTO activity_signups (activity_id, user_id, status, arrival, created_at, updated_at)
SELECT :activity, user_id, 'confirmed', row_number() OVER (ORDER BY user_id), now(), now()
FROM (SELECT user_id FROM volunteers ORDER BY user_id DESC LIMIT :burst) v;
SQL
: >"$WORK/burst-tokens"
for openid in $(psql_db "$DB" -At -c "SELECT u.openid FROM activity_signups s JOIN users u ON u.id = s.user_id WHERE s.activity_id = $BURST_ACTIVITY"); do
  login "$openid" >>"$WORK/burst-tokens"
done
CODE="$(curl -fsS -H "Authorization: Bearer $COMMITTEE" "$A/api/v1/activities/$BURST_ACTIVITY/checkin-code" | jq -r .code)"
started="$(date +%s.%N)"
awk -v a="$A" -v b="$B" '{ print a " " $0; print b " " $0 }' "$WORK/burst-tokens" \
  | xargs -P 64 -L 1 sh -c 'curl -sS -o /dev/null -w "%{http_code}\n" -X POST "$0/api/v1/activities/'"$BURST_ACTIVITY"'/checkin" \
      -H "Authorization: Bearer $1" -H "content-type: application/json" -d "{\"code\": \"'"$CODE"'\"}"' \
  >"$WORK/burst-codes"
BURST_SECONDS="$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')"
BURST_ANSWERED="$(wc -l <"$WORK/burst-codes")"
BURST_OK="$(grep -c '^200$' "$WORK/burst-codes" || true)"
if [ "$BURST_OK" != "$BURST_ANSWERED" ]; then
  say "check-in answers by status: $(sort "$WORK/burst-codes" | uniq -c | tr '\n' ' ')"
  curl -sS -X POST "$A/api/v1/activities/$BURST_ACTIVITY/checkin" -H "Authorization: Bearer $(head -1 "$WORK/burst-tokens")" \
    -H 'content-type: application/json' -d "{\"code\": \"$CODE\"}" >&2
  echo >&2
fi
BURST_IN="$(psql_db "$DB" -At -c "SELECT count(*) FROM activity_signups WHERE activity_id = $BURST_ACTIVITY AND checked_in_at IS NOT NULL")"
BURST_ROWS="$(psql_db "$DB" -At -c "SELECT count(*) FROM activity_signups WHERE activity_id = $BURST_ACTIVITY")"

say "ehome ledger verify"
"$BIN" ledger verify >&2

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
printf '\n| measure | figure | baseline (same run) | ratio | target |\n|---|---:|---:|---:|---|\n'
printf '| `GET /me/points`, %s volunteers, wrk -c%s | %s req/s | `pgbench -S` -c%s: %s tps | %s | ≥ 0.5 |\n' \
  "$VOLUNTEERS" "$CONNECTIONS" "$POINTS_RPS" "$CONNECTIONS" "$PGBENCH_S" "$(ratio "$POINTS_RPS" "$PGBENCH_S")"
printf '| `GET /me/points` p99 at half that rate | %s ms | | | ≤ 2 ms |\n' "$POINTS_P99_HALF"
printf '| bulk approval of %s attendances (one call; median of %s, max %s s) | %s s | 1,000 single ledger transfers: %s s | %s | |\n' \
  "$PER_ACTIVITY" "$ACTIVITIES" "$APPROVE_MAX" "$APPROVE_P50" "$THOUSAND_SINGLE" "$(ratio "$APPROVE_P50" "$THOUSAND_SINGLE")"
printf '| check-in burst: %s volunteers × 2 instances | %s answered, %s × 200 in %s s | | | all answered, none lost, none twice |\n' \
  "$BURST" "$BURST_ANSWERED" "$BURST_OK" "$BURST_SECONDS"
printf '| after the burst | %s of %s sign-ups checked in (one row each) | | | %s |\n' "$BURST_IN" "$BURST_ROWS" "$BURST"
printf '\n%s hour records and %s transfers written by the approvals; %s CPUs, load average %s at the end\n' \
  "$RECORDS" "$TRANSFERS" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)"
