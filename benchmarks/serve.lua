-- wrk script of `make bench-serve` (benchmarks/serve.py):
--   wrk -t T -c C -d D -s benchmarks/serve.lua URL -- BODIES.jsonl MAX_REQUESTS_PER_THREAD
-- Each thread POSTs /search with the JSON bodies of BODIES.jsonl (one per line), cycled from its
-- own starting line, stops after its share of requests (answers in flight on its other
-- connections still count, so a run can end up to one request per connection over the budget),
-- and the run ends with one JSON line.
local threads = {}
local bodies = {}
local position = 1
local answered = 0
local limit = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  limit = tonumber(args[2]) or 0
  position = (id * 7919) % #bodies + 1
end

function request()
  local body = bodies[position]
  position = position % #bodies + 1
  return wrk.format("POST", "/search", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  answered = answered + 1
  if limit > 0 and answered >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %.1f, "p99_us": %.1f, "mean_us": %.1f, "max_us": %.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
