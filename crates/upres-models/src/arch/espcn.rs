//! ESPCN: "Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel
//! Convolutional Neural Network", CVPR 2016, <https://arxiv.org/abs/1609.05158>.
//!
//! All convolutions run at low resolution: 5x5 (`n1` = 64 filters), 3x3 (`n2` = 32 filters),
//! both with tanh as in the paper, then a 3x3 convolution to `num_channels * scale^2` channels
//! rearranged by a `PixelShuffle(scale)` (the sub-pixel convolution layer).
//!
//! Arguments ([`EspcnConfig`]): `scale`, `num_channels` (3 for RGB, 1 for the paper's Y
//! channel), `n1`, `n2`.
//!
//! PyTorch keys (the ESPCN-pytorch port): `first_part.0`, `first_part.2`, `last_part.0`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{PixelShuffle, PixelShuffleConfig};
use burn::tensor::Device;

use super::common::conv;
use crate::error::ModelError;
use crate::ops::{Activation, SrOps};
use crate::weights::PytorchKeys;

/// ESPCN hyper-parameters (paper defaults: 64 and 32 filters).
#[derive(Config, Debug)]
pub struct EspcnConfig {
    /// Upscaling factor (the pixel-shuffle factor).
    pub scale: usize,
    /// Image channels (3 for RGB, 1 for luma only).
    #[config(default = 3)]
    pub num_channels: usize,
    /// Filters of the first (5x5) layer.
    #[config(default = 64)]
    pub n1: usize,
    /// Filters of the second (3x3) layer.
    #[config(default = 32)]
    pub n2: usize,
}

impl EspcnConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> Result<Espcn, ModelError> {
        if self.scale < 2 {
            return Err(ModelError::UnsupportedScale {
                arch: "espcn",
                scale: self.scale,
                supported: "any integer >= 2".into(),
            });
        }
        let out = self.num_channels * self.scale * self.scale;
        Ok(Espcn {
            conv1: conv(self.num_channels, self.n1, 5, device),
            conv2: conv(self.n1, self.n2, 3, device),
            conv3: conv(self.n2, out, 3, device),
            shuffle: PixelShuffleConfig::new(self.scale).init(),
        })
    }
}

/// ESPCN.
#[derive(Module, Debug)]
pub struct Espcn {
    /// 5x5 feature layer.
    pub conv1: Conv2d,
    /// 3x3 mapping layer.
    pub conv2: Conv2d,
    /// 3x3 sub-pixel convolution.
    pub conv3: Conv2d,
    /// Rearranges `C * r^2` channels into an `r`-times larger image.
    pub shuffle: PixelShuffle,
}

impl Espcn {
    /// Upscales `[N, C, H, W]` to `[N, C, H * scale, W * scale]`.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let x = ops.activation(Activation::Tanh, ops.conv2d(&self.conv1, x));
        let x = ops.activation(Activation::Tanh, ops.conv2d(&self.conv2, x));
        ops.pixel_shuffle(ops.conv2d(&self.conv3, x), self.shuffle.upscale_factor)
    }
}

impl PytorchKeys for Espcn {
    fn pytorch_key(&self, param: &str) -> Option<String> {
        let (layer, leaf) = param.split_once('.')?;
        let prefix = match layer {
            "conv1" => "first_part.0",
            "conv2" => "first_part.2",
            "conv3" => "last_part.0",
            _ => return None,
        };
        Some(format!("{prefix}.{leaf}"))
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
            let model = EspcnConfig::new(scale).init(&device).unwrap();
            let y = model.run(&BurnOps, Tensor::zeros([1, 3, 5, 4], &device));
            assert_eq!(y.dims(), [1, 3, 5 * scale, 4 * scale]);
        }
    }
}
