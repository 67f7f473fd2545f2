//! RRDBNet, the generator of ESRGAN / Real-ESRGAN: "ESRGAN: Enhanced
//! Super-Resolution Generative Adversarial Networks", ECCVW 2018,
//! <https://arxiv.org/abs/1809.00219>; "Real-ESRGAN: Training Real-World
//! Blind Super-Resolution with Pure Synthetic Data", ICCVW 2021, <https://arxiv.org/abs/2107.10833>.
//!
//! A first convolution, `num_block` residual-in-residual dense blocks (three dense blocks of
//! five convolutions with LeakyReLU(0.2) and growth `num_grow_ch`, each residual scaled by 0.2),
//! a body convolution with a skip, then two nearest-neighbour x2 upsamplings each followed by
//! a convolution, `conv_hr` and `conv_last`. The network always upscales its (first-conv) input
//! by 4: for x2 the input is first `pixel_unshuffle`d by 2 (x1 by 4), as BasicSR
//! `basicsr/archs/rrdbnet_arch.py` does, so x2 inputs need even sides.
//!
//! Arguments ([`RrdbNetConfig`]): `scale` (1, 2, 4), `num_feat` (64), `num_block` (23),
//! `num_grow_ch` (32).
//!
//! PyTorch keys: BasicSR / Real-ESRGAN's, which are upres's too: `conv_first`,
//! `body.{i}.rdb{1,2,3}.conv{1..5}`, `conv_body`, `conv_up1`, `conv_up2`, `conv_hr`,
//! `conv_last` (release files nest them under `params_ema` or `params`).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{PixelUnshuffle, PixelUnshuffleConfig};
use burn::tensor::Device;

use super::common::conv;
use crate::error::ModelError;
use crate::ops::{Activation, SrOps, Upsample};
use crate::weights::PytorchKeys;

const SLOPE: f64 = 0.2;
const RESIDUAL_SCALE: f64 = 0.2;

/// RRDBNet hyper-parameters (ESRGAN defaults: 23 blocks, 64 features, growth 32).
#[derive(Config, Debug)]
pub struct RrdbNetConfig {
    /// Upscaling factor: 1, 2 or 4.
    pub scale: usize,
    /// Feature channels.
    #[config(default = 64)]
    pub num_feat: usize,
    /// RRDB blocks.
    #[config(default = 23)]
    pub num_block: usize,
    /// Growth channels of the dense blocks.
    #[config(default = 32)]
    pub num_grow_ch: usize,
}

impl RrdbNetConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> Result<RrdbNet, ModelError> {
        let unshuffle = match self.scale {
            4 => None,
            2 => Some(2),
            1 => Some(4),
            scale => {
                return Err(ModelError::UnsupportedScale {
                    arch: "rrdbnet",
                    scale,
                    supported: "1, 2, 4".into(),
                });
            }
        };
        let in_ch = 3 * unshuffle.map_or(1, |r| r * r);
        let (f, g) = (self.num_feat, self.num_grow_ch);
        let dense = || DenseBlock {
            conv1: conv(f, g, 3, device),
            conv2: conv(f + g, g, 3, device),
            conv3: conv(f + 2 * g, g, 3, device),
            conv4: conv(f + 3 * g, g, 3, device),
            conv5: conv(f + 4 * g, f, 3, device),
        };
        Ok(RrdbNet {
            unshuffle: unshuffle.map(|r| PixelUnshuffleConfig::new(r).init()),
            conv_first: conv(in_ch, f, 3, device),
            body: (0..self.num_block)
                .map(|_| Rrdb {
                    rdb1: dense(),
                    rdb2: dense(),
                    rdb3: dense(),
                })
                .collect(),
            conv_body: conv(f, f, 3, device),
            conv_up1: conv(f, f, 3, device),
            conv_up2: conv(f, f, 3, device),
            conv_hr: conv(f, f, 3, device),
            conv_last: conv(f, 3, 3, device),
        })
    }
}

