"""Times one PyTorch training step (forward, L1 loss, backward, Adam) of EDSR-baseline, the
reference for `upres bench-train`. Same shapes, random data, one warm-up step. On a GPU each
step ends by reading the loss, as upres's does, so the queued work is inside the time;
`--precision bf16` runs the step under autocast (bf16 convolutions, f32 weights), the
reference for `upres bench-train --precision bf16`.

    python tools/bench_train_step.py --scale 4 --batch 16 --patch 48 --steps 5 --threads 2
    python tools/bench_train_step.py --device cuda --precision bf16 --steps 50
"""

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import EDSR, autocast  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=48)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--precision", choices=["f32", "bf16"], default="f32")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model = EDSR(args.scale).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(args.batch, 3, args.patch, args.patch, device=device)
    y = torch.rand(args.batch, 3, args.patch * args.scale, args.patch * args.scale, device=device)

    times = []
    for step in range(args.steps + 1):
        started = time.perf_counter()
        optimizer.zero_grad()
        with autocast(device, args.precision):
            output = model(x)
        loss = (output.float() - y).abs().mean()
        loss.backward()
        optimizer.step()
        loss.item()
        if step > 0:
            times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"pytorch {torch.__version__} ({args.device}, {args.precision}) edsr-baseline "
          f"x{args.scale} batch {args.batch} patch {args.patch}: median {median:.4f} s/step "
          f"({1 / median:.3f} it/s) over {args.steps} steps")


if __name__ == "__main__":
    main()
