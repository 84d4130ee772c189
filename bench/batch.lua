-- wrk script: POST /v1/checks/batch with BATCH subjects a call (default 500).
local subjects = {}
for line in io.lines(os.getenv("SAMPLE")) do subjects[#subjects + 1] = line end
local token, sector = os.getenv("TOKEN"), os.getenv("SECTOR") or "aviation"
local n = tonumber(os.getenv("BATCH") or "500")
local i = 0
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
function request()
  local parts = {}
  for k = 1, n do
    i = i + 1
    parts[k] = '"' .. subjects[i % #subjects + 1] .. '"'
  end
  return wrk.format(nil, "/v1/checks/batch", nil, '{"sector":"' .. sector .. '","subjects":[' .. table.concat(parts, ",") .. ']}')
end
function done(summary, latency, requests)
  io.write(string.format("RESULT calls_per_s=%.1f checks_per_s=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), n * summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
