-- wrk script of scripts/bench-redemption.sh: every connection runs the counter's two calls in turn —
-- a resident asks for a code (POST /api/v1/redemptions/codes, the resident's token), then the shop's
-- clerk captures it (POST /api/v1/redemptions, the clerk's token) — and times each call itself, so the
-- p50/p99 of each call are reported apart. Run with one connection per thread (-tN -cN): a thread's
-- responses then come back in the order its requests went out.
--
--   wrk -t4 -c4 -d10s -s bench-redemption.lua http://host:port -- OFFER CLERK_TOKEN tokens.txt RATE FIRST STRIDE RUN
--
-- Both calls carry an `Idempotency-Key`, as the mini-program sends them: RUN-thread-n, unique per run.
-- RATE: redemptions per second for each connection (0: as fast as the server answers). Thread t
-- (numbered from FIRST, in steps of one) takes the residents FIRST+t-1, then STRIDE further, and so
-- on, wrapping around the token file; give the two instances' wrk runs disjoint FIRSTs.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *ts);
]]
local clock = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1e6 + tonumber(clock.tv_nsec) / 1e3
end

local threads = {}
local numbered = 0

function setup(thread)
  thread:set("tid", numbered)
  numbered = numbered + 1
  threads[#threads + 1] = thread
end

function init(args)
  offer, clerk = args[1], args[2]
  tokens = {}
  for line in io.lines(args[3]) do tokens[#tokens + 1] = line end
  local rate = tonumber(args[4]) or 0
  first, stride = tonumber(args[5]) or 0, tonumber(args[6]) or 1
  run = args[7] or "bench"
  interval_us = rate > 0 and 1e6 / rate or 0
  -- Threads start spread over one interval, so the rate is even from the first second.
  next_slot = now_us() + (first + tid) * interval_us / stride - interval_us
  sent, code, kind, started = 0, nil, nil, 0
  issued, captured, issue_other, capture_other = 0, 0, 0, 0
  issue_ms, capture_ms = {}, {}
  last_error = ""
end

function delay()
  if interval_us == 0 or code then return 0 end
  next_slot = next_slot + interval_us
  local wait_ms = (next_slot - now_us()) / 1000
  if wait_ms < 0 then return 0 end
  return wait_ms
end

local json = { ["Content-Type"] = "application/json" }

function request()
  started = now_us()
  calls = (calls or 0) + 1
  json["Idempotency-Key"] = run .. "-" .. (first + tid) .. "-" .. calls
  if code then
    kind = "capture"
    json["Authorization"] = "Bearer " .. clerk
    return wrk.format("POST", "/api/v1/redemptions", json, '{"code":"' .. code .. '"}')
  end
  kind = "issue"
  local resident = (first + tid + sent * stride) % #tokens + 1
  sent = sent + 1
  json["Authorization"] = "Bearer " .. tokens[resident]
  return wrk.format("POST", "/api/v1/redemptions/codes", json, '{"offer_id":' .. offer .. ',"quantity":1}')
end

function response(status, headers, body)
  local took = (now_us() - started) / 1000
  if kind == "issue" then
    issue_ms[#issue_ms + 1] = took
    code = status == 201 and body:match('"code":"(%d+)"') or nil
    if code then
      issued = issued + 1
    else
      issue_other = issue_other + 1
      last_error = "issue " .. status .. " " .. body:sub(1, 160)
    end
  else
    capture_ms[#capture_ms + 1] = took
    code = nil
    if status == 200 then
      captured = captured + 1
    else
      capture_other = capture_other + 1
      last_error = "capture " .. status .. " " .. body:sub(1, 160)
    end
  end
end

local function percentile(sorted, q)
  if #sorted == 0 then return 0 end
  return sorted[math.max(1, math.ceil(#sorted * q))]
end

function done(summary, latency, requests)
  local issues, captures = {}, {}
  local totals = { issued = 0, captured = 0, issue_other = 0, capture_other = 0 }
  local errors = ""
  for _, t in ipairs(threads) do
    for key in pairs(totals) do totals[key] = totals[key] + t:get(key) end
    for _, v in ipairs(t:get("issue_ms")) do issues[#issues + 1] = v end
    for _, v in ipairs(t:get("capture_ms")) do captures[#captures + 1] = v end
    local last = t:get("last_error")
    if last ~= "" then errors = last end
  end
  table.sort(issues)
  table.sort(captures)
  local socket_errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "redemptions seconds=%.3f issued=%d captured=%d issue_other=%d capture_other=%d socket_errors=%d " ..
    "issue_p50_ms=%.2f issue_p99_ms=%.2f capture_p50_ms=%.2f capture_p99_ms=%.2f\n",
    summary.duration / 1e6, totals.issued, totals.captured, totals.issue_other, totals.capture_other, socket_errors,
    percentile(issues, 0.5), percentile(issues, 0.99), percentile(captures, 0.5), percentile(captures, 0.99)))
  if errors ~= "" then io.write("last error: " .. errors .. "\n") end
end
