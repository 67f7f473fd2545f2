"""Upscales images with ncnn itself (the PyPI `ncnn` package, CPU), as realesrgan-ncnn-vulkan
feeds its models: RGB in [0, 1], output clamped and rounded to 8 bits.

The reference for upres's ncnn reader (crates/upres/tests/ncnn.rs) and its speed comparison
(BENCHMARKS.md, "Real-ESRGAN's ncnn models").

    python tools/ncnn_upscale.py MODEL.param OUT_DIR IMAGE...          # writes OUT_DIR/NAME.png
    python tools/ncnn_upscale.py MODEL.param --bench WxH [--runs N]    # prints the median ms
"""

import argparse
import os
import statistics
import sys
import time

import ncnn
import numpy as np
from PIL import Image


def load(param, threads):
    net = ncnn.Net()
    net.opt.num_threads = threads
    net.opt.use_vulkan_compute = False
    if net.load_param(param) != 0 or net.load_model(os.path.splitext(param)[0] + ".bin") != 0:
        sys.exit(f"{param}: ncnn could not load it")
    return net


def blobs(param):
    """The input blob (the Input layer's) and the output blob (the one no layer reads)."""
    with open(param) as f:
        lines = [l.split() for l in f.read().splitlines()[2:] if l.strip()]
    made, read, source = [], set(), None
    for fields in lines:
        n_in, n_out = int(fields[2]), int(fields[3])
        ins, outs = fields[4 : 4 + n_in], fields[4 + n_in : 4 + n_in + n_out]
        if fields[0] == "Input":
            source = outs[0]
        read.update(ins)
        made.extend(outs)
    return source, [b for b in made if b not in read][0]


def run(net, names, rgb):
    """rgb: HxWx3 float32 in [0, 1] -> HxWx3 float32, unclamped."""
    # ncnn.Mat wraps the array's memory without keeping it alive: it is held here.
    planar = np.ascontiguousarray(rgb.transpose(2, 0, 1))
    ex = net.create_extractor()
    ex.input(names[0], ncnn.Mat(planar))
    _, out = ex.extract(names[1])
    return np.array(out).transpose(1, 2, 0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("param")
    parser.add_argument("out", nargs="?")
    parser.add_argument("images", nargs="*")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bench")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    net = load(args.param, args.threads)
    names = blobs(args.param)
    if args.bench:
        w, h = map(int, args.bench.split("x"))
        rgb = np.random.default_rng(0).random((h, w, 3), dtype=np.float32)
        run(net, names, rgb)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            run(net, names, rgb)
            times.append((time.perf_counter() - start) * 1000)
        print(f"{statistics.median(times):.1f}")
        return
    os.makedirs(args.out, exist_ok=True)
    for path in args.images:
        image = Image.open(path)
        rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255
        out = np.clip(run(net, names, rgb), 0, 1) * 255
        if image.mode == "L":
            # upres keeps a gray image gray: the mean of the network's three channels.
            out = out.mean(axis=2)
        name = os.path.splitext(os.path.basename(path))[0] + ".png"
        Image.fromarray(np.round(out).astype(np.uint8)).save(os.path.join(args.out, name))


if __name__ == "__main__":
    main()
