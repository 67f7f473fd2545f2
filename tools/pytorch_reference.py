#!/usr/bin/env python3
"""PyTorch reference implementations of upres's super-resolution architectures.

The modules below follow the official repositories' code so that their `state_dict` keys are
the official ones that public checkpoints use:

* SRCNN, FSRCNN, ESPCN: the widely used PyTorch ports (SRCNN-pytorch,
  FSRCNN-pytorch, ESPCN-pytorch), with a configurable channel count.
* EDSR, RCAN: EDSR-PyTorch (`src/model/common.py`, `edsr.py`, `rcan.py`).
* MSRResNet, RRDBNet: BasicSR (`basicsr/archs/srresnet_arch.py`, `rrdbnet_arch.py`,
  `arch_util.py`).
* SRVGGNetCompact: Real-ESRGAN (`realesrgan/archs/srvgg_arch.py`).
* SRResNet with batch norm (SRGAN paper): there is no official PyTorch release, so its keys are
  upres's own names.
* U-Net SR: upres's own encoder-decoder (`crates/upres-models/src/arch/unet.rs`), keys are
  upres's names.

Running the script (with torch, numpy and safetensors installed)

    python tools/pytorch_reference.py [OUTPUT_DIR]

writes, into OUTPUT_DIR (default: crates/upres-models/tests/fixtures, relative to the
repository root):

* `<case>.pth`: the state dict of a reduced-size model with random but fixed weights, under
  the official key names (BasicSR-style cases nest it under `params` / `params_ema` as BasicSR
  and Real-ESRGAN release files do);
* `<case>_io.safetensors`: tensors `input` (1x3xHxW, values in [0, 1]) and `output`;
* `param_counts.txt`: `name scale count` lines for the full-size (paper default) configs,
  counting trainable parameters (`requires_grad`), which excludes EDSR/RCAN's fixed mean shift.
"""

import contextlib
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

# ---------------------------------------------------------------------------------------------
# SRCNN / FSRCNN / ESPCN


