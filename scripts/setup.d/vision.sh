# Sourced by scripts/setup.sh (uses its $VENV and log()). vigil-vision's tests need only what the
# base setup installs (ffmpeg CLI, onnxruntime + numpy in the venv, libonnxruntime). Pillow is used
# by the labelling aid tools/vision/label_assist.py.
if ! "$VENV/bin/python" -c "import PIL" 2>/dev/null; then
  log "installing Python package for tools/vision: pillow"
  "$VENV/bin/pip" install -q --disable-pip-version-check pillow
fi
