#!/usr/bin/env bash
# Redemption at the counter (issue #12) on PostgreSQL + Redis, two API instances, release build. Not a
# test: it prints a table of figures against a baseline measured in the same run; the figures of a run
# are recorded in docs/benchmarks.md. It exits non-zero when a correctness check fails (not when a
# performance target is missed).
#
#  1. Residents with points, earned through the product's own path: BENCH_RESIDENTS (2,000) approved
#     volunteers (SQL, as scripts/bench-volunteering.sh seeds them) attended ended activities of 1,000
#     each, whose hours the committee approves through `POST /activities/{id}/hours/approve` (one call
#     per activity) — every resident then holds 1,000 points awarded in the ledger.
#  2. A shop applies, the committee approves it, the owner invites a clerk who joins, and the owner
#     publishes an offer of 1 point with a stock of 10,000,000.
#  3. Full load: each redemption is two HTTP calls by two users, as at the counter — the resident asks
#     for a code (`POST /redemptions/codes`), then the clerk captures it (`POST /redemptions`). wrk with
#     scripts/bench-redemption.lua, BENCH_CONNECTIONS (8) connections split over the two instances,
#     each connection issuing and capturing in turn, every call with its own `Idempotency-Key` as the
#     mini-program sends it. Completed redemptions per second are compared with
#     `pgbench` TPC-B (-s 10) at the same connection count, measured just before (target ≥ 0.5 ×: a
#     redemption is two transactions).
#  4. Half that rate, paced per connection: the p99 of each call (target ≤ 20 ms).
#  5. The race: BENCH_CROWD (1,000) residents ask at once, alternately through the two instances, for an
#     offer with a stock of 100; the clerk captures every code issued, again alternately. Exactly 100
#     captured, the stock never negative, every loser answered 409 OUT_OF_STOCK, and `ehome ledger
#     verify` (balances, chain and the per-merchant check) passes.
#
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres, trust) with pgbench, Redis on 127.0.0.1:6379, psql,
# redis-cli, wrk (LuaJIT, as Debian's), curl, jq, python3. Traffic stays on the loopback.
#
# Knobs: EHOME_BIN (a built release binary; else built here), BENCH_RESIDENTS (2000, at least
# BENCH_CROWD), BENCH_CROWD (1000), BENCH_DURATION (10s per measure), BENCH_CONNECTIONS (8, even).
#
# BENCH_PROFILE=N (instead of the measures): where a redemption's time goes in the database. The scratch
# database logs every statement (`log_min_duration_statement = 0`, this database only, into the server's
# log, /var/log/postgresql/postgresql-15-main.log by default, BENCH_PG_LOG), N redemptions run one after
# another on one instance, and the statements of each call are summed by kind: how many, and how long
# PostgreSQL took to parse, bind and execute them — beside each call's time as the client saw it.
# BENCH_WAITS=1: while wrk runs, pg_stat_activity is sampled every 50 ms and the sessions' wait events
# (with their statements) are counted — which rows the redemptions queue on. It costs some CPU.
set -euo pipefail
cd "$(dirname "$0")/.."

RESIDENTS="${BENCH_RESIDENTS:-2000}"
CROWD="${BENCH_CROWD:-1000}"
DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-8}"
PROFILE="${BENCH_PROFILE:-0}"
WAITS="${BENCH_WAITS:-0}"
PG_LOG="${BENCH_PG_LOG:-/var/log/postgresql/postgresql-15-main.log}"
PER_INSTANCE=$((CONNECTIONS / 2))
PER_ACTIVITY=1000
PORT_A="$((18100 + RANDOM % 400))"
PORT_B="$((PORT_A + 450))"
A="http://127.0.0.1:${PORT_A}"
B="http://127.0.0.1:${PORT_B}"
DB="ehome_benchredeem_$$"
PGBENCH_DB="ehome_benchredeem_pgbench_$$"
PREFIX="benchredeem$$:"
WORK="$(mktemp -d)"
PIDS=()
JWT_SECRET_VALUE="bench-redemption-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
TOKEN_TTL_SECONDS=7200

say() { printf '\n== %s\n' "$*" >&2; }
psql_db() { psql -h 127.0.0.1 -U postgres -X -q -v ON_ERROR_STOP=1 -d "$1" "${@:2}"; }

