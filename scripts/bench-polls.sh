#!/usr/bin/env bash
# Ballot burst on PostgreSQL: 10,000 residents of 5,000 households (two per household) vote in one
# poll through two API instances sharing one database and one Redis; the two members of each
# household are sent to different instances at the same moment, so every household is a cross-instance
# race. Checks that every request is answered (201 or 409 ALREADY_VOTED, nothing else), that exactly
# 5,000 ballots count, that it all took under 60 s, and that `ehome polls verify` recounts the chain;
# prints ballots/s beside pgbench TPC-B TPS measured in the same run. Not a test: the figures of a run
# are recorded in docs/benchmarks.md.
#
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres, no password) with pgbench, Redis on
# 127.0.0.1:6379, wrk (`apt-get install -y wrk`), curl, jq, python3.
#
# Knobs (environment): BENCH_HOUSEHOLDS (5000), BENCH_CONNECTIONS (64 per instance),
# BENCH_PGBENCH_SECONDS (20), BENCH_LIMIT_SECONDS (60), EHOME_BIN (default: build the release binary).
set -euo pipefail
cd "$(dirname "$0")/.."

HOUSEHOLDS="${BENCH_HOUSEHOLDS:-5000}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
PGBENCH_SECONDS="${BENCH_PGBENCH_SECONDS:-20}"
LIMIT_SECONDS="${BENCH_LIMIT_SECONDS:-60}"
PORT_A="$((18100 + RANDOM % 400))"
PORT_B="$((PORT_A + 400))"
DB="ehome_bench_polls_$$"
PGDB="ehome_bench_pgbench_$$"
WORK="$(mktemp -d)"
PIDS=()
JWT_SECRET_VALUE="bench-polls-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"

say() { printf '\n== %s\n' "$*" >&2; }
psql_db() { psql -h 127.0.0.1 -U postgres -X -q -v ON_ERROR_STOP=1 -d "$1" "${@:2}"; }

for tool in psql pgbench wrk curl jq python3 redis-cli; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench-polls: $tool is missing (Debian: apt-get install -y postgresql-client postgresql-contrib wrk curl jq python3 redis-tools)" >&2
    exit 2
  fi
done

cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  psql_db postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  psql_db postgres -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli -h 127.0.0.1 --scan --pattern "bench-polls-$$:*" | xargs -r redis-cli -h 127.0.0.1 del >/dev/null 2>&1 || true
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

say "baseline: pgbench TPC-B (-s 10, 32 clients, ${PGBENCH_SECONDS}s)"
psql_db postgres -c "CREATE DATABASE $PGDB" >/dev/null
pgbench -h 127.0.0.1 -U postgres -i -s 10 -q "$PGDB" >/dev/null 2>&1
PGBENCH_TPS="$(pgbench -h 127.0.0.1 -U postgres -c 32 -j 2 -T "$PGBENCH_SECONDS" "$PGDB" 2>/dev/null \
  | awk '/^tps = / { print $3; exit }')"
say "pgbench: $PGBENCH_TPS TPS"

say "scratch database $DB: $HOUSEHOLDS households, two residents each"
psql_db postgres -c "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export EHOME_ENV=dev JWT_SECRET="$JWT_SECRET_VALUE"
"$BIN" migrate up >&2
COMMUNITY="$(psql_db "$DB" -At -v households="$HOUSEHOLDS" <<'SQL'
INSERT INTO districts (name) VALUES ('海曙区');
INSERT INTO streets (district_id, name) SELECT id, '南门街道' FROM districts;
INSERT INTO communities (street_id, name, created_at) SELECT id, '投票压测社区', now() FROM streets;
INSERT INTO grids (community_id, name) SELECT c.id, '第' || g || '网格' FROM communities c, generate_series(1, 5) g;
INSERT INTO buildings (community_id, grid_id, name)
  SELECT g.community_id, g.id, g.id || '-' || b || '号楼' FROM grids g, generate_series(1, 10) b;
INSERT INTO households (community_id, building_id, label)
  SELECT b.community_id, b.id, 'h' || n
  FROM generate_series(0, :households - 1) n
  JOIN (SELECT id, community_id, row_number() OVER (ORDER BY id) - 1 AS k FROM buildings) b
    ON b.k = n % (SELECT count(*) FROM buildings);
INSERT INTO users (openid, nickname, is_admin, created_at, updated_at)
  SELECT 'bench-voter-' || n, '居民' || n, false, now(), now() FROM generate_series(1, 2 * :households) n;
