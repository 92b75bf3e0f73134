#!/usr/bin/env bash
# Builds Vigil and runs the server on the embedded default: SQLite and files in ./vigil-data,
# API on http://127.0.0.1:8080. Extra arguments go to `vigil serve` (see `vigil serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -p vigil
exec ./target/release/vigil serve "$@"
