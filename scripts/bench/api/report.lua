-- wrk script: one result line per run, "ROUTE CLIENTS p50_ms p99_ms req_per_s non2xx errors",
-- for scripts/bench_api.sh. The route name comes from the environment (BENCH_ROUTE).
local route = os.getenv("BENCH_ROUTE") or "route"
local clients = os.getenv("BENCH_CLIENTS") or "?"
-- Think time between a client's requests (ms): 0 drives the server flat out (closed loop);
-- otherwise each client waits this long after every answer, as a console user or an
-- integration polling the API would.
local think_ms = tonumber(os.getenv("BENCH_THINK_MS") or "0")

if think_ms > 0 then
  function delay()
    return think_ms
  end
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT %s %s %.2f %.2f %.0f %d %d\n", route, clients,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests / secs,
    e.status, e.connect + e.read + e.write + e.timeout))
end
