-- wrk script: CreateVideoSource with unique names, BENCH_COUNT in all (split over the threads),
-- for scripts/bench_api.sh. Each thread stops once its share has been answered, so the run ends
-- after about BENCH_COUNT creates (a connection's last request in flight may add one each).
local total = tonumber(os.getenv("BENCH_COUNT") or "1000")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
-- Names stay unique across the windows of one run (scripts/bench_api.sh numbers them).
local window = tonumber(os.getenv("BENCH_WINDOW") or "0")
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

function init(args)
  share = math.ceil(total / nthreads)
  sent, answered, failed = 0, 0, 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  sent = sent + 1
  -- Interleaved over the threads, so names stay unique even past a thread's share.
  local n = (sent - 1) * nthreads + tid + 1
  local body = string.format(
    '{"video_source_name":"bench-%02d-%06d","access_type":"cloud","type":"url",' ..
    '"type_config":"<type_config><url_address>rtsp://10.0.%d.%d:554/s</url_address></type_config>",' ..
    '"tag":["zone-%d"]}', window, n, math.floor(n / 256) % 256, n % 256, n % 10)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 and status ~= 201 then
    failed = failed + 1
    if failed <= 3 then io.write("create failed: " .. status .. " " .. body .. "\n") end
  end
  if answered >= share then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT create %s %.2f %.2f %.0f %d %d\n", os.getenv("BENCH_CLIENTS") or "?",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests / secs,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
end
