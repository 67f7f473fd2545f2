#!/usr/bin/env python3
"""Train a reference PyTorch model on paired HR/LR folders: the PyTorch side of like-for-like runs.

The LR folder holds, under the same file names, the HR images downscaled by MATLAB-compatible
bicubic (`upres downscale --modcrop`), so both frameworks see the same pairs. The recipe is
EDSR's: random LR patches with the matching HR patches, flips and 90-degree rotations, L1 loss,
Adam (betas 0.9/0.999), learning rate cosine-annealed to --eta-min. `--model espcn-y` trains
the luma ESPCN of the early papers instead: on BT.601 Y (MATLAB's `rgb2ycbcr`, unrounded, on
[16/255, 235/255]), as upres's `espcn-y` does. The result is a `state_dict` under the reference
implementation's key names, which `upres models import --model MODEL --scale S` reads.
`--device cuda` trains on a GPU, `--precision bf16` under autocast (bf16 convolutions, f32
weights), and `--save-every N` also writes the weights after every N iterations, as
OUT with `.N` before its extension, so a run can be compared at the iteration another stopped at.

    python tools/train_reference.py --scale 4 --hr HR_DIR --lr LR_DIR --iters 500 \
        --batch 16 --patch 24 --threads 1 --out edsr_x4.pth
"""

import argparse
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import EDSR, ESPCN, autocast  # noqa: E402

MODELS = {
    "edsr-baseline": lambda scale: EDSR(scale),
    "espcn-y": lambda scale: ESPCN(scale, num_channels=1),
}


def luma(rgb):
    """NCHW RGB in [0, 1] to NCHW BT.601 Y in [0, 1] (MATLAB's `rgb2ycbcr`, unrounded)."""
    weights = torch.tensor([65.481, 128.553, 24.966], device=rgb.device).view(1, 3, 1, 1) / 255.0
    return (16.0 / 255.0 + (rgb * weights).sum(dim=1, keepdim=True))


def load_pairs(hr_dir, lr_dir, scale):
    pairs = []
    for name in sorted(os.listdir(lr_dir)):
        lr = np.asarray(Image.open(os.path.join(lr_dir, name)).convert("RGB"))
        hr = np.asarray(Image.open(os.path.join(hr_dir, name)).convert("RGB"))
        h, w = lr.shape[0] * scale, lr.shape[1] * scale
        pairs.append((hr[:h, :w], lr))
    if not pairs:
        sys.exit(f"{lr_dir}: no images")
    return pairs


def batch(pairs, size, patch, scale, rng):
    lrs, hrs = [], []
    for _ in range(size):
        hr, lr = pairs[rng.randrange(len(pairs))]
        y = rng.randrange(lr.shape[0] - patch + 1)
        x = rng.randrange(lr.shape[1] - patch + 1)
        lr_patch = lr[y : y + patch, x : x + patch]
        hr_patch = hr[y * scale : (y + patch) * scale, x * scale : (x + patch) * scale]
        if rng.random() < 0.5:
            lr_patch, hr_patch = lr_patch[:, ::-1], hr_patch[:, ::-1]
        if rng.random() < 0.5:
            lr_patch, hr_patch = lr_patch[::-1], hr_patch[::-1]
        if rng.random() < 0.5:
            lr_patch, hr_patch = lr_patch.transpose(1, 0, 2), hr_patch.transpose(1, 0, 2)
        lrs.append(np.ascontiguousarray(lr_patch))
        hrs.append(np.ascontiguousarray(hr_patch))

    def to_tensor(images):
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0

    return to_tensor(lrs), to_tensor(hrs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="edsr-baseline")
    parser.add_argument("--scale", type=int, required=True)
    parser.add_argument("--hr", required=True)
    parser.add_argument("--lr", required=True)
    parser.add_argument("--iters", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=48, help="LR patch side")
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--eta-min", type=float, default=0.0, help="final learning rate")
    parser.add_argument("--loss", choices=["l1", "mse"], default="l1")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--precision", choices=["f32", "bf16"], default="f32")
    parser.add_argument("--save-every", type=int, default=0, help="also save every N iterations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    pairs = [
        (hr, lr)
        for hr, lr in load_pairs(args.hr, args.lr, args.scale)
        if min(lr.shape[:2]) >= args.patch
    ]
    device = torch.device(args.device)
    model = MODELS[args.model](args.scale).to(device)
    loss_fn = F.l1_loss if args.loss == "l1" else F.mse_loss
    to_input = luma if args.model.endswith("-y") else (lambda x: x)
    floor = args.eta_min / args.learning_rate
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate, betas=(0.9, 0.999))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda i: floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * i / args.iters))
    )

    start = time.time()
    for iteration in range(1, args.iters + 1):
        lr, hr = (t.to(device) for t in batch(pairs, args.batch, args.patch, args.scale, rng))
        with autocast(device, args.precision):
            output = model(to_input(lr))
        loss = loss_fn(output.float(), to_input(hr))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if iteration % 50 == 0 or iteration == args.iters:
            elapsed = time.time() - start
            print(f"iter {iteration} loss {loss.item():.5f} {elapsed:.1f} s", flush=True)
        if args.save_every and iteration % args.save_every == 0 and iteration < args.iters:
            stem, ext = os.path.splitext(args.out)
            save(model, f"{stem}.{iteration}{ext}")
    save(model, args.out)


def save(model, path):
    temp = path + ".tmp"
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, temp)
    os.replace(temp, path)
    print(f"wrote {path}", flush=True)


if __name__ == "__main__":
    main()
