#!/usr/bin/env bash
# How many simultaneous real-time 720p/25 fps H.264 camera streams one Vigil process sustains on
# this machine running intrusion detection at 5 analysed frames/s each, with under 1 % of the
# analysis frames dropped. Streams are the pedestrian clip scaled to 720p, served over RTSP.
# usage: scripts/bench_streams.sh [MAX_STREAMS] [SECONDS_PER_STEP]
set -euo pipefail
cd "$(dirname "$0")/.."
MAX=${1:-8}; SECS=${2:-60}
bash scripts/setup.sh >/dev/null
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -p vigil >/dev/null 2>&1
SHARED="${VIGIL_SHARED_DIR:-$(cd .. && pwd)/shared}"
WORK=.vigil/bench; mkdir -p "$WORK"
CLIP="$WORK/pedestrians_720p25.mp4"
[ -f "$CLIP" ] || ffmpeg -loglevel error -y -i "$SHARED/media/pedestrians_vtest.mp4" \
  -vf "scale=1280:720,fps=25" -c:v libx264 -profile:v high -g 50 -pix_fmt yuv420p "$CLIP"
cores=$(nproc)
best=0
for n in $(seq 1 "$MAX"); do
  rm -rf "$WORK/data"; mounts=()
  for i in $(seq 1 "$n"); do mounts+=("s$i=$(pwd)/$CLIP"); done
  /usr/bin/python3 "$SHARED/tools/gst_rtsp_server.py" 18554 "${mounts[@]}" >/dev/null 2>&1 & rtsp=$!
  VIGIL_ADMIN_PASSWORD=pw ./target/release/vigil --data-dir "$WORK/data" --log-json true serve --listen 127.0.0.1:18080 \
    --probe-interval 0 --analysis-fps 5 --rate-limit 0 2>"$WORK/serve.log" & srv=$!
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
  read -r delivered dropped tasks < <(.vigil/venv/bin/python - "$WORK/serve.log" <<'PY'
import json, sys
last = {}
for line in open(sys.argv[1]):
    try: v = json.loads(line)
    except ValueError: continue
    f = v.get("fields", {})
    if f.get("message") == "pipeline stats": last[f["task_id"]] = (f["delivered"], f["dropped"])
print(sum(d for d, _ in last.values()), sum(x for _, x in last.values()), len(last))
PY
)
  total=$((delivered + dropped)); pct=$(awk -v d="$dropped" -v t="$total" 'BEGIN { printf "%.2f", t ? 100 * d / t : 100 }')
  echo "streams=$n reporting=$tasks analysed_frames=$delivered dropped=$dropped drop=${pct}%"
  if [ "$tasks" -lt "$n" ] || awk -v p="$pct" 'BEGIN { exit !(p >= 1.0) }'; then break; fi
  best=$n
done
echo "sustained streams: $best on $cores cores = $(awk -v b="$best" -v c="$cores" 'BEGIN { printf "%.2f", b / c }') streams per core (target reference: real-time 720p/25 fps, 5 analysed fps, <1 % drops)"
