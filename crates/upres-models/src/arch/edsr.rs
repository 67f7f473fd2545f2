//! EDSR: "Enhanced Deep Residual Networks for Single Image Super-Resolution", CVPRW 2017,
//! <https://arxiv.org/abs/1707.02921>.
//!
//! A 3x3 head convolution, `n_resblocks` residual blocks without batch norm
//! (`x + res_scale * conv(relu(conv(x)))`), a body convolution with a global skip connection,
//! a sub-pixel [`Upsampler`](super::common::Upsampler) and a tail convolution. Inputs are
//! shifted by the DIV2K RGB mean before the head and back after the tail (the shared
//! [`EdsrFrame`], also RCAN's). Exactly
//! EDSR-PyTorch `src/model/edsr.py` and `common.py`.
//!
//! Arguments ([`EdsrConfig`]): `scale` (2, 3, or a power of two), `n_resblocks`, `n_feats`,
//! `res_scale`, `rgb_range` (RGB only: the mean shift has 3 channels), `sub_pixel` (ESPCN's
//! single sub-pixel layer instead of the upsampler and tail: any scale, less work). Presets: [`EdsrConfig::baseline`] (16 blocks, 64
//! features, res_scale 1) and [`EdsrConfig::full`] (32 blocks, 256 features, res_scale 0.1).
//! `rgb_range` is the pixel range the weights were trained on: the model always takes and
//! returns [0, 1] images and scales them by `rgb_range` internally, so EDSR-PyTorch's released
//! checkpoints (trained with `--rgb_range 255`) need `rgb_range = 255`.
//!
//! PyTorch keys: `head.0`, `body.{i}.body.0` / `body.{i}.body.2`, `body.{n_resblocks}`,
//! `tail.0.{2k}` (upsampler), `tail.1`; the `sub_mean` / `add_mean` tensors are checked
//! against `rgb_range`.

use burn::config::Config;
use burn::tensor::Device;

use super::common::{EdsrFrame, ResBlock, ResidualBody};
use crate::error::ModelError;
use crate::ops::SrOps;
use crate::weights::{FixedTensor, PytorchKeys};

/// EDSR hyper-parameters (defaults: EDSR-baseline).
#[derive(Config, Debug)]
pub struct EdsrConfig {
    /// Upscaling factor: 2, 3 or a power of two.
    pub scale: usize,
    /// Number of residual blocks.
    #[config(default = 16)]
    pub n_resblocks: usize,
    /// Feature channels.
    #[config(default = 64)]
    pub n_feats: usize,
    /// Residual scaling inside each block.
    #[config(default = 1.0)]
    pub res_scale: f64,
    /// Pixel range the weights expect (1 or 255).
    #[config(default = 1.0)]
    pub rgb_range: f64,
    /// ESPCN's sub-pixel tail (one convolution to `3 * scale^2` channels, one pixel shuffle)
    /// instead of EDSR's upsampler stages and tail.
    #[config(default = false)]
    pub sub_pixel: bool,
}

impl EdsrConfig {
    /// EDSR-baseline: 16 blocks, 64 features, res_scale 1.
    pub fn baseline(scale: usize) -> Self {
        Self::new(scale)
    }

    /// Full EDSR: 32 blocks, 256 features, res_scale 0.1.
    pub fn full(scale: usize) -> Self {
        Self::new(scale)
            .with_n_resblocks(32)
            .with_n_feats(256)
            .with_res_scale(0.1)
    }

    /// Builds the network.
    pub fn init(&self, device: &Device) -> Result<Edsr, ModelError> {
        let f = self.n_feats;
        let body = (0..self.n_resblocks)
            .map(|_| ResBlock::new(f, self.res_scale, device))
            .collect();
        EdsrFrame::new(
            "edsr",
            body,
            f,
            self.scale,
            self.rgb_range,
            self.sub_pixel,
            device,
        )
    }
}

/// EDSR: the [`EdsrFrame`] around residual blocks.
pub type Edsr = EdsrFrame<Vec<ResBlock>>;

impl ResidualBody for Vec<ResBlock> {
    fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        self.iter().fold(x, |h, block| block.run(ops, h))
    }

    fn units(&self) -> usize {
        self.len()
    }
}

impl PytorchKeys for Edsr {
    fn pytorch_key(&self, param: &str) -> Option<String> {
        let segs: Vec<&str> = param.split('.').collect();
        match segs.as_slice() {
            ["body", i, conv, leaf] => {
                let index = match *conv {
                    "conv1" => 0,
                    "conv2" => 2,
                    _ => return None,
                };
                Some(format!("body.{i}.body.{index}.{leaf}"))
            }
            other => self.frame_key(other),
        }
    }

    fn fixed_tensors(&self) -> Vec<FixedTensor> {
        self.mean.pytorch_tensors()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::BurnOps;
    use burn::module::Module;
    use burn::tensor::Tensor;

    #[test]
    fn output_shape_per_scale() {
        let device = Device::flex();
        for scale in [2, 3, 4, 8] {
            let model = EdsrConfig::new(scale)
                .with_n_resblocks(1)
                .with_n_feats(8)
                .init(&device)
                .unwrap();
            let y = model.run(&BurnOps, Tensor::zeros([1, 3, 5, 4], &device));
            assert_eq!(y.dims(), [1, 3, 5 * scale, 4 * scale]);
        }
        assert!(EdsrConfig::new(5).init(&device).is_err());
        let sub_pixel = EdsrConfig::new(5)
            .with_n_resblocks(1)
            .with_n_feats(8)
            .with_sub_pixel(true)
            .init(&device)
            .unwrap();
        let y = sub_pixel.run(&BurnOps, Tensor::zeros([1, 3, 5, 4], &device));
        assert_eq!(y.dims(), [1, 3, 25, 20]);
    }

    #[test]
    fn presets() {
        let device = Device::flex();
        let baseline = EdsrConfig::baseline(4).init(&device).unwrap();
        assert_eq!(baseline.body.len(), 16);
        assert_eq!(baseline.num_params(), 1_517_571);
        let full = EdsrConfig::full(4);
        assert_eq!(
            (full.n_resblocks, full.n_feats, full.res_scale),
            (32, 256, 0.1)
        );
    }

    #[test]
    fn pytorch_keys() {
        let model = EdsrConfig::new(4).init(&Device::flex()).unwrap();
        assert_eq!(model.pytorch_key("head.weight").unwrap(), "head.0.weight");
        assert_eq!(
            model.pytorch_key("body.3.conv2.bias").unwrap(),
            "body.3.body.2.bias"
        );
        assert_eq!(
            model.pytorch_key("body_conv.weight").unwrap(),
            "body.16.weight"
        );
        assert_eq!(
            model.pytorch_key("upsampler.stages.1.weight").unwrap(),
            "tail.0.2.weight"
        );
        assert_eq!(model.pytorch_key("tail.bias").unwrap(), "tail.1.bias");
    }
}
