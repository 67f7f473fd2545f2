#!/usr/bin/env python3
"""Packs what `tools/gpu_run.sh` needs on a lent GPU machine into one folder small enough to
travel with the repository (64 MiB with it).

That machine has CUDA, PyTorch and Pillow but no Rust toolchain and no copy of the datasets, so
the folder holds:

* `upres.xz`: an x86_64 upres built with `--features tch` (docs/backends.md), xz-compressed;
  it runs against the machine's own LibTorch.
* `datasets/T91/HR`, `datasets/BSDS200/HR`: the training images as lossless WebP, a third
  smaller than the PNGs; each is decoded again and checked pixel for pixel against its PNG.
* `datasets/Set5`: as it is, HR and MATLAB-made LR, for validation.

    python tools/gpu_stage.py STAGE_DIR [--binary target/tch/release/upres] \\
        [--datasets ../shared/datasets]
"""

import argparse
import lzma
import os
import shutil
import sys

import numpy as np
from PIL import Image

TRAINING_SETS = ("T91", "BSDS200")
VALIDATION_SETS = ("Set5",)


def webp_copy(source, target):
    with Image.open(source) as image:
        pixels = np.asarray(image.convert("RGB"))
    Image.fromarray(pixels).save(target, "WEBP", lossless=True, quality=100, method=2)
    with Image.open(target) as written:
        if not np.array_equal(np.asarray(written.convert("RGB")), pixels):
            sys.exit(f"{target}: lossless WebP changed the pixels of {source}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage")
    parser.add_argument("--binary", default="target/tch/release/upres")
    parser.add_argument("--datasets", default="../shared/datasets")
    args = parser.parse_args()

    if os.path.exists(args.stage):
        sys.exit(f"{args.stage} exists: give a new folder")
    temp = args.stage + ".tmp"
    shutil.rmtree(temp, ignore_errors=True)
    os.makedirs(temp)
    with open(args.binary, "rb") as source, lzma.open(os.path.join(temp, "upres.xz"), "wb") as out:
        shutil.copyfileobj(source, out)
    for name in TRAINING_SETS:
        source_dir = os.path.join(args.datasets, name, "HR")
        target_dir = os.path.join(temp, "datasets", name, "HR")
        os.makedirs(target_dir)
        for file in sorted(os.listdir(source_dir)):
            stem, _ = os.path.splitext(file)
            webp_copy(os.path.join(source_dir, file), os.path.join(target_dir, stem + ".webp"))
    for name in VALIDATION_SETS:
        shutil.copytree(os.path.join(args.datasets, name), os.path.join(temp, "datasets", name))
    os.replace(temp, args.stage)
    size = sum(
        os.path.getsize(os.path.join(root, file))
        for root, _, files in os.walk(args.stage)
        for file in files
    )
    print(f"{args.stage}: {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
