//! U-Net SR: an encoder-decoder with skip connections ("U-Net: Convolutional Networks for
//! Biomedical Image Segmentation", MICCAI 2015, <https://arxiv.org/abs/1505.04597>) followed
//! by a sub-pixel upsampler (ESPCN, CVPR 2016), for images whose structures span many scales
//! (medical and microscopy images): the coarse levels see far at little cost.
//!
//! A 3x3 head convolution; [`LEVELS`] encoder levels, each halving the resolution by
//! `pixel_unshuffle(2)` (lossless, unlike pooling) and doubling the features with two 3x3
//! convolutions; a decoder that climbs back, each level expanding by a convolution and
//! `pixel_shuffle(2)`, concatenating the encoder's features of that level and fusing them with
//! a 3x3 convolution; then a 3x3 convolution to `num_channels * scale^2` channels and
//! `pixel_shuffle(scale)`. ReLU after every convolution but the expanding and output ones.
//! Inputs need sides in multiples of `2^LEVELS`.
//!
//! Arguments ([`UNetSrConfig`]): `scale`, `num_channels` (3 for RGB, 1 for gray or luma),
//! `num_feat` (32, doubled at each level).
//!
//! There is no published reference; the PyTorch module of `tools/pytorch_reference.py` uses
//! upres's names as keys: `head`, `down.{l}.conv{1,2}`, `up.{l}.expand`, `up.{l}.fuse`,
//! `upsampler`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{PixelShuffle, PixelShuffleConfig};
use burn::tensor::Device;

use super::common::conv;
use crate::error::ModelError;
use crate::ops::{Activation, SrOps};
use crate::weights::PytorchKeys;

/// Encoder levels below the input resolution. Fixed: tiles are cut on a grid that keeps the
/// coarsest level's pixels (and the fast engine's Winograd blocks there) where the whole
/// image has them.
pub const LEVELS: usize = 2;

/// U-Net SR hyper-parameters.
#[derive(Config, Debug)]
pub struct UNetSrConfig {
    /// Upscaling factor (the final pixel-shuffle factor).
    pub scale: usize,
    /// Image channels (3 for RGB, 1 for gray or luma).
    #[config(default = 3)]
    pub num_channels: usize,
    /// Features at the input resolution; each level below doubles them.
    #[config(default = 32)]
    pub num_feat: usize,
}

impl UNetSrConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> Result<UNetSr, ModelError> {
        if self.scale < 2 {
            return Err(ModelError::UnsupportedScale {
                arch: "unet-sr",
                scale: self.scale,
                supported: "any integer >= 2".into(),
            });
        }
        let feat = |level: usize| self.num_feat << level;
        Ok(UNetSr {
            head: conv(self.num_channels, feat(0), 3, device),
            down: (1..=LEVELS)
                .map(|l| Down {
                    conv1: conv(4 * feat(l - 1), feat(l), 3, device),
                    conv2: conv(feat(l), feat(l), 3, device),
                })
                .collect(),
            // `up[l]` climbs from level `l + 1` to level `l`.
            up: (0..LEVELS)
                .map(|l| Up {
                    expand: conv(feat(l + 1), 4 * feat(l), 3, device),
                    fuse: conv(2 * feat(l), feat(l), 3, device),
                })
                .collect(),
            upsampler: conv(
                feat(0),
                self.num_channels * self.scale * self.scale,
                3,
                device,
            ),
            shuffle: PixelShuffleConfig::new(self.scale).init(),
        })
    }
}

/// One encoder level: space-to-depth by 2, then two convolutions.
#[derive(Module, Debug)]
pub struct Down {
    /// `4 * f -> 2 * f` after the space-to-depth.
    pub conv1: Conv2d,
    /// `2 * f -> 2 * f`.
    pub conv2: Conv2d,
}

/// One decoder level: expand and depth-to-space by 2, concatenate the skip, fuse.
#[derive(Module, Debug)]
pub struct Up {
    /// `2 * f -> 4 * f` before the depth-to-space.
    pub expand: Conv2d,
    /// `2 * f -> f` over the upsampled features and the skip.
    pub fuse: Conv2d,
}

/// U-Net SR.
#[derive(Module, Debug)]
pub struct UNetSr {
    /// First convolution, at the input resolution.
    pub head: Conv2d,
    /// Encoder levels, finest first.
    pub down: Vec<Down>,
    /// Decoder levels, finest first (run coarsest first).
    pub up: Vec<Up>,
    /// Sub-pixel convolution to `num_channels * scale^2` channels.
    pub upsampler: Conv2d,
    /// Rearranges the upsampler's channels into the `scale`-times larger image.
    pub shuffle: PixelShuffle,
}

impl UNetSr {
    /// Upscales `[N, C, H, W]` to `[N, C, H * scale, W * scale]`; `H` and `W` must be
    /// multiples of `2^LEVELS`.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let relu = |h| ops.activation(Activation::Relu, h);
        let mut skips = vec![relu(ops.conv2d(&self.head, x))];
        for level in &self.down {
            let h = ops.pixel_unshuffle(skips.last().expect("the head's").clone(), 2);
            let h = relu(ops.conv2d(&level.conv1, h));
            skips.push(relu(ops.conv2d(&level.conv2, h)));
        }
        let mut h = skips.pop().expect("the coarsest level's");
        for (level, skip) in self.up.iter().rev().zip(skips.into_iter().rev()) {
            let expanded = ops.pixel_shuffle(ops.conv2d(&level.expand, h), 2);
            h = relu(ops.conv2d(&level.fuse, ops.concat_channels(&[expanded, skip])));
        }
        ops.pixel_shuffle(ops.conv2d(&self.upsampler, h), self.shuffle.upscale_factor)
    }

    /// An upper bound of the receptive-field radius in input pixels. A 3x3 convolution at
    /// level `l` reaches `2^l` input pixels; each crossing to level `l` and back may add the
    /// `2^l - 1` pixels by which a pixel's block extends beyond it.
    pub fn receptive_radius(&self) -> usize {
        // Convolutions at the input resolution: head, the finest fuse and the upsampler.
        let mut radius = 3;
        for l in 1..=LEVELS {
            // conv1, conv2 and the expand that leaves the level, plus the fuse that enters it
            // from below (none at the coarsest).
            let convs = if l == LEVELS { 3 } else { 4 };
            radius += (convs << l) + 2 * ((1 << l) - 1);
        }
        radius
    }
}

impl PytorchKeys for UNetSr {
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
    fn output_shape_per_scale_and_channels() {
        let device = Device::flex();
        for (scale, channels) in [(2, 1), (3, 3), (4, 1)] {
            let model = UNetSrConfig::new(scale)
                .with_num_channels(channels)
                .with_num_feat(4)
                .init(&device)
                .unwrap();
            let y = model.run(&BurnOps, Tensor::zeros([1, channels, 8, 12], &device));
            assert_eq!(y.dims(), [1, channels, 8 * scale, 12 * scale]);
        }
        assert!(UNetSrConfig::new(1).init(&device).is_err());
    }
}