for tool in psql pgbench redis-cli wrk curl jq python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench-redemption: $tool is missing" >&2; exit 2; }
done
[ "$RESIDENTS" -ge "$CROWD" ] || { echo "bench-redemption: BENCH_RESIDENTS must be at least BENCH_CROWD" >&2; exit 2; }

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  for db in "$DB" "$PGBENCH_DB"; do
    psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  redis-cli --scan --pattern "$PREFIX*" 2>/dev/null | xargs -r -n 500 redis-cli del >/dev/null 2>&1 || true
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
for db in "$DB" "$PGBENCH_DB"; do psql_db postgres -c "CREATE DATABASE $db" >/dev/null; done
pgbench -h 127.0.0.1 -U postgres -i -s 10 -q "$PGBENCH_DB" >/dev/null 2>&1
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export EHOME_ENV=dev REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX="$PREFIX" JWT_SECRET="$JWT_SECRET_VALUE"
"$BIN" migrate up >&2

say "seeding the community and $RESIDENTS residents (approved volunteers)"
COMMUNITY="$(psql_db "$DB" -At <<'SQL'
INSERT INTO districts (name) VALUES ('海曙区');
INSERT INTO streets (district_id, name) SELECT id, '南门街道' FROM districts;
INSERT INTO communities (street_id, name, created_at) SELECT id, '兑换压测社区', now() FROM streets;
SELECT id FROM communities;
SQL
)"
psql_db "$DB" -v residents="$RESIDENTS" -v community="$COMMUNITY" >/dev/null <<'SQL'
INSERT INTO users (openid, nickname, is_admin, created_at, updated_at)
  SELECT 'bench-resident-' || n, '居民' || n, false, now(), now() FROM generate_series(1, :residents) n;
INSERT INTO volunteers (community_id, user_id, status, skills, real_name, leaderboard_consent, created_at)
  SELECT :community, id, 'approved', '["environment"]', NULL, false, now()
  FROM users WHERE openid LIKE 'bench-resident-%';
INSERT INTO member_roles (community_id, user_id, role, scope_id, created_at)
  SELECT :community, user_id, role, 0, now() FROM volunteers, (VALUES ('resident'), ('volunteer')) AS r(role);
SQL

start_instance() {
  local port="$1"
  EHOME_BIND="127.0.0.1:$port" EHOME_SEED_DEMO=0 REQUEST_JOB_INTERVAL_SECONDS=0 RUST_LOG=warn \
    JWT_ACCESS_TTL_SECONDS="$TOKEN_TTL_SECONDS" \
    RATE_WRITES_PER_IP_PER_MINUTE=1000000 RATE_WRITES_PER_USER_PER_MINUTE=1000000 \
    RATE_READS_PER_IP_PER_MINUTE=1000000 RATE_READS_PER_USER_PER_MINUTE=1000000 \
    RATE_LOGIN_PER_IP_PER_MINUTE=1000000 \
    "$BIN" serve >"$WORK/server-$port.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "bench-redemption: the instance on $port did not come up:" >&2
  cat "$WORK/server-$port.log" >&2
  exit 1
}
if [ "$PROFILE" != "0" ]; then
  psql_db postgres -c "ALTER DATABASE $DB SET log_min_duration_statement = 0" >/dev/null
fi
say "two instances on ports $PORT_A and $PORT_B"
start_instance "$PORT_A"
start_instance "$PORT_B"

login() { # openid → access token
  curl -fsS -X POST "$A/api/v1/auth/dev-login" -H 'content-type: application/json' \
    -d "{\"openid\": \"$1\", \"nickname\": \"$2\"}" | jq -r .access_token
}
post() { # token, path, body → the answer (fails on a non-2xx)
  curl -fsS -X POST "$A/api/v1$2" -H "Authorization: Bearer $1" -H 'content-type: application/json' -d "$3"
}
login bench-committee 压测居委会 >/dev/null
"$BIN" admin grant --user bench-committee --community "$COMMUNITY" --role committee >&2
COMMITTEE="$(login bench-committee 压测居委会)"
ORGANISER="$(psql_db "$DB" -At -c "SELECT id FROM users WHERE openid = 'bench-committee'")"

