#!/usr/bin/env bash
# Vigil against the Python baseline (../shared/bench/pybaseline.py), in the same run, on the same
# input: N real-time 720p25 H.264 High streams (../shared/bench/make_input.sh: every frame
# distinct), intrusion on the lower part of the frame (y 330..720) at 5 analysed frames/s each.
#
#   Vigil : `vigil serve` (release), each stream an RTSP mount of ../shared/tools/gst_rtsp_server.py
#           (a looped copy of the input, so the stream outlasts the run), one intrusion task per
#           stream. Per stream rate and drops come from the `pipeline stats` log lines (every 10 s);
#           the window is from the moment every task has logged its first line to the earliest
#           last line (start-up excluded); CPU = utime+stime of the vigil process over that window.
#           Sustained: every stream >= 99 % of 5/s and < 1 % of the sampled frames dropped.
#   Python: `pybaseline.py realtime` on the input files (it paces them itself; one process per
#           stream). Sustained: its keeps_up (drops < 1 %, p99 lag < 1 s) and every stream >= 99 %
#           of 5/s. CPU = its per-stream getrusage. It takes one video per invocation, so --mix
#           runs one invocation per input video concurrently and sums them (starts differ by the
#           model-load time, a few seconds).
#   The engines run one after the other for each N (Vigil first), never at the same time. Vigil
#   also pays RTP depacketisation and shares the cores with the RTSP server (its CPU is shown in
#   the detail line, not counted); the baseline reads files.
#
# Output, per N:
#   N=.. vigil: sustained yes/no drops x% slowest y/s cpu z ms/stream-s | python: (same) | ratios: cpu vigil/python
#     "slowest" = the slowest stream's analysed frames/s; "cpu" = CPU ms per stream per second.
#   then a detail line per engine (machine load, RTSP server CPU, detector runs, alarms), and at the
#   end the largest N each sustains with the ratio (target >= 1.5x; >= 2.5x with --gating --mix) and
#   the CPU-per-stream ratio at the largest N both sustain (target <= 0.7x, ungated).
# --three-tasks: one stream, intrusion alone, then intrusion + people flow (a line across the
#   walkway) + crowd density (sampling_time_interval 1) on the same video source: CPU ms/s of the
#   vigil process each and the ratio (target <= 1.3).
# --mixed: the same for intrusion + vehicle detection (the same line) + crowd density (issue 10's
#   mixed load; target <= 1.3 of intrusion alone).
# --sampling: decode cost of sampling 5 of 25 fps against decoding every frame. Vigil has no
#   decode-only command, so: one stream, one intrusion task, `serve --analysis-fps 5` vs `25`, and
#   the CPU of the reader threads only (/proc/<pid>/task/*, named vigil-media-reader: demux +
#   libavcodec decode, which skips unsampled non-reference pictures); inference runs on other
#   threads and is not counted. Target ratio <= 0.6. Whole-process CPU is shown beside it, and a
#   third run at 5 fps with --exact-sample-times (samples at the due times even when those are
#   non-reference pictures) shows what sampling on reference pictures saves.
# --per-algorithm: each implemented algorithm alone on one stream (the pedestrian input), one after
#   the other: CPU ms of the vigil process per stream-second, the analysed rate it asked for, and for
#   the pose tasks (MoveNet MultiPose on every analysed frame) streams per core = 1000 / that figure.
#   --algorithms "id1 id2" limits it (algorithm ids such as c-pose-action-recog).
# Raw results (JSON) and logs go to .vigil/bench/. Needs 2 free cores to mean anything: run it on
# a quiet machine and compare only numbers from the same run.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: scripts/bench_streams.sh [options]
  --streams "N1 N2 .."  stream counts to measure (default "4 6 8 10 12"; env BENCH_STREAMS)
  --duration S          measured seconds per run (default 60; env BENCH_DURATION)
  --quick               CI smoke: --streams 2 (unless given) --duration 20
  --gating              add "motion_gating_sw": 1 to every Vigil task (the baseline has no gating)
  --mix                 half the streams the pedestrian input, half alternately the car park and
                        standing-desk inputs (quiet scenes), for both engines
  --three-tasks         only the "three tasks on one camera" line (add --sweep to also sweep)
  --mixed               only the "intrusion + vehicle detection + crowd density" line
  --sampling            only the "sampling 5 of 25 fps vs every frame" line (add --sweep too)
  --per-algorithm       only the CPU cost per stream of each algorithm alone (add --sweep too)
  --algorithms "A B"    with --per-algorithm: only these algorithm ids
  --sweep               run the N sweep even with --three-tasks/--mixed/--sampling
  --no-build            do not run cargo build --release -p vigil
  -h, --help            this text
