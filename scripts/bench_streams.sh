#!/usr/bin/env bash
# How many simultaneous real-time 720p/25 fps H.264 camera streams one Vigil process sustains on
# this machine running intrusion detection at 5 analysed frames/s each, with under 1 % of the
# analysis frames dropped. Streams are the pedestrian clip scaled to 720p, served over RTSP.
# usage: scripts/bench_streams.sh [MAX_STREAMS (32)] [SECONDS_PER_STEP (60)]
# Doubles the stream count until one fails, then bisects; prints streams per core.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX=${1:-32}; SECS=${2:-60}
bash scripts/setup.sh >/dev/null
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -p vigil >/dev/null 2>&1
SHARED="${VIGIL_SHARED_DIR:-$(cd .. && pwd)/shared}"
WORK=.vigil/bench; mkdir -p "$WORK"
CLIP="$WORK/pedestrians_720p25.mp4"
[ -f "$CLIP" ] || ffmpeg -loglevel error -y -i "$SHARED/media/pedestrians_vtest.mp4" \
  -vf "scale=1280:720,fps=25" -c:v libx264 -profile:v high -g 50 -pix_fmt yuv420p "$CLIP"
cores=$(nproc)

# One measurement: N streams for SECS seconds. Prints a summary line; succeeds when every stream
# reported, analysed at least 99 % of 5 frames/s (decode kept up) and dropped under 1 % (analysis
# kept up). Rates are taken between each task's first and last stats line (start-up excluded).
measure() {
  local n=$1 mounts=() i
  rm -rf "$WORK/data"
  for i in $(seq 1 "$n"); do mounts+=("s$i=$(pwd)/$CLIP"); done
  /usr/bin/python3 "$SHARED/tools/gst_rtsp_server.py" 18554 "${mounts[@]}" >/dev/null 2>&1 & local rtsp=$!
  VIGIL_ADMIN_PASSWORD=pw ./target/release/vigil --data-dir "$WORK/data" --log-json true serve --listen 127.0.0.1:18080 \
    --probe-interval 0 --analysis-fps 5 --rate-limit 0 2>"$WORK/serve.log" & local srv=$!
  for _ in $(seq 1 60); do curl -sf http://127.0.0.1:18080/health >/dev/null && break; sleep 1; done
  .vigil/venv/bin/python - "$n" <<'PY'
import json, sys, requests
n = int(sys.argv[1]); base = "http://127.0.0.1:18080"
r = requests.post(f"{base}/v3/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": "pw"}}}, "scope": {"project": {"name": "default"}}}})
h = {"X-Auth-Token": r.headers["X-Subject-Token"]}; api = f"{base}/v2/{r.json()['token']['project']['id']}"
roi = json.dumps({"polygons": [{"data": [[0, 187], [250, 187], [250, 350], [0, 350]], "name": "road_west"}]})
for i in range(1, n + 1):
    tc = f"<type_config><url_address>rtsp://127.0.0.1:18554/s{i}</url_address></type_config>"
    src = requests.post(f"{api}/source", headers=h, json={"video_source_name": f"s{i}", "access_type": "cloud", "type": "url", "type_config": tc}).json()["video_source_id"]
    requests.post(f"{api}/services/c-intrusiondetection-cloud/tasks", headers=h, json={"name": f"t{i}", "input": {"type": "video_source", "data": [{"video_source_id": src}]}, "output": {"event_center": True}, "config": {"common": {"target_roi": roi}}}).raise_for_status()
PY
  sleep "$SECS"
  kill "$srv" "$rtsp" 2>/dev/null || true; wait "$srv" "$rtsp" 2>/dev/null || true
  .vigil/venv/bin/python - "$WORK/serve.log" "$n" <<'PY'
import datetime, json, re, sys
first, last = {}, {}
for line in open(sys.argv[1]):
    try: v = json.loads(line)
    except ValueError: continue
    f = v.get("fields", {})
    if f.get("message") != "pipeline stats": continue
    ts = re.sub(r"(\.\d{6})\d*", r"\1", v["timestamp"]).replace("Z", "+00:00")
    rec = (datetime.datetime.fromisoformat(ts).timestamp(), f["delivered"], f["dropped"])
    first.setdefault(f["task_id"], rec); last[f["task_id"]] = rec
n = int(sys.argv[2]); tasks = [k for k in last if last[k][0] > first[k][0]]
delivered = sum(last[k][1] - first[k][1] for k in tasks); dropped = sum(last[k][2] - first[k][2] for k in tasks)
rate = min(((last[k][1] - first[k][1]) / (last[k][0] - first[k][0]) for k in tasks), default=0.0)
drop = 100.0 * dropped / delivered if delivered else 100.0
ok = len(tasks) == n and rate >= 0.99 * 5 and drop < 1.0
print(f"streams={n} reporting={len(tasks)} slowest_stream={rate:.2f} analysed/s (target 5) drops={drop:.2f}% (target <1%) -> {'sustained' if ok else 'NOT sustained'}", flush=True)
sys.exit(0 if ok else 1)
PY
}

# Double until a count fails, then bisect between the last good and the first bad count.
good=0; bad=0; n=1
while [ "$n" -le "$MAX" ]; do
  if measure "$n"; then good=$n; n=$((n * 2)); else bad=$n; break; fi
done
if [ "$bad" -eq 0 ] && [ "$good" -lt "$MAX" ]; then
  if measure "$MAX"; then good=$MAX; else bad=$MAX; fi
fi
while [ "$bad" -gt $((good + 1)) ]; do
  mid=$(((good + bad) / 2))
  if measure "$mid"; then good=$mid; else bad=$mid; fi
done
echo "sustained streams: $good on $cores cores = $(awk -v b="$good" -v c="$cores" 'BEGIN { printf "%.2f", b / c }') streams per core (reference: each stream real-time 720p/25 fps H.264 over RTSP, intrusion at 5 analysed frames/s, >= 99 % of them analysed, < 1 % dropped)"
