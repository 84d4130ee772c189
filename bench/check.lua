-- wrk script: POST /v1/checks for subjects read from SAMPLE (one a line),
-- cycling through them; TOKEN and SECTOR from the environment.
local subjects = {}
for line in io.lines(os.getenv("SAMPLE")) do subjects[#subjects + 1] = line end
local token, sector = os.getenv("TOKEN"), os.getenv("SECTOR") or "aviation"
local i = 0
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
function setup(thread) thread:set("offset", math.random(#subjects)) end
function request()
  i = i + 1
  local s = subjects[(i + offset) % #subjects + 1]
  return wrk.format(nil, "/v1/checks", nil, '{"subject":"' .. s .. '","sector":"' .. sector .. '"}')
end
function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
