#!/usr/bin/env bash
# Builds Vigil and runs it on the embedded default (SQLite and files in ./vigil-data, API on
# http://127.0.0.1:8080), then shows its main job: the sample pedestrian video, served over RTSP
# in a loop, analysed by an intrusion task and a people-flow task, alarms printed as they arrive.
# `scripts/run.sh --no-demo [serve flags…]` runs the server alone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -p vigil
VIGIL=./target/release/vigil
if [ "${1:-}" = "--no-demo" ]; then
  shift
  exec "$VIGIL" serve "$@"
fi

SHARED="${VIGIL_SHARED_DIR:-$(cd .. && pwd)/shared}"
VIDEO="$SHARED/media/pedestrians_vtest.mp4"
[ -f "$VIDEO" ] || { echo "sample video not found at $VIDEO (set VIGIL_SHARED_DIR)"; exit 1; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

/usr/bin/python3 "$SHARED/tools/gst_rtsp_server.py" 8554 pedestrians="$VIDEO" >/dev/null &
pids+=($!)
"$VIGIL" serve "$@" &
pids+=($!)
for _ in $(seq 1 60); do curl -sf http://127.0.0.1:8080/health >/dev/null && break; sleep 1; done
# A first start creates the default project; the demo user needs it (retried once it exists).
"$VIGIL" iam user create --name demo --password vigil-demo --project default >/dev/null 2>&1 || \
  "$VIGIL" iam grant --user demo --project default >/dev/null 2>&1 || true
.vigil/venv/bin/python scripts/demo.py http://127.0.0.1:8080 demo vigil-demo rtsp://127.0.0.1:8554/pedestrians