# Ended activities of 2 hours on consecutive past days, PER_ACTIVITY residents each, all attended, at
# 500 points an hour.
ACTIVITIES=$(( (RESIDENTS + PER_ACTIVITY - 1) / PER_ACTIVITY ))
psql_db "$DB" -v n="$ACTIVITIES" -v per="$PER_ACTIVITY" -v community="$COMMUNITY" -v organiser="$ORGANISER" >/dev/null <<'SQL'
INSERT INTO activities (community_id, organiser_id, title, description, starts_at, ends_at, signup_deadline,
  capacity, audience, points_per_hour_minor, beneficiaries, status, checkin_secret, confirmed_count,
  signup_arrivals, created_at, updated_at)
SELECT :community, :organiser, '压测活动 ' || a, '压测数据', d + interval '9 hours', d + interval '11 hours',
  d + interval '8 hours', :per, 'community', 50000, 20, 'ended', md5(random()::text), :per, :per, now(), now()
FROM generate_series(1, :n) a, LATERAL (SELECT date_trunc('day', now()) - a * interval '1 day' AS d) day;
INSERT INTO activity_signups (activity_id, user_id, status, arrival, checked_in_at, checked_out_at, created_at, updated_at)
SELECT act.id, v.user_id, 'confirmed', v.rn, act.starts_at - interval '5 minutes', act.ends_at, now(), now()
FROM (SELECT user_id, row_number() OVER (ORDER BY user_id) AS rn FROM volunteers) v
JOIN (SELECT id, starts_at, ends_at, row_number() OVER (ORDER BY id) AS k FROM activities) act
  ON act.k = (v.rn - 1) / :per + 1;
ANALYZE;
SQL
say "approving $ACTIVITIES activities' hours through the API (the residents' points)"
for activity in $(psql_db "$DB" -At -c "SELECT id FROM activities ORDER BY id"); do
  curl -fsS -o /dev/null -X POST "$A/api/v1/activities/$activity/hours/approve" -H "Authorization: Bearer $COMMITTEE" \
    -H 'content-type: application/json' -H "Idempotency-Key: bench-approve-$activity" -d '{}'
done
# This machine's PostgreSQL runs with autovacuum off: analyse the tables the approvals filled, as
# autovacuum would, or the plans are made for the empty tables analysed above (whole-table scans).
psql_db "$DB" -c "ANALYZE"

say "the shop: applied, approved, a clerk invited, two offers"
OWNER="$(login bench-owner 阿芳)"
SHOP="$(post "$OWNER" /merchants "$(jq -n --argjson c "$COMMUNITY" '{community_id: $c, name: "阿芳理发",
  kind: "shop", business_category: "理发", address: "兑换压测社区1号楼底商", contact_phone: "13912345678",
  licence_number: "91330203MA2", alliance_level: "community"}')" | jq -r .id)"
post "$COMMITTEE" "/merchants/$SHOP/transitions" '{"action": "approve"}' >/dev/null
INVITE="$(post "$OWNER" "/merchants/$SHOP/staff-invites" '{}' | jq -r .code)"
login bench-clerk 店员 >/dev/null
post "$(login bench-clerk 店员)" /staff-invites/accept "{\"code\": \"$INVITE\"}" >/dev/null
CLERK="$(login bench-clerk 店员)"
UNTIL="$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)"
offer() { # title, price, stock → offer id
  post "$OWNER" "/merchants/$SHOP/offers" "$(jq -n --arg t "$1" --arg p "$2" --argjson s "$3" --arg u "$UNTIL" \
    '{title: $t, description: ($t + "，积分兑换"), price_points: $p, stock: $s, valid_until: $u}')" | jq -r .id
}
OFFER="$(offer 洗剪吹 1 10000000)"
SCARCE="$(offer 大米5斤 10 100)"