EOF
}

STREAMS=${BENCH_STREAMS:-}; DURATION=${BENCH_DURATION:-}; QUICK=0; BUILD=1; EXTRA=(); SWEEP=0; ONLY=0; MIX=0
while [ $# -gt 0 ]; do
  case "$1" in
    --streams) STREAMS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --quick) QUICK=1 ;;
    --gating) EXTRA+=(--gating) ;;
    --mix) EXTRA+=(--mix); MIX=1 ;;
    --three-tasks) EXTRA+=(--three-tasks); ONLY=1 ;;
    --mixed) EXTRA+=(--mixed); ONLY=1 ;;
    --sampling) EXTRA+=(--sampling); ONLY=1 ;;
    --per-algorithm) EXTRA+=(--per-algorithm); ONLY=1 ;;
    --algorithms) EXTRA+=(--algorithms "$2"); shift ;;
    --sweep) SWEEP=1 ;;
    --no-build) BUILD=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then STREAMS=${STREAMS:-2}; DURATION=${DURATION:-20}; fi
STREAMS=${STREAMS:-"4 6 8 10 12"}; DURATION=${DURATION:-60}
if [ "$ONLY" = 0 ] || [ "$SWEEP" = 1 ]; then EXTRA+=(--sweep); fi

SHARED="${VIGIL_SHARED_DIR:-$(cd .. && pwd)/shared}"
BASE=${BASELINE_DIR:-/tmp/vigil-baseline}   # the baseline's venv and inputs (its setup.sh)
WORK=.vigil/bench; mkdir -p "$WORK"
export CARGO_INCREMENTAL=0
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

if [ "$BUILD" = 1 ]; then
  cargo build --release -p vigil >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log" >&2; exit 1; }
fi
[ -x target/release/vigil ] || { echo "target/release/vigil missing (cargo build --release -p vigil)" >&2; exit 1; }
if [ ! -x "$BASE/venv/bin/python" ] || [ ! -f "$BASE/ped720p25.mp4" ]; then
  BASELINE_DIR="$BASE" bash "$SHARED/bench/setup.sh" >&2
fi

# Inputs: the pedestrian input (setup.sh made it) and, for --mix, the quiet scenes the same way.
PED=$BASE/ped720p25.mp4; CARPARK=$BASE/carpark720p25.mp4; DESK=$BASE/desk720p25.mp4
INPUTS=("$PED")
if [ "$MIX" = 1 ]; then
  [ -f "$CARPARK" ] || bash "$SHARED/bench/make_input.sh" "$SHARED/media/carpark_cars.mp4" "$CARPARK"
  [ -f "$DESK" ] || bash "$SHARED/bench/make_input.sh" "$SHARED/media/standing_desk_people.mp4" "$DESK"
  INPUTS+=("$CARPARK" "$DESK")
fi
# RTSP copies long enough for a run (start-up + first stats line + DURATION + margin); stream copy
# of whole 50-frame GOPs, so decoding costs the same as the 60 s input.
COPIES=$(( (${DURATION%.*} + 45 + 59) / 60 ))
LOOPS=""
for f in "${INPUTS[@]}"; do
  out="$WORK/$(basename "${f%.mp4}")_x$COPIES.mp4"
  [ -f "$out" ] || ffmpeg -hide_banner -loglevel error -y -stream_loop $((COPIES - 1)) -i "$f" -c copy "$out"
  LOOPS+="$f=$(pwd)/$out "
done

echo "bench_streams: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "streams \"$STREAMS\", ${DURATION} s per run${EXTRA[*]:+, ${EXTRA[*]}}"
exec /usr/bin/python3 scripts/bench/bench_streams.py --vigil "$(pwd)/target/release/vigil" \
  --py "$BASE/venv/bin/python" --pybaseline "$SHARED/bench/pybaseline.py" \
  --rtsp-server "$SHARED/tools/gst_rtsp_server.py" --work "$WORK" --ped "$PED" --carpark "$CARPARK" \
  --desk "$DESK" --loops "$LOOPS" --streams "$STREAMS" --duration "$DURATION" "${EXTRA[@]}"
