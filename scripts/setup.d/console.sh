# Web console (console/): Node.js and npm build it; the build is embedded into the binary.
if ! command -v npm >/dev/null 2>&1; then
  log "installing Debian packages: nodejs npm"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
log "building the web console (console/dist)"
bash "$ROOT/scripts/build_console.sh"
