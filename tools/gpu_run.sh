#!/usr/bin/env bash
# The GPU work of the zoo, in one call on a lent CUDA machine (PyTorch installed, no Rust, no
# datasets), from the repository root, with a folder made here by tools/gpu_stage.py:
#
#   tools/gpu_run.sh STAGE_DIR OUT_DIR
#
# 1. Training-step time of EDSR-baseline x4 (batch 16, LR patch 48), f32 and bf16: upres on
#    LibTorch's CUDA backend against PyTorch, one after the other.
# 2. EDSR-baseline x2 trained for $ITERS iterations by configs/edsr_baseline_x2_t91_bsds200.toml
#    with upres and by tools/train_reference.py with PyTorch, on the same MATLAB-bicubic pairs,
#    side by side on the card. Both stop after $TRAIN_SECONDS; if upres has not finished by
#    then it saves where it is, and the PyTorch weights saved at the last multiple of
#    $SAVE_EVERY at or before that point come back for comparison.
#
# OUT_DIR receives log.txt (everything printed, the step times too), upres_run/ (recipe, last
# weights, logs), pytorch.pth and pytorch.log; `upres eval` and `upres models import` score them afterwards.
# The settings below can be changed through the environment; DEVICE=tch TORCH_DEVICE=cpu
# with small ITERS rehearses the whole run on a CPU.
set -uo pipefail
stage=$(realpath "${1:?usage: tools/gpu_run.sh STAGE_DIR OUT_DIR}")
out=$(realpath -m "${2:?usage: tools/gpu_run.sh STAGE_DIR OUT_DIR}")
: "${DEVICE:=tch-cuda}" "${TORCH_DEVICE:=cuda}" "${ITERS:=10000}" "${SAVE_EVERY:=2000}"
: "${TRAIN_SECONDS:=330}" "${BENCH_STEPS:=50}" "${BENCH_BATCH:=16}" "${BENCH_PATCH:=48}"
: "${PYTHON:=python3}"
mkdir -p "$out"
exec > >(tee -a "$out/log.txt") 2>&1
echo "started $(date -u +%FT%TZ): DEVICE=$DEVICE TORCH_DEVICE=$TORCH_DEVICE ITERS=$ITERS" \
  "SAVE_EVERY=$SAVE_EVERY TRAIN_SECONDS=$TRAIN_SECONDS BENCH_STEPS=$BENCH_STEPS"
nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
nproc

torch_lib=$("$PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
"$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
export LD_LIBRARY_PATH=$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
upres=$work/upres
"$PYTHON" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
  "$stage/upres.xz" "$upres" && chmod +x "$upres"
"$upres" --version

echo "== training step, EDSR-baseline x4 batch $BENCH_BATCH patch $BENCH_PATCH"
for precision in f32 bf16; do
  timeout 180 "$upres" bench-train -m edsr-baseline -s 4 --batch "$BENCH_BATCH" \
    --patch "$BENCH_PATCH" --steps "$BENCH_STEPS" --device "$DEVICE" --precision "$precision"
  timeout 180 "$PYTHON" tools/bench_train_step.py --scale 4 --batch "$BENCH_BATCH" \
    --patch "$BENCH_PATCH" --steps "$BENCH_STEPS" --threads 4 --device "$TORCH_DEVICE" \
    --precision "$precision"
done

echo "== MATLAB-bicubic x2 pairs for PyTorch"
mkdir -p "$work/hr" "$work/lr"
for set in T91 BSDS200; do
  ln -s "$stage/datasets/$set/HR/"* "$work/hr/"
done
ls "$work/hr" | xargs -P "$(nproc)" -I{} "$upres" downscale --modcrop --scale 2 \
  "$work/hr/{}" "$work/lr/{}"
echo "$(ls "$work/lr" | wc -l) pairs"

echo "== EDSR-baseline x2, $ITERS iterations, upres and PyTorch side by side"
sed "s#\.\./shared/datasets#$stage/datasets#g; s#^every = .*#every = $SAVE_EVERY#" \
  configs/edsr_baseline_x2_t91_bsds200.toml >"$work/recipe.toml"
timeout -s INT -k 60 "$TRAIN_SECONDS" "$upres" train "$work/recipe.toml" --device "$DEVICE" \
  --iterations "$ITERS" -o "$work/upres_run" >"$work/upres_train.log" 2>&1 &
upres_job=$!
timeout -k 10 "$TRAIN_SECONDS" "$PYTHON" tools/train_reference.py --model edsr-baseline \
  --scale 2 --hr "$work/hr" --lr "$work/lr" --iters "$ITERS" --batch 16 --patch 48 \
  --learning-rate 2e-4 --threads 4 --device "$TORCH_DEVICE" --save-every "$SAVE_EVERY" \
  --out "$work/pytorch.pth" >"$out/pytorch.log" 2>&1 &
torch_job=$!
wait "$upres_job"; echo "upres train exited with $?"
wait "$torch_job"; echo "train_reference.py exited with $?"
tail -n 3 "$work/upres_train.log" "$out/pytorch.log"

mkdir -p "$out/upres_run"
for file in recipe.toml last.safetensors validation.csv train.csv; do
  cp "$work/upres_run/$file" "$out/upres_run/" || echo "no $file in the upres run"
done
reached=$(tail -n 1 "$work/upres_run/validation.csv" 2>/dev/null | cut -d, -f1)
echo "upres stopped at iteration ${reached:-none}"
if [ "${reached:-0}" -ge "$ITERS" ] && [ -f "$work/pytorch.pth" ]; then
  cp "$work/pytorch.pth" "$out/pytorch.pth"
elif [ -n "${reached:-}" ]; then
  at=$((reached / SAVE_EVERY * SAVE_EVERY))
  cp "$work/pytorch.$at.pth" "$out/pytorch.pth" && echo "PyTorch weights of iteration $at"
fi
echo "finished $(date -u +%FT%TZ)"
