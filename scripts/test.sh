#!/usr/bin/env bash
# Runs Vigil's whole test suite: installs what is missing, makes sure the servers the tests use are
# up (starting its own where the machine has none), then format, lint and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
bash scripts/setup.sh
# Browser tests (crates/vigil/tests/console_browser.rs) drive headless Chromium over WebDriver;
# the API load benchmark's smoke run (scripts/bench_api.sh --smoke) drives the server with wrk.
browser_missing=()
for p in chromium chromium-driver wrk; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || browser_missing+=("$p")
done
if [ ${#browser_missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
  echo "== installing Debian packages: ${browser_missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${browser_missing[@]}" >/dev/null
fi
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
# shellcheck disable=SC1091
. scripts/services.sh
export VIGIL_TEST_PYTHON="$ROOT/.vigil/venv/bin/python"
export VIGIL_ORT_LIB="$(ls "$ROOT"/.vigil/onnxruntime/libonnxruntime.so* | head -n1)"
export ORT_DYLIB_PATH="$VIGIL_ORT_LIB"

# A one-shot run gains nothing from incremental caches, and they cost disk space.
export CARGO_INCREMENTAL=0

echo "== cargo fmt --check"; cargo fmt --all --check
echo "== cargo clippy"; cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"; cargo test --workspace -- --test-threads=2
echo "== API load benchmark, smoke run"; scripts/bench_api.sh --smoke
echo "== done; target directory: $(du -sh target 2>/dev/null | cut -f1)"
