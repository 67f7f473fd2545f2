//! SRVGGNetCompact, Real-ESRGAN's compact model: "Real-ESRGAN: Training
//! Real-World Blind Super-Resolution with Pure Synthetic Data", ICCVW 2021,
//! <https://arxiv.org/abs/2107.10833> (`realesrgan/archs/srvgg_arch.py`, the
//! `realesr-animevideov3` / `realesr-general-x4v3` models).
//!
//! A plain VGG-style stack at low resolution: a 3x3 convolution and `num_conv` more, each
//! followed by a per-channel PReLU, a last convolution to `3 * scale^2` channels, a
//! `PixelShuffle(scale)`, and the nearest-neighbour upsampled input added as a residual.
//!
//! Arguments ([`SrVggConfig`]): `scale` (any integer >= 2), `num_feat` (64), `num_conv` (16;
//! `realesr-general-x4v3` uses 32), `network_scale` (none): the pixel shuffle's factor where
//! it differs from `scale`, the result then resized to `scale` by PyTorch's bicubic, as
//! realesrgan-ncnn-vulkan ships the x2 and x3 animevideov3 models (the x4 network, resized).
//!
//! PyTorch keys: `body.{2i}` (convolutions), `body.{2i+1}` (PReLU), `body.{2 * num_conv + 2}`
//! (last convolution).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{PixelShuffle, PixelShuffleConfig};
use burn::tensor::Device;

use super::common::{ConvPRelu, conv};
use crate::error::ModelError;
use crate::ops::{SrOps, Upsample};
use crate::weights::{PytorchKeys, torch_leaf};

/// SRVGGNetCompact hyper-parameters (defaults: 64 features, 16 convolutions, PReLU).
#[derive(Config, Debug)]
pub struct SrVggConfig {
    /// Upscaling factor.
    pub scale: usize,
    /// Feature channels.
    #[config(default = 64)]
    pub num_feat: usize,
    /// Convolutions after the first one.
    #[config(default = 16)]
    pub num_conv: usize,
    /// The network's own upscaling factor, when a bicubic resize follows it.
    pub network_scale: Option<usize>,
}

impl SrVggConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> Result<SrVgg, ModelError> {
        if self.scale < 2 {
            return Err(ModelError::UnsupportedScale {
                arch: "srvgg-compact",
                scale: self.scale,
                supported: "any integer >= 2".into(),
            });
        }
        let network_scale = self.network_scale.unwrap_or(self.scale);
        if network_scale < self.scale {
            return Err(ModelError::InvalidConfig {
                arch: "srvgg-compact",
                reason: format!(
                    "network scale x{network_scale} below the model's x{}",
                    self.scale
                ),
            });
        }
        let f = self.num_feat;
        Ok(SrVgg {
            scale: self.scale,
            body: (0..=self.num_conv)
                .map(|i| ConvPRelu::new(if i == 0 { 3 } else { f }, f, 3, device))
                .collect(),
            last: conv(f, 3 * network_scale * network_scale, 3, device),
            shuffle: PixelShuffleConfig::new(network_scale).init(),
        })
    }
}

/// SRVGGNetCompact.
#[derive(Module, Debug)]
pub struct SrVgg {
    /// Convolution + PReLU layers (`num_conv + 1`).
    pub body: Vec<ConvPRelu>,
    /// Convolution to `3 * scale^2` channels.
    pub last: Conv2d,
    /// Pixel shuffle by the network's scale.
    pub shuffle: PixelShuffle,
    /// The model's scale; a bicubic resize follows the network where its own differs.
    pub scale: usize,
}

impl SrVgg {
    /// Upscales `[N, 3, H, W]` to `[N, 3, H * scale, W * scale]`.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let factor = self.shuffle.upscale_factor;
        let out = self
            .body
            .iter()
            .fold(x.clone(), |h, layer| layer.run(ops, h));
        let out = ops.pixel_shuffle(ops.conv2d(&self.last, out), factor);
        let out = ops.add(out, ops.upsample(x, factor, Upsample::Nearest));
        if self.scale == factor {
            out
        } else {
            ops.rescale_bicubic(out, self.scale, factor)
        }
    }
}

impl PytorchKeys for SrVgg {
    fn pytorch_key(&self, param: &str) -> Option<String> {
        let segs: Vec<&str> = param.split('.').collect();
        match segs.as_slice() {
            ["body", i, part, leaf] => {
                let index = 2 * i.parse::<usize>().ok()?
                    + match *part {
                        "conv" => 0,
                        "act" => 1,
                        _ => return None,
                    };
                Some(format!("body.{index}.{}", torch_leaf(leaf)))
            }
            ["last", leaf] => Some(format!("body.{}.{leaf}", 2 * self.body.len())),
            _ => None,
        }
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
        for scale in [2, 3, 4, 8] {
            let model = SrVggConfig::new(scale)
                .with_num_feat(8)
                .with_num_conv(2)
                .init(&device)
                .unwrap();
            let y = model.run(&BurnOps, Tensor::zeros([1, 3, 5, 4], &device));
            assert_eq!(y.dims(), [1, 3, 5 * scale, 4 * scale]);
        }
        let resized = SrVggConfig::new(3)
            .with_num_feat(8)
            .with_num_conv(2)
            .with_network_scale(Some(4))
            .init(&device)
            .unwrap();
        let y = resized.run(&BurnOps, Tensor::zeros([1, 3, 5, 4], &device));
        assert_eq!(y.dims(), [1, 3, 15, 12]);
        assert!(
            SrVggConfig::new(4)
                .with_network_scale(Some(2))
                .init(&device)
                .is_err()
        );
    }

    #[test]
    fn pytorch_keys() {
        let model = SrVggConfig::new(4).init(&Device::flex()).unwrap();
        assert_eq!(
            model.pytorch_key("body.0.act.alpha").unwrap(),
            "body.1.weight"
        );
        assert_eq!(
            model.pytorch_key("body.16.conv.bias").unwrap(),
            "body.32.bias"
        );
        assert_eq!(model.pytorch_key("last.weight").unwrap(), "body.34.weight");
    }
}
