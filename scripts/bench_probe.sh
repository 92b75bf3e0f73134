#!/usr/bin/env bash
# Cost of the source-health prober: N sources (default 100; the real clips of ../shared/media
# repeated, as file:// sources in a fresh SQLite store) probed three times with the default
# options, as `vigil serve` probes them (2 s window at 5 fps, 13 quality labels, JPEG snapshot,
# store write, label-change alarms, scene recommendations with the COCO detector when due).
# Prints the process CPU time per probe (user + system, every thread) for round 1 (with a scene
# recommendation per source) and the steady rounds, and the average share of one core at the
# default --probe-interval next to the 5 % target.
#
#   scripts/bench_probe.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100}"
SHARED="${VIGIL_SHARED_DIR:-$(cd .. && pwd)/shared}"
if [[ -z "${VIGIL_ORT_LIB:-}" ]]; then
  lib=$(ls .vigil/onnxruntime/libonnxruntime.so* 2>/dev/null | head -1 || true)
  [[ -n "$lib" ]] && export VIGIL_ORT_LIB="$PWD/$lib" ORT_DYLIB_PATH="$PWD/$lib"
fi
cargo build --release -q -p vigil-worker --example bench_probe
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
./target/release/examples/bench_probe "$N" "$SHARED"
