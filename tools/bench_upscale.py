#!/usr/bin/env python3
"""PyTorch's side of the `upres upscale` speed comparison: one photo, one model, same CPU.

    python tools/bench_upscale.py --photo PHOTO --out DIR [--threads 2] [--runs 3]

writes into DIR a 1024x768 RGB PNG made from PHOTO (`photo.png`) and, for EDSR-baseline x4
and ESPCN x4 (the reference implementations of tools/pytorch_reference.py, seeded random
weights), the checkpoint (`<model>_x4.pth`), then prints the median time of PyTorch's forward
pass on that photo (float32, no gradients, whole image, after one warm-up run). upres runs the
same weights on the same photo through the whole command:

    upres models import DIR/edsr-baseline_x4.pth -m edsr-baseline -s 4 -o DIR/edsr-baseline_x4.upres
    upres upscale -i DIR/photo.png -o DIR/out.png -m DIR/edsr-baseline_x4.upres --overwrite

(BENCHMARKS.md has the figures and the exact commands.)
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import EDSR, ESPCN  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--photo", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)

    photo = Image.open(args.photo).convert("RGB").resize((1024, 768), Image.BICUBIC)
    photo.save(os.path.join(args.out, "photo.png"))
    x = torch.from_numpy(np.asarray(photo, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]

    for name, make in [("edsr-baseline", lambda: EDSR(4)), ("espcn", lambda: ESPCN(4))]:
        torch.manual_seed(0)
        model = make().eval()
        torch.save(model.state_dict(), os.path.join(args.out, f"{name}_x4.pth"))
        times = []
        with torch.no_grad():
            for run in range(args.runs + 1):
                start = time.perf_counter()
                model(x)
                if run > 0:
                    times.append(time.perf_counter() - start)
        print(
            f"pytorch {torch.__version__} {name} x4 1024x768, {args.threads} threads: "
            f"median {statistics.median(times):.3f} s over {args.runs} runs"
        )


if __name__ == "__main__":
    main()
