#!/usr/bin/env bash
# Builds the web console (console/ → console/dist), which `cargo build` then embeds into the
# vigil binary. Installs the locked npm packages first (npm ci) when they are missing or stale.
set -euo pipefail
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then sed -n '2,3p' "$0" | sed 's/^# //'; exit 0; fi
cd "$(dirname "$0")/../console"
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is not installed: run scripts/setup.sh (it installs Debian's nodejs and npm)" >&2
  exit 1
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
