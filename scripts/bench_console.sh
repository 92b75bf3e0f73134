#!/usr/bin/env bash
# Web console page-load benchmark: seeds a fresh SQLite data directory with CAMERAS cameras (with
# snapshots), TASKS tasks and ALARMS event-center alarms (small annotated JPEGs over 7 days), serves
# it with a release `vigil serve` (no worker, no prober: nothing else loads the machine), then loads
# each console page RUNS times in headless Chromium (WebDriver) and prints the median time from
# navigation start to the page's first data on screen (`markReady`), next to the 1 s target.
#
#   scripts/bench_console.sh                      # 1,000 cameras, 100,000 alarms, 5 runs
#   CAMERAS=200 ALARMS=20000 RUNS=3 scripts/bench_console.sh
#
# Pages: cameras, tasks, alarms (live feed + first history page), nodes on a fresh load each;
# "alarms history page 2" and "alarms filtered by camera" from the click to the new page shown.
# Needs chromium and chromium-driver (scripts/test.sh installs them).
set -euo pipefail
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CAMERAS=${CAMERAS:-1000}
TASKS=${TASKS:-200}
ALARMS=${ALARMS:-100000}
RUNS=${RUNS:-5}
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_INCREMENTAL=0

echo "== building (release server and seeder; debug WebDriver driver)"
cargo build --release -p vigil --bin vigil --example seed_console
cargo test -p vigil --test console_browser --no-run

DATA=$(mktemp -d /tmp/vigil-bench-console.XXXXXX)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$DATA"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PASSWORD="bench-$RANDOM$RANDOM"

VIGIL_ADMIN_PASSWORD="$PASSWORD" "$ROOT/target/release/vigil" --data-dir "$DATA" serve \
  --listen "127.0.0.1:$PORT" --no-worker true --probe-interval 0 --rate-limit 0 \
  >"$DATA/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$PORT/health" >/dev/null || { echo "vigil serve did not start:"; cat "$DATA/serve.log"; exit 1; }

echo "== seeding $CAMERAS cameras, $TASKS tasks, $ALARMS alarms into $DATA"
"$ROOT/target/release/examples/seed_console" --data-dir "$DATA" \
  --cameras "$CAMERAS" --tasks "$TASKS" --alarms "$ALARMS"
du -sh "$DATA/vigil.db" | awk '{print "database size: " $1}'

echo "== loading each page $RUNS times"
VIGIL_BENCH_URL="http://127.0.0.1:$PORT" VIGIL_BENCH_PASSWORD="$PASSWORD" VIGIL_BENCH_RUNS="$RUNS" \
  cargo test -q -p vigil --test console_browser -- --ignored --exact bench_page_loads --nocapture
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(chromium --version 2>/dev/null | head -n1)"