INSERT INTO household_members (household_id, community_id, user_id, created_at)
  SELECT h.id, h.community_id, u.id, now()
  FROM (SELECT id, community_id, row_number() OVER (ORDER BY id) AS k FROM households) h
  JOIN (SELECT id, row_number() OVER (ORDER BY id) AS k FROM users WHERE openid LIKE 'bench-voter-%') u
    ON (u.k + 1) / 2 = h.k;
INSERT INTO member_roles (community_id, user_id, role, scope_id, created_at)
  SELECT community_id, user_id, 'resident', 0, now() FROM household_members;
ANALYZE;
SELECT id FROM communities;
SQL
)"

start_instance() {
  local port="$1"
  EHOME_BIND="127.0.0.1:$port" EHOME_SEED_DEMO=0 REQUEST_JOB_INTERVAL_SECONDS=0 \
    REDIS_URL="redis://127.0.0.1:6379" REDIS_KEY_PREFIX="bench-polls-$$:" DATABASE_MAX_CONNECTIONS=16 \
    RATE_WRITES_PER_IP_PER_MINUTE=1000000 RATE_WRITES_PER_USER_PER_MINUTE=1000 \
    RATE_READS_PER_IP_PER_MINUTE=1000000 RATE_LOGIN_PER_IP_PER_MINUTE=100000 RUST_LOG=warn \
    "$BIN" serve >"$WORK/server-$port.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "bench-polls: the instance on $port did not come up:" >&2
  cat "$WORK/server-$port.log" >&2
  exit 1
}
say "two instances on ports $PORT_A and $PORT_B"
start_instance "$PORT_A"
start_instance "$PORT_B"

# The committee asks; the poll is secret, one ballot per household, no changes.
COMMITTEE="$(curl -fsS -X POST "http://127.0.0.1:$PORT_A/api/v1/auth/dev-login" -H 'content-type: application/json' \
  -d '{"openid": "bench-committee", "nickname": "压测居委会"}' | jq -r .access_token)"
"$BIN" admin grant --user bench-committee --community "$COMMUNITY" --role committee >&2
POLL_JSON="$(curl -fsS -X POST "http://127.0.0.1:$PORT_A/api/v1/polls" -H 'content-type: application/json' \
  -H "Authorization: Bearer $COMMITTEE" -d "$(jq -n --argjson c "$COMMUNITY" \
  --arg opens "$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)" --arg closes "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)" \
  '{community_id: $c, title: "小区是否加装电梯", options: ["同意", "反对"], scope: "community",
    eligibility: "household", secrecy: "secret", results_visibility: "live", allow_change: false,
    opens_at: $opens, closes_at: $closes}')")"
POLL="$(jq -r .poll.id <<<"$POLL_JSON")"
OPTION="$(jq -r '.poll.options[0].id' <<<"$POLL_JSON")"

# Access tokens for every resident (HS256 with the instances' secret, as the API issues them): the
# first member of each household goes to instance A, the second to instance B, in the same order.
psql_db "$DB" -At -F ' ' -c "SELECT user_id, household_id FROM household_members m JOIN users u ON u.id = m.user_id
  WHERE u.openid LIKE 'bench-voter-%' ORDER BY household_id, user_id" >"$WORK/members.txt"
python3 - "$JWT_SECRET_VALUE" "$WORK" <<'PY'
import base64, hashlib, hmac, json, sys, time
secret, work = sys.argv[1].encode(), sys.argv[2]
def b64(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
now = int(time.time())
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
seen, out = set(), {"a": [], "b": []}
for line in open(f"{work}/members.txt"):
    user, household = line.split()
    claims = b64(json.dumps({"sub": user, "iat": now, "exp": now + 900, "typ": "access"}).encode())
    signature = b64(hmac.new(secret, f"{head}.{claims}".encode(), hashlib.sha256).digest())
    out["b" if household in seen else "a"].append(f"{head}.{claims}.{signature}")
    seen.add(household)
for side, tokens in out.items():
    open(f"{work}/tokens-{side}.txt", "w").write("\n".join(tokens) + "\n")
PY
VOTERS=$(( $(wc -l <"$WORK/tokens-a.txt") + $(wc -l <"$WORK/tokens-b.txt") ))

say "ballot burst: $VOTERS residents, $CONNECTIONS connections per instance (load average $(cut -d' ' -f1 /proc/loadavg))"
burst() {
  wrk -t1 -c"$CONNECTIONS" -d"$((LIMIT_SECONDS * 2))s" --timeout 30s -s scripts/bench-polls.lua \
    "http://127.0.0.1:$1" -- "/api/v1/polls/$POLL/ballots" "{\"option_ids\": [$OPTION]}" "$2" "$4" >"$3"
}
started="$(date +%s.%N)"
burst "$PORT_A" "$WORK/tokens-a.txt" "$WORK/wrk-a.txt" "$WORK/done-a" &
WRK_A=$!
burst "$PORT_B" "$WORK/tokens-b.txt" "$WORK/wrk-b.txt" "$WORK/done-b" &
WRK_B=$!
# The burst ends when both instances have answered their last ballot (each wrk writes its file then);
# wrk is then told to stop (SIGINT: it prints its summary), or it stops by itself at twice the limit.
while [ ! -e "$WORK/done-a" ] || [ ! -e "$WORK/done-b" ]; do
  kill -0 "$WRK_A" 2>/dev/null || kill -0 "$WRK_B" 2>/dev/null || break
  sleep 0.05
done
ended="$(date +%s.%N)"
kill -INT "$WRK_A" "$WRK_B" 2>/dev/null || true
wait "$WRK_A" "$WRK_B" || true
ELAPSED="$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.2f", b - a }')"
grep '^ballots' "$WORK/wrk-a.txt" "$WORK/wrk-b.txt" >&2

