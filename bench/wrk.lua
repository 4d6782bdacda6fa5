-- One wrk script for every run of scripts/bench, configured by environment variables:
--
--   BENCH_LABEL   the run's name, echoed in the result line
--   BENCH_METHOD  GET (default) or POST
--   BENCH_BODY    the form body of a POST (application/x-www-form-urlencoded)
--   BENCH_COOKIE  "name=value" of the session cookie, sent with every request
--   BENCH_XFF     "1": each request gets its own X-Forwarded-For address (10.t.x.y), so a
--                 server that trusts 127.0.0.1 as its proxy sees a new client every time and
--                 the per-client limits never trip
--   BENCH_MARKS   "label<TAB>text<TAB>label<TAB>text…": each response body is searched for
--                 each text in turn (plain bytes) and counted under the first label found,
--                 else under "other". Without it, no body is looked at (cheaper for wrk).
--
-- done() prints one line for scripts/bench to parse:
--   BENCH_RESULT label=… requests=… duration_us=… rps=… p50_us=… p90_us=… p99_us=… max_us=…
--                mean_us=… err_connect=… err_read=… err_write=… err_timeout=… non2xx3xx=…
--                status.<code>=… mark.<label>=… retry_after=… (503s that carried Retry-After)
-- (status.* and mark.* only when BENCH_MARKS is set: counting needs the response callback.)

local label = os.getenv("BENCH_LABEL") or "run"
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local cookie = os.getenv("BENCH_COOKIE")
local xff = os.getenv("BENCH_XFF") == "1"
local marks_env = os.getenv("BENCH_MARKS")

local marks = {}
if marks_env and marks_env ~= "" then
  local parts = {}
  for part in string.gmatch(marks_env, "[^\t]+") do
    parts[#parts + 1] = part
  end
  for i = 1, #parts - 1, 2 do
    marks[#marks + 1] = { label = parts[i], text = parts[i + 1] }
  end
end

wrk.method = method
if body then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
if cookie then
  wrk.headers["Cookie"] = cookie
end

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
  sent = 0
end

if xff then
  -- Per request; a dynamic request costs wrk a little more than the cached static one.
  request = function()
    sent = sent + 1
    local n = sent % 65536
    wrk.headers["X-Forwarded-For"] =
      string.format("10.%d.%d.%d", thread_no % 256, math.floor(n / 256), n % 256)
    return wrk.format()
  end
end

if #marks > 0 then
  response = function(status, headers, resp_body)
    local s = "status." .. status
    counts[s] = (counts[s] or 0) + 1
    if status == 503 and (headers["retry-after"] or headers["Retry-After"]) then
      counts["retry_after"] = (counts["retry_after"] or 0) + 1
    end
    local found = "other"
    if resp_body then
      for _, m in ipairs(marks) do
        if string.find(resp_body, m.text, 1, true) then
          found = m.label
          break
        end
      end
    end
    local k = "mark." .. found
    counts[k] = (counts[k] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    if c then
      for k, v in pairs(c) do
        total[k] = (total[k] or 0) + v
      end
    end
  end
  local secs = summary.duration / 1e6
  local out = {
    "BENCH_RESULT",
    "label=" .. label,
    string.format("requests=%d", summary.requests),
    string.format("duration_us=%d", summary.duration),
    string.format("rps=%.1f", summary.requests / secs),
    string.format("p50_us=%d", latency:percentile(50)),
    string.format("p90_us=%d", latency:percentile(90)),
    string.format("p99_us=%d", latency:percentile(99)),
    string.format("max_us=%d", latency.max),
    string.format("mean_us=%d", latency.mean),
    string.format("err_connect=%d", summary.errors.connect),
    string.format("err_read=%d", summary.errors.read),
    string.format("err_write=%d", summary.errors.write),
    string.format("err_timeout=%d", summary.errors.timeout),
    string.format("non2xx3xx=%d", summary.errors.status),
  }
  local keys = {}
  for k in pairs(total) do
    keys[#keys + 1] = k
  end
  table.sort(keys)
  for _, k in ipairs(keys) do
    out[#out + 1] = string.format("%s=%d", k, total[k])
  end
  io.write(table.concat(out, " ") .. "\n")
end
