#!/usr/bin/env python3
"""CPU inference speed, upres against PyTorch, side by side in one run.

    python tools/bench_infer.py --upres target/release/upres [--threads 2] [--runs 10]
                                [--write BENCHMARKS.md]

For each case (EDSR-baseline x4 on 128x128, ESPCN x4 and U-Net SR x2 on 256x256: the reference
implementations of tools/pytorch_reference.py), times PyTorch's forward pass (float32, no
gradients, `torch.set_num_threads`, median after one warm-up) in its default NCHW layout and
in channels_last (oneDNN's faster path on CPUs), then runs `upres bench-infer` on the same
shapes with the same number of threads (RAYON_NUM_THREADS), and prints a Markdown table with
the medians, GFLOP/s, the share of the CPU's measured FMA peak and the ratios upres /
PyTorch (below 1: upres is faster). The three are interleaved over --rounds rounds and each
figure is the median of its rounds' medians, so that a drift in the machine's speed does not
favour whichever ran first. With --write, the table replaces the part of the file between
the `bench-infer` markers.
"""

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import EDSR, ESPCN, UNetSR  # noqa: E402

CASES = [
    ("edsr-baseline", 4, 128, lambda: EDSR(4)),
    ("espcn", 4, 256, lambda: ESPCN(4)),
    ("unet-sr", 2, 256, lambda: UNetSR(2)),
]
BEGIN = "<!-- bench-infer:begin -->"
END = "<!-- bench-infer:end -->"


def pytorch_median(make, side, runs, layout):
    torch.manual_seed(0)
    model = make().eval().to(memory_format=layout)
    x = torch.rand(1, 3, side, side).to(memory_format=layout)
    times = []
    with torch.no_grad():
        for run in range(runs + 1):
            start = time.perf_counter()
            model(x)
            if run > 0:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def upres_run(binary, name, scale, side, runs, threads):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    out = subprocess.run(
        [binary, "bench-infer", "-m", name, "-s", str(scale), "--size", str(side),
         "--runs", str(runs)],
        check=True, capture_output=True, text=True, env=env,
    ).stdout
    gflop = float(re.search(r"([\d.]+) GFLOP per pass", out).group(1))
    peak = float(re.search(r"peak ([\d.]+) GFLOP/s", out).group(1))
    median_ms = float(re.search(r"upres fast: median ([\d.]+) ms", out).group(1))
    return gflop, peak, median_ms / 1e3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upres", required=True, help="path to the upres binary")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", help="Markdown file whose marked section gets the table")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = []
    for name, scale, side, make in CASES:
        rounds = []
        for _ in range(args.rounds):
            rounds.append(
                (
                    pytorch_median(make, side, args.runs, torch.contiguous_format),
                    pytorch_median(make, side, args.runs, torch.channels_last),
                    *upres_run(args.upres, name, scale, side, args.runs, args.threads),
                )
            )
        nchw, last, gflop, peak, upres_s = (statistics.median(r[i] for r in rounds) for i in range(5))
        rows.append(
            f"| {name} x{scale} | {side}x{side} | {gflop:.2f} | {nchw * 1e3:.1f} | "
            f"{last * 1e3:.1f} ({gflop / last:.0f} GFLOP/s) | {upres_s * 1e3:.1f} "
            f"({gflop / upres_s:.0f} GFLOP/s, {100 * gflop / upres_s / peak:.0f}% of {peak:.0f}) | "
            f"{upres_s / nchw:.2f} / {upres_s / last:.2f} |"
        )
    table = "\n".join(
        [
            f"PyTorch {torch.__version__}, {args.threads} threads, median over {args.rounds} "
            f"interleaved rounds of the median of {args.runs} runs, "
            f"{platform.processor() or platform.machine()}; "
            f"`python tools/bench_infer.py --upres target/release/upres --threads {args.threads} "
            f"--runs {args.runs} --rounds {args.rounds} --write BENCHMARKS.md`",
            "",
            "| model | input | GFLOP | PyTorch NCHW ms | PyTorch channels_last ms | upres ms "
            "(share of measured FMA peak) | upres / PyTorch (NCHW / channels_last) |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            *rows,
        ]
    )
    print(table)
    if args.write:
        text = open(args.write).read()
        if BEGIN not in text or END not in text:
            sys.exit(f"{args.write} has no {BEGIN} ... {END} section")
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        with open(args.write, "w") as f:
            f.write(f"{head}{BEGIN}\n{table}\n{END}{tail}")


if __name__ == "__main__":
    main()