class SRCNN(nn.Module):
    def __init__(self, num_channels=3, n1=64, n2=32, f1=9, f2=5, f3=5):
        super().__init__()
        self.conv1 = nn.Conv2d(num_channels, n1, kernel_size=f1, padding=f1 // 2)
        self.conv2 = nn.Conv2d(n1, n2, kernel_size=f2, padding=f2 // 2)
        self.conv3 = nn.Conv2d(n2, num_channels, kernel_size=f3, padding=f3 // 2)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        return self.conv3(x)


class FSRCNN(nn.Module):
    def __init__(self, scale_factor, num_channels=3, d=56, s=12, m=4):
        super().__init__()
        self.first_part = nn.Sequential(
            nn.Conv2d(num_channels, d, kernel_size=5, padding=5 // 2), nn.PReLU(d)
        )
        mid = [nn.Conv2d(d, s, kernel_size=1), nn.PReLU(s)]
        for _ in range(m):
            mid.extend([nn.Conv2d(s, s, kernel_size=3, padding=3 // 2), nn.PReLU(s)])
        mid.extend([nn.Conv2d(s, d, kernel_size=1), nn.PReLU(d)])
        self.mid_part = nn.Sequential(*mid)
        self.last_part = nn.ConvTranspose2d(
            d,
            num_channels,
            kernel_size=9,
            stride=scale_factor,
            padding=9 // 2,
            output_padding=scale_factor - 1,
        )

    def forward(self, x):
        return self.last_part(self.mid_part(self.first_part(x)))


class ESPCN(nn.Module):
    def __init__(self, scale_factor, num_channels=3, n1=64, n2=32):
        super().__init__()
        self.first_part = nn.Sequential(
            nn.Conv2d(num_channels, n1, kernel_size=5, padding=5 // 2),
            nn.Tanh(),
            nn.Conv2d(n1, n2, kernel_size=3, padding=3 // 2),
            nn.Tanh(),
        )
        self.last_part = nn.Sequential(
            nn.Conv2d(n2, num_channels * scale_factor**2, kernel_size=3, padding=3 // 2),
            nn.PixelShuffle(scale_factor),
        )

    def forward(self, x):
        return self.last_part(self.first_part(x))


# ---------------------------------------------------------------------------------------------
# EDSR-PyTorch: common.py, edsr.py, rcan.py


def default_conv(in_channels, out_channels, kernel_size, bias=True):
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=(kernel_size // 2), bias=bias)


class MeanShift(nn.Conv2d):
    def __init__(self, rgb_range, rgb_mean=(0.4488, 0.4371, 0.4040), rgb_std=(1.0, 1.0, 1.0), sign=-1):
        super().__init__(3, 3, kernel_size=1)
        std = torch.Tensor(rgb_std)
        self.weight.data = torch.eye(3).view(3, 3, 1, 1) / std.view(3, 1, 1, 1)
        self.bias.data = sign * rgb_range * torch.Tensor(rgb_mean) / std
        for p in self.parameters():
            p.requires_grad = False


class ResBlock(nn.Module):
    def __init__(self, conv, n_feats, kernel_size, bias=True, act=nn.ReLU(True), res_scale=1):
        super().__init__()
        m = []
        for i in range(2):
            m.append(conv(n_feats, n_feats, kernel_size, bias=bias))
            if i == 0:
                m.append(act)
        self.body = nn.Sequential(*m)
        self.res_scale = res_scale

    def forward(self, x):
        res = self.body(x).mul(self.res_scale)
        res += x
        return res


class Upsampler(nn.Sequential):
    def __init__(self, conv, scale, n_feats, bias=True):
        m = []
        if (scale & (scale - 1)) == 0:
            for _ in range(int(math.log(scale, 2))):
                m.append(conv(n_feats, 4 * n_feats, 3, bias))
                m.append(nn.PixelShuffle(2))
        elif scale == 3:
            m.append(conv(n_feats, 9 * n_feats, 3, bias))
            m.append(nn.PixelShuffle(3))
        else:
            raise NotImplementedError
        super().__init__(*m)


class EDSR(nn.Module):
    def __init__(self, scale, n_resblocks=16, n_feats=64, res_scale=1.0, rgb_range=1.0, n_colors=3):
        super().__init__()
        conv = default_conv
        kernel_size = 3
        act = nn.ReLU(True)
        self.sub_mean = MeanShift(rgb_range)
        self.add_mean = MeanShift(rgb_range, sign=1)
        m_head = [conv(n_colors, n_feats, kernel_size)]
        m_body = [ResBlock(conv, n_feats, kernel_size, act=act, res_scale=res_scale) for _ in range(n_resblocks)]
        m_body.append(conv(n_feats, n_feats, kernel_size))
        m_tail = [Upsampler(conv, scale, n_feats), conv(n_feats, n_colors, kernel_size)]
        self.head = nn.Sequential(*m_head)
        self.body = nn.Sequential(*m_body)
        self.tail = nn.Sequential(*m_tail)

    def forward(self, x):
        x = self.sub_mean(x)
        x = self.head(x)
        res = self.body(x)
        res += x
        x = self.tail(res)
        return self.add_mean(x)


class CALayer(nn.Module):
    def __init__(self, channel, reduction=16):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_du = nn.Sequential(
            nn.Conv2d(channel, channel // reduction, 1, padding=0, bias=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(channel // reduction, channel, 1, padding=0, bias=True),
            nn.Sigmoid(),
        )

    def forward(self, x):
        y = self.avg_pool(x)
        y = self.conv_du(y)
        return x * y


class RCAB(nn.Module):
    def __init__(self, conv, n_feat, kernel_size, reduction, bias=True, act=nn.ReLU(True)):
        super().__init__()
        modules_body = []
        for i in range(2):
            modules_body.append(conv(n_feat, n_feat, kernel_size, bias=bias))
            if i == 0:
                modules_body.append(act)
        modules_body.append(CALayer(n_feat, reduction))
        self.body = nn.Sequential(*modules_body)

    def forward(self, x):
        res = self.body(x)
        res += x
        return res


class ResidualGroup(nn.Module):
    def __init__(self, conv, n_feat, kernel_size, reduction, n_resblocks):
        super().__init__()
        modules_body = [RCAB(conv, n_feat, kernel_size, reduction, act=nn.ReLU(True)) for _ in range(n_resblocks)]
        modules_body.append(conv(n_feat, n_feat, kernel_size))
        self.body = nn.Sequential(*modules_body)

    def forward(self, x):
        res = self.body(x)
        res += x
        return res


class RCAN(nn.Module):
    def __init__(self, scale, n_resgroups=10, n_resblocks=20, n_feats=64, reduction=16, rgb_range=1.0, n_colors=3):
        super().__init__()
        conv = default_conv
        kernel_size = 3
        self.sub_mean = MeanShift(rgb_range)
        modules_head = [conv(n_colors, n_feats, kernel_size)]
        modules_body = [
            ResidualGroup(conv, n_feats, kernel_size, reduction, n_resblocks=n_resblocks) for _ in range(n_resgroups)
        ]
        modules_body.append(conv(n_feats, n_feats, kernel_size))
        modules_tail = [Upsampler(conv, scale, n_feats), conv(n_feats, n_colors, kernel_size)]
        self.add_mean = MeanShift(rgb_range, sign=1)
        self.head = nn.Sequential(*modules_head)
        self.body = nn.Sequential(*modules_body)
        self.tail = nn.Sequential(*modules_tail)

    def forward(self, x):
        x = self.sub_mean(x)
        x = self.head(x)
        res = self.body(x)
        res += x
        x = self.tail(res)
        return self.add_mean(x)


# ---------------------------------------------------------------------------------------------
# SRResNet (SRGAN paper, batch norm). No official PyTorch release: keys are upres's names.


class SRResNetBlock(nn.Module):
    def __init__(self, num_feat):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.bn1 = nn.BatchNorm2d(num_feat)
        self.prelu = nn.PReLU()
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(num_feat)

    def forward(self, x):
        out = self.prelu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return x + out


class SRResNet(nn.Module):
    def __init__(self, scale, num_feat=64, num_block=16):
        super().__init__()
        self.conv_first = nn.Conv2d(3, num_feat, 9, 1, 4)
        self.prelu_first = nn.PReLU()
        self.body = nn.ModuleList([SRResNetBlock(num_feat) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.bn_body = nn.BatchNorm2d(num_feat)
        factors = [2] * int(math.log2(scale)) if scale & (scale - 1) == 0 else [3]
        self.factors = factors
        self.upsample = nn.ModuleList([nn.Conv2d(num_feat, num_feat * f * f, 3, 1, 1) for f in factors])
        self.upsample_prelu = nn.ModuleList([nn.PReLU() for _ in factors])
        self.conv_last = nn.Conv2d(num_feat, 3, 9, 1, 4)

    def forward(self, x):
        feat = self.prelu_first(self.conv_first(x))
        out = feat
        for block in self.body:
            out = block(out)
        out = self.bn_body(self.conv_body(out)) + feat
        for f, conv, act in zip(self.factors, self.upsample, self.upsample_prelu):
            out = act(F.pixel_shuffle(conv(out), f))
        return self.conv_last(out)


# ---------------------------------------------------------------------------------------------
# BasicSR: arch_util.py, srresnet_arch.py, rrdbnet_arch.py


def make_layer(basic_block, num_basic_block, **kwarg):
    return nn.Sequential(*[basic_block(**kwarg) for _ in range(num_basic_block)])


class ResidualBlockNoBN(nn.Module):
    def __init__(self, num_feat=64, res_scale=1):
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1, bias=True)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x
        out = self.conv2(self.relu(self.conv1(x)))
        return identity + out * self.res_scale


class MSRResNet(nn.Module):
    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_block=16, upscale=4):
        super().__init__()
        self.upscale = upscale
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = make_layer(ResidualBlockNoBN, num_block, num_feat=num_feat)
        if self.upscale in [2, 3]:
            self.upconv1 = nn.Conv2d(num_feat, num_feat * self.upscale * self.upscale, 3, 1, 1)
            self.pixel_shuffle = nn.PixelShuffle(self.upscale)
        elif self.upscale == 4:
            self.upconv1 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
            self.upconv2 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
            self.pixel_shuffle = nn.PixelShuffle(2)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    def forward(self, x):
        feat = self.lrelu(self.conv_first(x))
        out = self.body(feat)
        if self.upscale == 4:
            out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
            out = self.lrelu(self.pixel_shuffle(self.upconv2(out)))
        elif self.upscale in [2, 3]:
            out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        base = F.interpolate(x, scale_factor=self.upscale, mode="bilinear", align_corners=False)
        out += base
        return out


def pixel_unshuffle(x, scale):
    b, c, hh, hw = x.size()
    out_channel = c * (scale**2)
    assert hh % scale == 0 and hw % scale == 0
    h = hh // scale
    w = hw // scale
    x_view = x.view(b, c, h, scale, w, scale)
    return x_view.permute(0, 1, 3, 5, 2, 4).reshape(b, out_channel, h, w)


class ResidualDenseBlock(nn.Module):
    def __init__(self, num_feat=64, num_grow_ch=32):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x):
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, num_feat, num_grow_ch=32):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x):
        out = self.rdb1(x)
        out = self.rdb2(out)
        out = self.rdb3(out)
        return out * 0.2 + x


class RRDBNet(nn.Module):
    def __init__(self, num_in_ch=3, num_out_ch=3, scale=4, num_feat=64, num_block=23, num_grow_ch=32):
        super().__init__()
        self.scale = scale
        if scale == 2:
            num_in_ch = num_in_ch * 4
        elif scale == 1:
            num_in_ch = num_in_ch * 16
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = make_layer(RRDB, num_block, num_feat=num_feat, num_grow_ch=num_grow_ch)
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x):
        if self.scale == 2:
            feat = pixel_unshuffle(x, scale=2)
        elif self.scale == 1:
            feat = pixel_unshuffle(x, scale=4)
        else:
            feat = x
        feat = self.conv_first(feat)
        body_feat = self.conv_body(self.body(feat))
        feat = feat + body_feat
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


# ---------------------------------------------------------------------------------------------
# Real-ESRGAN: srvgg_arch.py (act_type='prelu')


class SRVGGNetCompact(nn.Module):
    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4):
        super().__init__()
        self.upscale = upscale
        self.body = nn.ModuleList()
        self.body.append(nn.Conv2d(num_in_ch, num_feat, 3, 1, 1))
        self.body.append(nn.PReLU(num_parameters=num_feat))
        for _ in range(num_conv):
            self.body.append(nn.Conv2d(num_feat, num_feat, 3, 1, 1))
            self.body.append(nn.PReLU(num_parameters=num_feat))
        self.body.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x):
        out = x
        for layer in self.body:
            out = layer(out)
        out = self.upsampler(out)
        base = F.interpolate(x, scale_factor=self.upscale, mode="nearest")
        out += base
        return out


class UNetSR(nn.Module):
    """U-Net encoder-decoder (pixel-unshuffle down, pixel-shuffle up, skip concatenation) and a
    sub-pixel upsampler; sides must be multiples of 2**levels."""

    def __init__(self, upscale, num_channels=3, num_feat=32, levels=2):
        super().__init__()
        feat = lambda level: num_feat << level
        self.head = nn.Conv2d(num_channels, feat(0), 3, 1, 1)
        self.down = nn.ModuleList()
        for level in range(1, levels + 1):
            block = nn.Module()
            block.conv1 = nn.Conv2d(4 * feat(level - 1), feat(level), 3, 1, 1)
            block.conv2 = nn.Conv2d(feat(level), feat(level), 3, 1, 1)
            self.down.append(block)
        self.up = nn.ModuleList()
        for level in range(levels):
            block = nn.Module()
            block.expand = nn.Conv2d(feat(level + 1), 4 * feat(level), 3, 1, 1)
            block.fuse = nn.Conv2d(2 * feat(level), feat(level), 3, 1, 1)
            self.up.append(block)
        self.upsampler = nn.Conv2d(feat(0), num_channels * upscale * upscale, 3, 1, 1)
        self.upscale = upscale

    def forward(self, x):
        skips = [F.relu(self.head(x))]
        for block in self.down:
            h = F.pixel_unshuffle(skips[-1], 2)
            h = F.relu(block.conv1(h))
            skips.append(F.relu(block.conv2(h)))
        h = skips.pop()
        for block, skip in zip(reversed(self.up), reversed(skips)):
            expanded = F.pixel_shuffle(block.expand(h), 2)
            h = F.relu(block.fuse(torch.cat([expanded, skip], 1)))
        return F.pixel_shuffle(self.upsampler(h), self.upscale)


# ---------------------------------------------------------------------------------------------
# Training precision, shared by the training references (train_reference.py,
# bench_train_step.py).


def autocast(device, precision):
    """The context a forward pass runs in: nothing for "f32", bf16 autocast for "bf16"."""
    if precision == "f32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


# ---------------------------------------------------------------------------------------------
# Full-size parameter counts (paper defaults) and reduced-size parity fixtures.


def full_models():
    """(registry name, scale, constructor) for every registered architecture and scale."""
    out = []
    for s in (2, 3, 4):
        out.append(("srcnn", s, lambda: SRCNN()))
    for s in (2, 3, 4):
        out.append(("srcnn-y", s, lambda: SRCNN(num_channels=1)))
    for s in (2, 3, 4, 8):
        out.append(("fsrcnn", s, lambda s=s: FSRCNN(s)))
    for s in (2, 3, 4, 8):
        out.append(("fsrcnn-y", s, lambda s=s: FSRCNN(s, num_channels=1)))
    for s in (2, 3, 4, 8):
        out.append(("espcn", s, lambda s=s: ESPCN(s)))
    for s in (2, 3, 4, 8):
        out.append(("espcn-y", s, lambda s=s: ESPCN(s, num_channels=1)))
    for s in (2, 3, 4, 8):
        out.append(("edsr-baseline", s, lambda s=s: EDSR(s)))
    for s in (2, 3, 4, 8):
        out.append(("edsr", s, lambda s=s: EDSR(s, n_resblocks=32, n_feats=256, res_scale=0.1)))
    for s in (2, 3, 4, 8):
        out.append(("rcan", s, lambda s=s: RCAN(s)))
    for s in (2, 3, 4, 8):
        out.append(("srresnet", s, lambda s=s: SRResNet(s)))
    for s in (2, 3, 4):
        out.append(("msrresnet", s, lambda s=s: MSRResNet(upscale=s)))
    for s in (2, 4):
        out.append(("rrdbnet", s, lambda s=s: RRDBNet(scale=s)))
    for s in (2, 3, 4, 8):
        out.append(("srvgg-compact", s, lambda s=s: SRVGGNetCompact(upscale=s)))
    for s in (2, 3, 4):
        out.append(("unet-sr", s, lambda s=s: UNetSR(s)))
    for s in (2, 3, 4):
        out.append(("unet-sr-y", s, lambda s=s: UNetSR(s, num_channels=1)))
    return out


def randomize_batch_norm(model, gen):
    """Give batch-norm layers non-trivial affine weights and running statistics."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=gen) - 0.5)
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 0.2 - 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)


def randomize_prelu(model, gen):
    """Spread PReLU slopes so that a mis-assigned slope changes the output."""
    for m in model.modules():
        if isinstance(m, nn.PReLU):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) * 0.5)


def fixture_cases():
    """(case name, input height, input width, input scale, nesting key, constructor)."""
    return [
        ("srcnn", 16, 14, 1.0, None, lambda: SRCNN(n1=16, n2=8)),
        ("fsrcnn_x3", 12, 10, 1.0, None, lambda: FSRCNN(3, d=24, s=8, m=2)),
        ("espcn_x3", 12, 10, 1.0, None, lambda: ESPCN(3, n1=16, n2=8)),
        ("edsr_x4", 12, 10, 1.0, None, lambda: EDSR(4, n_resblocks=2, n_feats=16, res_scale=0.1)),
        ("edsr_x3", 12, 10, 1.0, None, lambda: EDSR(3, n_resblocks=1, n_feats=8)),
        # rgb_range 255, as EDSR-PyTorch's released checkpoints: the model sees x * 255.
        ("rcan_x2", 12, 10, 255.0, None, lambda: RCAN(2, n_resgroups=2, n_resblocks=2, n_feats=16, reduction=4, rgb_range=255.0)),
        ("srresnet_x4", 12, 10, 1.0, None, lambda: SRResNet(4, num_feat=16, num_block=2)),
        ("msrresnet_x4", 12, 10, 1.0, "params", lambda: MSRResNet(num_feat=16, num_block=2, upscale=4)),
        ("msrresnet_x3", 12, 10, 1.0, "params", lambda: MSRResNet(num_feat=8, num_block=1, upscale=3)),
        ("rrdbnet_x4", 12, 10, 1.0, "params_ema", lambda: RRDBNet(scale=4, num_feat=16, num_block=2, num_grow_ch=8)),
        ("rrdbnet_x2", 12, 10, 1.0, "params", lambda: RRDBNet(scale=2, num_feat=8, num_block=1, num_grow_ch=4)),
        ("srvgg_x4", 12, 10, 1.0, "params", lambda: SRVGGNetCompact(num_feat=16, num_conv=2, upscale=4)),
        ("unet_x3", 12, 16, 1.0, None, lambda: UNetSR(3, num_feat=4)),
    ]


def main():
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default_out = os.path.join(repo_root, "crates", "upres-models", "tests", "fixtures")
    out_dir = sys.argv[1] if len(sys.argv) > 1 else default_out
    os.makedirs(out_dir, exist_ok=True)
    torch.set_grad_enabled(False)

    lines = []
    for name, scale, make in full_models():
        model = make()
        count = sum(p.numel() for p in model.parameters() if p.requires_grad)
        lines.append(f"{name} {scale} {count}")
        print(f"{name:14} x{scale}: {count}")
    with open(os.path.join(out_dir, "param_counts.txt"), "w") as f:
        f.write("# name scale trainable-parameters, printed by tools/pytorch_reference.py\n")
        f.write("\n".join(lines) + "\n")

    for index, (case, h, w, input_scale, nest, make) in enumerate(fixture_cases()):
        torch.manual_seed(1000 + index)
        gen = torch.Generator().manual_seed(2000 + index)
        model = make()
        randomize_batch_norm(model, gen)
        randomize_prelu(model, gen)
        model.eval()
        x = torch.rand(1, 3, h, w, generator=gen)
        y = model(x * input_scale) / input_scale
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        torch.save({nest: state} if nest else state, os.path.join(out_dir, f"{case}.pth"))
        save_file(
            {"input": x.contiguous(), "output": y.contiguous()},
            os.path.join(out_dir, f"{case}_io.safetensors"),
        )
        print(f"{case}: output {tuple(y.shape)}, range [{y.min():.3f}, {y.max():.3f}]")


if __name__ == "__main__":
    main()
