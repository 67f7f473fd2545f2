//! FSRCNN: "Accelerating the Super-Resolution Convolutional Neural Network",
//! ECCV 2016, <https://arxiv.org/abs/1608.00367>.
//!
//! Works on the low-resolution image directly: feature extraction (5x5, `d` filters), shrinking
//! (1x1, `s` filters), `m` mapping layers (3x3, `s` filters), expanding (1x1, `d` filters), each
//! followed by a per-channel PReLU, then a 9x9 transposed convolution with stride `scale`,
//! padding 4 and output padding `scale - 1`, so the output is exactly `scale` times larger.
//! Layout as in the widely used PyTorch port FSRCNN-pytorch.
//!
//! Arguments ([`FsrcnnConfig`]): `scale`, `num_channels` (3 for RGB, 1 for the paper's Y
//! channel), `d`, `s`, `m` (paper: 56, 12, 4).
//!
//! PyTorch keys: `first_part.0` (conv) / `first_part.1` (PReLU), `mid_part.{2i}` /
//! `mid_part.{2i+1}` for shrink, mapping and expand, `last_part` (transposed conv).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{ConvTranspose2d, ConvTranspose2dConfig};
use burn::tensor::Device;

use super::common::ConvPRelu;
use crate::error::ModelError;
use crate::ops::SrOps;
use crate::weights::{PytorchKeys, torch_leaf};

/// FSRCNN hyper-parameters (paper defaults: d=56, s=12, m=4).
#[derive(Config, Debug)]
pub struct FsrcnnConfig {
    /// Upscaling factor (stride of the transposed convolution).
    pub scale: usize,
    /// Image channels (3 for RGB, 1 for luma only).
    #[config(default = 3)]
    pub num_channels: usize,
    /// Feature dimension `d`.
    #[config(default = 56)]
    pub d: usize,
    /// Shrunk dimension `s`.
    #[config(default = 12)]
    pub s: usize,
    /// Number of mapping layers `m`.
    #[config(default = 4)]
    pub m: usize,
}

impl FsrcnnConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> Result<Fsrcnn, ModelError> {
        if self.scale < 2 {
            return Err(ModelError::UnsupportedScale {
                arch: "fsrcnn",
                scale: self.scale,
                supported: "any integer >= 2".into(),
            });
        }
        Ok(Fsrcnn {
            feature: ConvPRelu::new(self.num_channels, self.d, 5, device),
            shrink: ConvPRelu::new(self.d, self.s, 1, device),
            mapping: (0..self.m)
                .map(|_| ConvPRelu::new(self.s, self.s, 3, device))
                .collect(),
            expand: ConvPRelu::new(self.s, self.d, 1, device),
            deconv: ConvTranspose2dConfig::new([self.d, self.num_channels], [9, 9])
                .with_stride([self.scale, self.scale])
                .with_padding([4, 4])
                .with_padding_out([self.scale - 1, self.scale - 1])
                .init(device),
        })
    }
}

/// FSRCNN.
#[derive(Module, Debug)]
pub struct Fsrcnn {
    /// Feature extraction (5x5).
    pub feature: ConvPRelu,
    /// Shrinking (1x1).
    pub shrink: ConvPRelu,
    /// Mapping (3x3, `m` layers).
    pub mapping: Vec<ConvPRelu>,
    /// Expanding (1x1).
    pub expand: ConvPRelu,
    /// Deconvolution (9x9, stride `scale`).
    pub deconv: ConvTranspose2d,
}

impl Fsrcnn {
    /// Upscales `[N, C, H, W]` to `[N, C, H * scale, W * scale]`.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let x = self.shrink.run(ops, self.feature.run(ops, x));
        let x = self.mapping.iter().fold(x, |x, layer| layer.run(ops, x));
        ops.conv_transpose2d(&self.deconv, self.expand.run(ops, x))
    }
}

impl PytorchKeys for Fsrcnn {
    fn pytorch_key(&self, param: &str) -> Option<String> {
        let segs: Vec<&str> = param.split('.').collect();
        let m = self.mapping.len();
        let (prefix, layer, part, leaf) = match segs.as_slice() {
            ["deconv", leaf] => return Some(format!("last_part.{leaf}")),
            ["feature", part, leaf] => ("first_part", 0, *part, *leaf),
            ["shrink", part, leaf] => ("mid_part", 0, *part, *leaf),
            ["mapping", i, part, leaf] => {
                ("mid_part", 2 + 2 * i.parse::<usize>().ok()?, *part, *leaf)
            }
            ["expand", part, leaf] => ("mid_part", 2 + 2 * m, *part, *leaf),
            _ => return None,
        };
        let index = match part {
            "conv" => layer,
            "act" => layer + 1,
            _ => return None,
        };
        Some(format!("{prefix}.{index}.{}", torch_leaf(leaf)))
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
            let model = FsrcnnConfig::new(scale).init(&device).unwrap();
            let y = model.run(&BurnOps, Tensor::zeros([1, 3, 5, 4], &device));
            assert_eq!(y.dims(), [1, 3, 5 * scale, 4 * scale]);
        }
        assert!(FsrcnnConfig::new(1).init(&device).is_err());
    }

    #[test]
    fn pytorch_keys() {
        let model = FsrcnnConfig::new(2).init(&Device::flex()).unwrap();
        assert_eq!(
            model.pytorch_key("feature.act.alpha").unwrap(),
            "first_part.1.weight"
        );
        assert_eq!(
            model.pytorch_key("mapping.3.conv.bias").unwrap(),
            "mid_part.8.bias"
        );
        assert_eq!(
            model.pytorch_key("expand.act.alpha").unwrap(),
            "mid_part.11.weight"
        );
        assert_eq!(
            model.pytorch_key("deconv.weight").unwrap(),
            "last_part.weight"
        );
    }
}
