-- wrk script of scripts/bench-polls.sh: each request casts the ballot of the next resident in the
-- token file (one token per line), once; when every resident has been sent, the connections still
-- open send GET /healthz (not counted) until the last ballot is answered and the thread stops.
-- Run with one thread (-t1), so one counter walks the file.
-- When the last ballot is answered it writes the file named by the fourth argument (the script times the
-- burst by it and stops wrk, whose thread:stop() leaves the other connections' health checks running).
--   wrk -t1 -c64 -d120s -s bench-polls.lua http://host:port -- /api/v1/polls/ID/ballots '{"option_ids":[N]}' tokens.txt done.txt

function init(args)
  path, body, done_file = args[1], args[2], args[4]
  tokens = {}
  for line in io.lines(args[3]) do tokens[#tokens + 1] = line end
  total, sent = #tokens, 0
  answered, created, conflict, other = 0, 0, 0, 0
end

function request()
  -- The thread's first call builds a request wrk does not send on any connection (seen as one
  -- household per instance never voting): it gets a health check instead of a ballot.
  if not primed then
    primed = true
    return wrk.format("GET", "/healthz")
  end
  sent = sent + 1
  if sent > total then
    return wrk.format("GET", "/healthz")
  end
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[sent] }
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status == 200 then return end
  answered = answered + 1
  if status == 201 then
    created = created + 1
  elseif status == 409 then
    conflict = conflict + 1
  else
    other = other + 1
  end
  if answered == total then
    local marker = io.open(done_file, "w")
    marker:write("done\n")
    marker:close()
    wrk.thread:stop()
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write(string.format("ballots total=%d answered=%d created=%d conflict=%d other=%d socket_errors=%d p50_ms=%.1f p99_ms=%.1f\n",
      t:get("total"), t:get("answered"), t:get("created"), t:get("conflict"), t:get("other"),
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  end
end
