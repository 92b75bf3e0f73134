# vigil-media test extras (sourced by scripts/setup.sh): the openssl CLI makes the self-signed
# certificate for the RESTful-over-HTTPS test. Everything else (ffmpeg with libx264/libx265,
# GStreamer RTSP server, python3-gi) is in the base package list.
if ! command -v openssl >/dev/null 2>&1; then
  log "installing openssl (vigil-media tests)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openssl >/dev/null
fi
