-- The read mix of benchmarks/api_load.py for wrk (https://github.com/wg/wrk, its Lua API in
-- SCRIPTING): a park, its companies, a company's streams or a stream, chosen at random, with the
-- bearer token. api_load.py writes the ids to a small Lua module (SYMBIOLINK_LOAD_IDS) and passes
-- the token (SYMBIOLINK_LOAD_TOKEN); done() prints one line "SUMMARY {json}" that it reads.

local ids = dofile(os.getenv("SYMBIOLINK_LOAD_IDS"))
local auth = "Bearer " .. os.getenv("SYMBIOLINK_LOAD_TOKEN")
local park_path = "/api/v1/parks/" .. ids.park
local companies_path = park_path .. "/companies"

function init(args)
  math.randomseed(os.time())
end

function request()
  local kind = math.random(4)
  local path
  if kind == 1 then
    path = park_path
  elseif kind == 2 then
    path = companies_path
  elseif kind == 3 then
    path = "/api/v1/companies/" .. ids.companies[math.random(#ids.companies)] .. "/streams"
  else
    path = "/api/v1/streams/" .. ids.streams[math.random(#ids.streams)]
  end
  return wrk.format("GET", path, {["Authorization"] = auth})
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'SUMMARY {"requests": %d, "errors": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d}\n',
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