/// Residual dense block: five densely connected convolutions, residual scaled by 0.2.
#[derive(Module, Debug)]
pub struct DenseBlock {
    /// `f -> g`.
    pub conv1: Conv2d,
    /// `f + g -> g`.
    pub conv2: Conv2d,
    /// `f + 2g -> g`.
    pub conv3: Conv2d,
    /// `f + 3g -> g`.
    pub conv4: Conv2d,
    /// `f + 4g -> f`.
    pub conv5: Conv2d,
}

impl DenseBlock {
    /// Applies the block.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let mut features = vec![x.clone()];
        for layer in [&self.conv1, &self.conv2, &self.conv3, &self.conv4] {
            let h = ops.conv2d(layer, ops.concat_channels(&features));
            features.push(ops.activation(Activation::LeakyRelu(SLOPE), h));
        }
        let out = ops.conv2d(&self.conv5, ops.concat_channels(&features));
        ops.add(ops.mul_scalar(out, RESIDUAL_SCALE), x)
    }
}

/// Residual in residual dense block.
#[derive(Module, Debug)]
pub struct Rrdb {
    /// First dense block.
    pub rdb1: DenseBlock,
    /// Second dense block.
    pub rdb2: DenseBlock,
    /// Third dense block.
    pub rdb3: DenseBlock,
}

impl Rrdb {
    /// Applies the block.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let out = self.rdb1.run(ops, x.clone());
        let out = self.rdb3.run(ops, self.rdb2.run(ops, out));
        ops.add(ops.mul_scalar(out, RESIDUAL_SCALE), x)
    }
}

/// RRDBNet.
#[derive(Module, Debug)]
pub struct RrdbNet {
    /// Space-to-depth of the input for scales 2 and 1.
    pub unshuffle: Option<PixelUnshuffle>,
    /// First convolution.
    pub conv_first: Conv2d,
    /// RRDB blocks.
    pub body: Vec<Rrdb>,
    /// Convolution after the blocks.
    pub conv_body: Conv2d,
    /// Convolution after the first nearest x2 upsampling.
    pub conv_up1: Conv2d,
    /// Convolution after the second nearest x2 upsampling.
    pub conv_up2: Conv2d,
    /// High-resolution convolution.
    pub conv_hr: Conv2d,
    /// Output convolution.
    pub conv_last: Conv2d,
}

impl RrdbNet {
    /// Upscales `[N, 3, H, W]` to `[N, 3, H * scale, W * scale]` (for x2 `H` and `W` must be
    /// even, for x1 multiples of 4).
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let lrelu = |h| ops.activation(Activation::LeakyRelu(SLOPE), h);
        let x = match &self.unshuffle {
            Some(unshuffle) => ops.pixel_unshuffle(x, unshuffle.downscale_factor),
            None => x,
        };
        let feat = ops.conv2d(&self.conv_first, x);
        let body = self.body.iter().fold(feat.clone(), |h, b| b.run(ops, h));
        let feat = ops.add(feat, ops.conv2d(&self.conv_body, body));
        let feat = ops.upsample(feat, 2, Upsample::Nearest);
        let feat = lrelu(ops.conv2d(&self.conv_up1, feat));
        let feat = ops.upsample(feat, 2, Upsample::Nearest);
        let feat = lrelu(ops.conv2d(&self.conv_up2, feat));
        ops.conv2d(&self.conv_last, lrelu(ops.conv2d(&self.conv_hr, feat)))
    }
}

impl PytorchKeys for RrdbNet {
    fn pytorch_key(&self, param: &str) -> Option<String> {
        Some(param.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::BurnOps;
    use burn::tensor::Tensor;

    #[test]
    fn output_shape_per_scale() {
        let device = Device::flex();
        for scale in [1, 2, 4] {
            let model = RrdbNetConfig::new(scale)
                .with_num_feat(8)
                .with_num_block(1)
                .with_num_grow_ch(4)
                .init(&device)
                .unwrap();
            let y = model.run(&BurnOps, Tensor::zeros([1, 3, 8, 4], &device));
            assert_eq!(y.dims(), [1, 3, 8 * scale, 4 * scale]);
        }
        assert!(RrdbNetConfig::new(3).init(&device).is_err());
    }
}