sum() { grep -h '^ballots' "$WORK/wrk-a.txt" "$WORK/wrk-b.txt" | sed -n "s/.* $1=\([0-9]*\).*/\1/p" | paste -sd+ | bc; }
ANSWERED="$(sum answered)" CREATED="$(sum created)" CONFLICT="$(sum conflict)" OTHER="$(sum other)" ERRORS="$(sum socket_errors)"
COUNTED="$(psql_db "$DB" -At -c "SELECT count(*) FROM poll_ballots WHERE poll_id = $POLL AND counted")"
TOOK_PART="$(psql_db "$DB" -At -c "SELECT count(*) FROM poll_participations WHERE poll_id = $POLL")"
say "ehome polls verify $POLL"
if "$BIN" polls verify "$POLL" >&2; then VERIFIED=0; else VERIFIED=1; fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
per_second() { awk -v n="$1" -v s="$ELAPSED" 'BEGIN { printf "%.0f", n / s }'; }
printf '\n| measure | value |\n|---|---:|\n'
printf '| residents voting (two instances) | %s |\n' "$VOTERS"
printf '| answered (201 / 409 ALREADY_VOTED / other / socket errors) | %s (%s / %s / %s / %s) |\n' "$ANSWERED" "$CREATED" "$CONFLICT" "$OTHER" "$ERRORS"
printf '| counted ballots / households that took part | %s / %s (of %s households) |\n' "$COUNTED" "$TOOK_PART" "$HOUSEHOLDS"
printf '| burst wall time | %s s |\n' "$ELAPSED"
printf '| ballot requests/s (answered ÷ wall time) | %s |\n' "$(per_second "$ANSWERED")"
printf '| counted ballots/s | %s |\n' "$(per_second "$COUNTED")"
printf '| pgbench TPC-B TPS (same run) | %s |\n' "$PGBENCH_TPS"
printf '| ballot requests/s ÷ pgbench TPS | %s |\n' "$(ratio "$(per_second "$ANSWERED")" "$PGBENCH_TPS")"
printf '| counted ballots/s ÷ pgbench TPS | %s |\n' "$(ratio "$(per_second "$COUNTED")" "$PGBENCH_TPS")"
printf '\nwrk -t1 -c%s per instance, loopback, %s CPUs; p50/p99 per instance above\n' "$CONNECTIONS" "$(nproc)"

status=0
[ "$ANSWERED" = "$VOTERS" ] && [ "$OTHER" = "0" ] && [ "$ERRORS" = "0" ] || { echo "bench-polls: not every request was answered with 201 or 409" >&2; status=1; }
[ "$COUNTED" = "$HOUSEHOLDS" ] && [ "$TOOK_PART" = "$HOUSEHOLDS" ] || { echo "bench-polls: $COUNTED ballots counted, not $HOUSEHOLDS" >&2; status=1; }
awk -v s="$ELAPSED" -v l="$LIMIT_SECONDS" 'BEGIN { exit !(s < l) }' || { echo "bench-polls: took ${ELAPSED}s, over ${LIMIT_SECONDS}s" >&2; status=1; }
[ "$VERIFIED" = "0" ] || { echo "bench-polls: ehome polls verify failed" >&2; status=1; }
exit "$status"
