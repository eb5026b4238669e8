-- wrk script for bench/run.py: replays a file of prepared requests.
--
-- BENCH_REQUESTS  a file with one request a line: METHOD <tab> PATH [<tab> JSON BODY]
-- BENCH_TOKEN     the access token, sent as "Authorization: Bearer ..." (optional)
-- BENCH_THREADS   wrk's -t, so that thread n sends lines n, n + t, n + 2t, ...
--
-- Threads never share a line, so requests that must differ (a booking on a free slot)
-- do; a thread that runs out of lines starts its share again, and says so in the
-- summary ("repeated"). The summary is one line of JSON after "BENCH_RESULT ".

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("BENCH_REQUESTS")
  local token = os.getenv("BENCH_TOKEN") or ""
  local stride = tonumber(os.getenv("BENCH_THREADS") or "1")
  local base = {}
  if token ~= "" then
    base["Authorization"] = "Bearer " .. token
  end
  local with_body = { ["Content-Type"] = "application/json" }
  for name, value in pairs(base) do
    with_body[name] = value
  end
  prepared = {}
  local line_number = 0
  for line in io.lines(path) do
    if line_number % stride == id then
      local method, target, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
      if body == nil or body == "" then
        prepared[#prepared + 1] = wrk.format(method, target, base)
      else
        prepared[#prepared + 1] = wrk.format(method, target, with_body, body)
      end
    end
    line_number = line_number + 1
  end
  prepared_count = #prepared
  position = 0
  sent = 0
end

function request()
  position = position + 1
  if position > #prepared then
    position = 1
  end
  sent = sent + 1
  return prepared[position]
end

function done(summary, latency, requests)
  local prepared_total, sent_total = 0, 0
  for _, thread in ipairs(threads) do
    prepared_total = prepared_total + thread:get("prepared_count")
    sent_total = sent_total + thread:get("sent")
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "non_2xx": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d, ' ..
    '"prepared": %d, "sent": %d}\n',
    summary.requests, summary.duration, summary.bytes, errors.connect, errors.read,
    errors.write, errors.status, errors.timeout, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
    prepared_total, sent_total))
end