# Access tokens of every resident (HS256 with the instances' secret, as the API issues them).
psql_db "$DB" -At -c "SELECT id FROM users WHERE openid LIKE 'bench-resident-%' ORDER BY id" >"$WORK/residents.txt"
python3 - "$JWT_SECRET_VALUE" "$WORK" "$TOKEN_TTL_SECONDS" <<'PY'
import base64, hashlib, hmac, json, sys, time
secret, work, ttl = sys.argv[1].encode(), sys.argv[2], int(sys.argv[3])
def b64(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
now = int(time.time())
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
with open(f"{work}/tokens.txt", "w") as out:
    for line in open(f"{work}/residents.txt"):
        claims = b64(json.dumps({"sub": line.strip(), "iat": now, "exp": now + ttl, "typ": "access"}).encode())
        signature = b64(hmac.new(secret, f"{head}.{claims}".encode(), hashlib.sha256).digest())
        out.write(f"{head}.{claims}.{signature}\n")
PY
curl -fsS -H "Authorization: Bearer $(head -1 "$WORK/tokens.txt")" "$A/api/v1/me/points" >&2; echo >&2

if [ "$PROFILE" != "0" ]; then
  say "profile: $PROFILE redemptions one after another on one instance, every statement logged"
  TOKEN="$(head -1 "$WORK/tokens.txt")"
  : >"$WORK/calls.txt"
  for n in $(seq 1 "$PROFILE"); do
    for call in issue capture; do
      if [ "$call" = issue ]; then
        marker="bench-profile-$$-$n-issue"
        psql_db "$DB" -c "SELECT '$marker'" >/dev/null
        answer="$(curl -fsS -w '\t%{time_total}' -X POST "$A/api/v1/redemptions/codes" -H "Authorization: Bearer $TOKEN" \
          -H 'content-type: application/json' -H "Idempotency-Key: profile-$n" -d "{\"offer_id\": $OFFER}")"
        code="$(cut -f1 <<<"$answer" | jq -r .code)"
      else
        marker="bench-profile-$$-$n-capture"
        psql_db "$DB" -c "SELECT '$marker'" >/dev/null
        answer="$(curl -fsS -w '\t%{time_total}' -X POST "$A/api/v1/redemptions" -H "Authorization: Bearer $CLERK" \
          -H 'content-type: application/json' -H "Idempotency-Key: profile-$n" -d "{\"code\": \"$code\"}")"
      fi
      printf '%s\t%s\n' "$marker" "$(cut -f2 <<<"$answer")" >>"$WORK/calls.txt"
    done
  done
  psql_db "$DB" -c "SELECT 'bench-profile-$$-end'" >/dev/null
  sleep 1
  python3 - "$PG_LOG" "$DB" "$WORK/calls.txt" "$$" <<'PY'
import collections, re, sys
log, db, calls, pid = sys.argv[1:]
client = {line.split("\t")[0]: float(line.split("\t")[1]) * 1000 for line in open(calls)}
entry = re.compile(r"^\S+ \S+ \S+ \[\d+\] \S+@(\S+) LOG:  duration: ([\d.]+) ms  (parse|bind|execute|statement)([^:]*): (.*)$")
call, per_call, statements = None, collections.defaultdict(lambda: [0, 0.0]), collections.defaultdict(lambda: [0, 0.0])
for line in open(log, errors="replace"):
    m = entry.match(line.rstrip("\n"))
    if not m or m.group(1) != db:
        continue
    text = m.group(5)
    marker = re.search(r"'(bench-profile-" + pid + r"-[^']*)'", text)
    if marker:
        call = None if marker.group(1).endswith("-end") else marker.group(1)
        continue
    if call is None:
        continue
    kind = call.rsplit("-", 1)[1]
    ms = float(m.group(2))
    per_call[call][1] += ms
    if m.group(3) == "execute":
        per_call[call][0] += 1
    shape = re.sub(r"\s+", " ", text)[:110]
    statements[(kind, m.group(3), shape)][0] += 1
    statements[(kind, m.group(3), shape)][1] += ms
for kind in ("issue", "capture"):
    mine = [c for c in per_call if c.endswith(kind)]
    if not mine:
        print(f"{kind}: no statements logged (is {log} the server's log, readable?)")
        continue
    n = len(mine)
    executed = sum(per_call[c][0] for c in mine) / n
    in_db = sum(per_call[c][1] for c in mine) / n
    seen = sum(client[c] for c in mine) / n
    print(f"\n{kind}: {executed:.1f} statements executed per call, {in_db:.2f} ms in PostgreSQL (parse+bind+execute), "
          f"{seen:.2f} ms as the client saw it (mean of {n})")
    rows = sorted(((v[1] / n, v[0] / n, step, shape) for (k, step, shape), v in statements.items() if k == kind), reverse=True)
    for ms, count, step, shape in rows[:25]:
        print(f"  {ms:7.3f} ms  {count:4.1f} x {step:7s} {shape}")
PY
  exit 0
fi

# What the database's sessions of the scratch database wait on, sampled every 50 ms while wrk runs:
# (wait event, statement) → how many samples saw a session there. Arg: tag.
sample_waits() {
  local tag="$1" until=$(( $(date +%s) + ${DURATION%s} ))
  while [ "$(date +%s)" -lt "$until" ]; do
    psql_db "$DB" -At -F ' | ' -c "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'),
      regexp_replace(left(query, 70), '\s+', ' ', 'g') FROM pg_stat_activity
      WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()" >>"$WORK/$tag-waits.txt"
    sleep 0.05
  done
}

# The counter under wrk, one connection per thread, half the connections on each instance. Args: rate
# per connection (0 = flat out), tag. Prints the summed line.
counter_load() {
  local rate="$1" tag="$2"
  local sampler=""
  if [ "$WAITS" = "1" ]; then sample_waits "$tag" & sampler=$!; fi
  wrk -t"$PER_INSTANCE" -c"$PER_INSTANCE" -d"$DURATION" --timeout 30s -s scripts/bench-redemption.lua "$A" \
    -- "$OFFER" "$CLERK" "$WORK/tokens.txt" "$rate" 0 "$CONNECTIONS" "$tag" >"$WORK/$tag-a.txt" &
  local wrk_a=$!
  wrk -t"$PER_INSTANCE" -c"$PER_INSTANCE" -d"$DURATION" --timeout 30s -s scripts/bench-redemption.lua "$B" \
    -- "$OFFER" "$CLERK" "$WORK/tokens.txt" "$rate" "$PER_INSTANCE" "$CONNECTIONS" "$tag" >"$WORK/$tag-b.txt" &
  wait "$wrk_a" $!
  grep -h -e '^redemptions' -e '^last error' "$WORK/$tag-a.txt" "$WORK/$tag-b.txt" >&2
  if [ -n "$sampler" ]; then
    wait "$sampler" || true
    printf 'where the sessions were (%s samples every 50 ms; top 12):\n' "$(wc -l <"$WORK/$tag-waits.txt")" >&2
    sort "$WORK/$tag-waits.txt" | uniq -c | sort -rn | head -12 >&2
  fi
}
field() { # tag, field, how (sum|max) → the two runs' figures combined
  grep -h '^redemptions' "$WORK/$1-a.txt" "$WORK/$1-b.txt" | sed -n "s/.* $2=\([0-9.]*\).*/\1/p" \
    | awk -v how="$3" '{ s += $1; if ($1 > m) m = $1 } END { if (how == "max") print m; else print s }'
}
per_second() { awk -v n="$(field "$1" captured sum)" -v s="$(field "$1" seconds max)" 'BEGIN { printf "%.1f", n / s }'; }

LOAD_START="$(cut -d' ' -f1 /proc/loadavg)"
say "pgbench TPC-B, $CONNECTIONS clients (load average $LOAD_START)"
PGBENCH_TPS="$(pgbench -h 127.0.0.1 -U postgres -c "$CONNECTIONS" -j 2 -T "${DURATION%s}" "$PGBENCH_DB" 2>/dev/null \
  | awk '/^tps/ { print $3; exit }')"
say "pgbench TPC-B: $PGBENCH_TPS tps"

say "full load: $CONNECTIONS connections, each issuing and capturing in turn"
counter_load 0 full
FULL_RATE="$(per_second full)"
HALF_PER_CONNECTION="$(awk -v r="$FULL_RATE" -v c="$CONNECTIONS" 'BEGIN { printf "%.3f", r / 2 / c }')"
say "full load: $FULL_RATE redemptions/s; half that rate is $HALF_PER_CONNECTION per connection"
counter_load "$HALF_PER_CONNECTION" half
HALF_RATE="$(per_second half)"
LOAD_END="$(cut -d' ' -f1 /proc/loadavg)"

say "the race: $CROWD residents, one offer with a stock of 100, through both instances"
head -"$CROWD" "$WORK/tokens.txt" | awk -v a="$A" -v b="$B" '{ print (NR % 2 ? a : b) " " $0 }' >"$WORK/crowd.txt"
race_started="$(date +%s.%N)"
# Each answer is printed in one write: curl writes a body and its -w line separately, and a hundred
# of them appending to one file at once could interleave.
xargs -P 100 -L 1 sh -c 'a="$(curl -sS -X POST "$0/api/v1/redemptions/codes" -H "Authorization: Bearer $1" \
  -H "content-type: application/json" -d "{\"offer_id\": '"$SCARCE"', \"quantity\": 1}" -w "\t%{http_code}")"; printf "%s\n" "$a"' \
  <"$WORK/crowd.txt" >"$WORK/crowd-answers.txt"
RACE_SECONDS="$(awk -v s="$race_started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')"
RACE_ANSWERED="$(wc -l <"$WORK/crowd-answers.txt")"
RACE_WON="$(awk -F'\t' '$2 == 201' "$WORK/crowd-answers.txt" | wc -l)"
RACE_SOLD_OUT="$(awk -F'\t' '$2 == 409' "$WORK/crowd-answers.txt" | cut -f1 | jq -r .error.code | grep -cx OUT_OF_STOCK || true)"
awk -F'\t' '$2 != 201 && $2 != 409' "$WORK/crowd-answers.txt" | head -5 >&2
awk -F'\t' '$2 == 201' "$WORK/crowd-answers.txt" | cut -f1 | jq -r .code \
  | awk -v a="$A" -v b="$B" '{ print (NR % 2 ? a : b) " " $0 }' >"$WORK/won.txt"
xargs -P 32 -L 1 sh -c 'a="$(curl -sS -X POST "$0/api/v1/redemptions" -H "Authorization: Bearer '"$CLERK"'" \
  -H "content-type: application/json" -d "{\"code\": \"$1\"}" -w "\t%{http_code}")"; printf "%s\n" "$a"' \
  <"$WORK/won.txt" >"$WORK/capture-answers.txt"
RACE_CAPTURED_OK="$(awk -F'\t' '$2 == 200' "$WORK/capture-answers.txt" | wc -l)"
awk -F'\t' '$2 != 200' "$WORK/capture-answers.txt" | head -5 >&2
# The offer's row counts what codes took; the codes' rows say which are waiting and which redeemed.
read -r RACE_CAPTURED RACE_HELD STOCK_TOTAL STOCK_TAKEN STOCK_RESERVED STOCK_USED < <(psql_db "$DB" -At -F ' ' -c "
  SELECT (SELECT count(*) FROM redemptions WHERE offer_id = o.id AND status = 'captured'),
         (SELECT count(*) FROM redemptions WHERE offer_id = o.id AND status = 'issued'),
         o.stock_total, o.stock_taken,
         (SELECT COALESCE(SUM(quantity), 0) FROM redemptions WHERE offer_id = o.id AND status = 'issued'),
         (SELECT COALESCE(SUM(quantity), 0) FROM redemptions WHERE offer_id = o.id AND status = 'captured')
  FROM offers o WHERE o.id = $SCARCE")
STOCK_LEFT=$((STOCK_TOTAL - STOCK_TAKEN))
if [ "$STOCK_TAKEN" -ne $((STOCK_RESERVED + STOCK_USED)) ]; then
  echo "the offer's stock_taken ($STOCK_TAKEN) is not its codes' reserved + used ($STOCK_RESERVED + $STOCK_USED)" >&2
fi

say "ehome ledger verify"
if "$BIN" ledger verify >"$WORK/verify.txt" 2>&1; then VERIFIED=passed; else VERIFIED=FAILED; fi
tail -5 "$WORK/verify.txt" >&2
TRANSFERS="$(psql_db "$DB" -At -c "SELECT count(*) FROM ledger_transfers")"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
printf '\n| measure | figure | target |\n|---|---:|---|\n'
printf '| pgbench TPC-B, -c%s (same run) | %s tps | |\n' "$CONNECTIONS" "$PGBENCH_TPS"
printf '| completed redemptions (issue + capture), full load, %s connections over 2 instances | %s /s (%s issued, %s captured, %s + %s refused) | |\n' \
  "$CONNECTIONS" "$FULL_RATE" "$(field full issued sum)" "$(field full captured sum)" "$(field full issue_other sum)" "$(field full capture_other sum)"
printf '| redemptions/s ÷ pgbench TPC-B | %s | ≥ 0.5 |\n' "$(ratio "$FULL_RATE" "$PGBENCH_TPS")"
printf '| full load: p50 / p99 of `POST /redemptions/codes` | %s / %s ms | |\n' "$(field full issue_p50_ms max)" "$(field full issue_p99_ms max)"
printf '| full load: p50 / p99 of `POST /redemptions` | %s / %s ms | |\n' "$(field full capture_p50_ms max)" "$(field full capture_p99_ms max)"
printf '| half rate: redemptions/s achieved | %s /s (asked %s) | |\n' "$HALF_RATE" "$(awk -v r="$FULL_RATE" 'BEGIN { printf "%.1f", r / 2 }')"
printf '| half rate: p50 / p99 of `POST /redemptions/codes` | %s / %s ms | p99 ≤ 20 ms |\n' "$(field half issue_p50_ms max)" "$(field half issue_p99_ms max)"
printf '| half rate: p50 / p99 of `POST /redemptions` | %s / %s ms | p99 ≤ 20 ms |\n' "$(field half capture_p50_ms max)" "$(field half capture_p99_ms max)"
printf '| race: %s residents for a stock of 100, two instances | %s answered in %s s: %s × 201, %s × 409 OUT_OF_STOCK | all answered, 100 won, every loser OUT_OF_STOCK |\n' \
  "$CROWD" "$RACE_ANSWERED" "$RACE_SECONDS" "$RACE_WON" "$RACE_SOLD_OUT"
printf '| race: codes captured by the clerk (two instances) | %s × 200; %s captured, %s still issued | 100 |\n' "$RACE_CAPTURED_OK" "$RACE_CAPTURED" "$RACE_HELD"
printf '| race: the offer'"'"'s stock (total / taken = reserved + used / left) | %s / %s = %s + %s / %s | never negative |\n' "$STOCK_TOTAL" "$STOCK_TAKEN" "$STOCK_RESERVED" "$STOCK_USED" "$STOCK_LEFT"
printf '| `ehome ledger verify` (%s transfers) | %s | passes |\n' "$TRANSFERS" "$VERIFIED"
printf '\nwrk -t%s -c%s per instance (one connection per thread), -d%s; %s CPUs; load average %s before pgbench, %s after the half-rate run\n' \
  "$PER_INSTANCE" "$PER_INSTANCE" "$DURATION" "$(nproc)" "$LOAD_START" "$LOAD_END"

status=0
[ "$(field full socket_errors sum)" = "0" ] && [ "$(field half socket_errors sum)" = "0" ] || { echo "bench-redemption: socket errors" >&2; status=1; }
[ "$RACE_ANSWERED" = "$CROWD" ] || { echo "bench-redemption: $RACE_ANSWERED of $CROWD race requests answered" >&2; status=1; }
[ "$RACE_WON" = "100" ] && [ "$RACE_CAPTURED" = "100" ] && [ "$RACE_CAPTURED_OK" = "100" ] || { echo "bench-redemption: the race did not end with exactly 100 captured" >&2; status=1; }
[ "$((RACE_WON + RACE_SOLD_OUT))" = "$CROWD" ] || { echo "bench-redemption: a loser was not told OUT_OF_STOCK" >&2; status=1; }
[ "$STOCK_LEFT" -ge 0 ] && [ "$STOCK_RESERVED" -ge 0 ] || { echo "bench-redemption: negative stock" >&2; status=1; }
[ "$VERIFIED" = "passed" ] || { echo "bench-redemption: ehome ledger verify failed" >&2; cat "$WORK/verify.txt" >&2; status=1; }
exit "$status"
