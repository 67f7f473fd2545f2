#!/usr/bin/env python3
"""Runs an ONNX model with onnxruntime on raw float32 inputs: the independent check of
`upres export --format onnx` (crates/upres-export/tests/onnxruntime.rs calls it).

    python tools/onnx_run.py MODEL.onnx IN.f32 N,C,H,W OUT.f32 [IN2.f32 SHAPE2 OUT2.f32 ...]

Each output file receives the raw float32 values of the model's output, NCHW.
"""

import sys

import numpy as np
import onnxruntime


def main():
    model, rest = sys.argv[1], sys.argv[2:]
    if len(rest) % 3 != 0:
        sys.exit("expected triples: input file, shape, output file")
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    for i in range(0, len(rest), 3):
        shape = tuple(int(d) for d in rest[i + 1].split(","))
        x = np.fromfile(rest[i], dtype=np.float32).reshape(shape)
        (y,) = session.run(None, {"input": x})
        y.astype(np.float32).tofile(rest[i + 2])


if __name__ == "__main__":
    main()
