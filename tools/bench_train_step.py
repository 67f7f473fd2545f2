"""Times one PyTorch training step (forward, L1 loss, backward, Adam) of EDSR-baseline, the
reference for `upres bench-train`. Same shapes, random data, one warm-up step.

    python tools/bench_train_step.py --scale 4 --batch 16 --patch 48 --steps 5 --threads 2
"""

import argparse
import statistics
import time

import torch
from torch import nn


class ResBlock(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(features, features, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(features, features, 3, padding=1),
        )

    def forward(self, x):
        return x + self.body(x)


class EdsrBaseline(nn.Module):
    """EDSR baseline (16 blocks, 64 features) as in the EDSR reference code, without mean shift."""

    def __init__(self, scale, features=64, blocks=16):
        super().__init__()
        self.head = nn.Conv2d(3, features, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(features) for _ in range(blocks)],
                                  nn.Conv2d(features, features, 3, padding=1))
        up = []
        if scale in (2, 4):
            for _ in range(scale // 2):
                up += [nn.Conv2d(features, 4 * features, 3, padding=1), nn.PixelShuffle(2)]
        else:
            up += [nn.Conv2d(features, scale * scale * features, 3, padding=1), nn.PixelShuffle(scale)]
        self.tail = nn.Sequential(*up, nn.Conv2d(features, 3, 3, padding=1))

    def forward(self, x):
        x = self.head(x)
        return self.tail(x + self.body(x))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=48)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = EdsrBaseline(args.scale)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(args.batch, 3, args.patch, args.patch)
    y = torch.rand(args.batch, 3, args.patch * args.scale, args.patch * args.scale)
    times = []
    for step in range(args.steps + 1):
        started = time.perf_counter()
        optimizer.zero_grad()
        loss = (model(x) - y).abs().mean()
        loss.backward()
        optimizer.step()
        if step > 0:
            times.append(time.perf_counter() - started)
    print(f"pytorch {torch.__version__} edsr-baseline x{args.scale} batch {args.batch} "
          f"patch {args.patch}: median {statistics.median(times):.3f} s/step "
          f"({1 / statistics.median(times):.3f} it/s) over {args.steps} steps")


if __name__ == "__main__":
    main()
