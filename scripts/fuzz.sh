#!/usr/bin/env bash
# Long fuzzing run (issue 8): the four property-based harnesses with many cases each, then
# schemathesis against a real server with many examples per operation. The test suite runs the
# same harnesses briefly; this is the thorough version. Exits non-zero on any failure.
#
#   scripts/fuzz.sh                      # 100,000 cases per property, 200 examples per operation
#   FUZZ_CASES=1000000 scripts/fuzz.sh   # more cases
#   FUZZ_SCHEMATHESIS_EXAMPLES=1000 FUZZ_SEED=42 scripts/fuzz.sh
#   FUZZ_ONLY=proptest scripts/fuzz.sh   # or FUZZ_ONLY=schemathesis
#   FUZZ_PROFILE=release scripts/fuzz.sh # optimised build (slower to build, faster to run)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

CASES=${FUZZ_CASES:-100000}
EXAMPLES=${FUZZ_SCHEMATHESIS_EXAMPLES:-200}
SEED=${FUZZ_SEED:-$RANDOM$RANDOM}
ONLY=${FUZZ_ONLY:-all}
PROFILE_ARGS=()
[ "${FUZZ_PROFILE:-dev}" = release ] && PROFILE_ARGS=(--release)

export CARGO_INCREMENTAL=0
export VIGIL_TEST_PYTHON="${VIGIL_TEST_PYTHON:-$ROOT/.vigil/venv/bin/python}"
if [ ! -x "$VIGIL_TEST_PYTHON" ] || [ ! -x "$(dirname "$VIGIL_TEST_PYTHON")/schemathesis" ]; then
  bash scripts/setup.sh
fi
ORT=$(ls "$ROOT"/.vigil/onnxruntime/libonnxruntime.so* 2>/dev/null | head -n1 || true)
export VIGIL_ORT_LIB="${VIGIL_ORT_LIB:-$ORT}" ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$ORT}"

# crate:test-file for every harness (tests/fuzz_<target>.rs next to its crate).
TARGETS=(
  vigil-core:fuzz_type_config
  vigil-vision:fuzz_roi
  vigil-api:fuzz_aksk
  vigil-media:fuzz_restful_extract
)

declare -a SUMMARY=()
FAILED=0

run_target() {
  local name=$1; shift
  local log; log=$(mktemp)
  local start=$SECONDS
  if "$@" >"$log" 2>&1; then
    SUMMARY+=("PASS  $name  ($((SECONDS - start)) s)")
  else
    SUMMARY+=("FAIL  $name  ($((SECONDS - start)) s, log: $log)")
    FAILED=1
    tail -n 60 "$log"
    return 0
  fi
  # Keep the per-test lines (case counts are the same for every property) and schemathesis' totals.
  grep -E '^test .* \.\.\. |^test result| generated, ' "$log" | sed 's/^ */      /' >>"$log.summary" || true
  SUMMARY+=("$(cat "$log.summary")")
  rm -f "$log" "$log.summary"
}

if [ "$ONLY" = all ] || [ "$ONLY" = proptest ]; then
  echo "== building the fuzz harnesses"
  # Every run names all four packages, so features unify alike and nothing is rebuilt per target.
  packages=() tests=()
  for t in "${TARGETS[@]}"; do packages+=(-p "${t%%:*}"); tests+=(--test "${t##*:}"); done
  cargo test "${PROFILE_ARGS[@]}" "${packages[@]}" "${tests[@]}" --no-run
  for t in "${TARGETS[@]}"; do
    echo "== ${t##*:}: $CASES cases per property"
    PROPTEST_CASES=$CASES run_target "${t##*:} ($CASES cases per property, 0 panics)" \
      cargo test "${PROFILE_ARGS[@]}" "${packages[@]}" --test "${t##*:}"
  done
fi

if [ "$ONLY" = all ] || [ "$ONLY" = schemathesis ]; then
  echo "== schemathesis: $EXAMPLES examples per operation, seed $SEED"
  VIGIL_SCHEMATHESIS_MAX_EXAMPLES=$EXAMPLES VIGIL_SCHEMATHESIS_SEED=$SEED \
    run_target "schemathesis ($EXAMPLES examples per operation, seed $SEED: 0 server errors, 0 schema violations)" \
    cargo test "${PROFILE_ARGS[@]}" -p vigil --test schemathesis -- --nocapture
fi

echo
echo "== fuzz summary"
printf '%s\n' "${SUMMARY[@]}"
if [ "$FAILED" -ne 0 ]; then
  echo "== FAILED"
  exit 1
fi
echo "== all passed: 0 panics, 0 server errors, 0 schema violations"
