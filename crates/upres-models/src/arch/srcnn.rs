//! SRCNN: "Image Super-Resolution Using Deep Convolutional Networks",
//! TPAMI 2016 (ECCV 2014), <https://arxiv.org/abs/1501.00092>.
//!
//! Three convolutions, 9-5-5 with 64 and 32 filters and ReLU between them: patch extraction,
//! non-linear mapping, reconstruction. SRCNN does not upscale: **the caller upsamples the
//! low-resolution image by the target scale with bicubic interpolation first**, and the
//! network restores detail at that size. Each convolution is padded by half its kernel so the
//! output has the input's size (as BasicSR-style and SRCNN-pytorch implementations do,
//! instead of the paper's valid convolutions).
//!
//! Arguments ([`SrcnnConfig`]): `num_channels` (3 for RGB, 1 for the paper's Y channel),
//! `n1`/`n2` filter counts, `f1`/`f2`/`f3` kernel sizes (odd).
//!
//! PyTorch keys: `conv1`, `conv2`, `conv3` (the SRCNN-pytorch port), the same as upres's.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::Device;

use super::common::conv;
use crate::error::ModelError;
use crate::ops::{Activation, SrOps};
use crate::weights::PytorchKeys;

/// SRCNN hyper-parameters (paper defaults: 9-5-5, 64/32 filters).
#[derive(Config, Debug)]
pub struct SrcnnConfig {
    /// Image channels (3 for RGB, 1 for luma only).
    #[config(default = 3)]
    pub num_channels: usize,
    /// Filters of the first layer.
    #[config(default = 64)]
    pub n1: usize,
    /// Filters of the second layer.
    #[config(default = 32)]
    pub n2: usize,
    /// Kernel of the first layer.
    #[config(default = 9)]
    pub f1: usize,
    /// Kernel of the second layer.
    #[config(default = 5)]
    pub f2: usize,
    /// Kernel of the third layer.
    #[config(default = 5)]
    pub f3: usize,
}

impl SrcnnConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> Result<Srcnn, ModelError> {
        if [self.f1, self.f2, self.f3].iter().any(|k| k % 2 == 0) {
            return Err(ModelError::InvalidConfig {
                arch: "srcnn",
                reason: "kernel sizes must be odd to keep the image size".into(),
            });
        }
        Ok(Srcnn {
            conv1: conv(self.num_channels, self.n1, self.f1, device),
            conv2: conv(self.n1, self.n2, self.f2, device),
            conv3: conv(self.n2, self.num_channels, self.f3, device),
        })
    }
}

/// SRCNN (input: the bicubic-upscaled image; output: the same size).
#[derive(Module, Debug)]
pub struct Srcnn {
    /// Patch extraction.
    pub conv1: Conv2d,
    /// Non-linear mapping.
    pub conv2: Conv2d,
    /// Reconstruction.
    pub conv3: Conv2d,
}

impl Srcnn {
    /// Restores a bicubic-upscaled `[N, C, H, W]` image; the output is `[N, C, H, W]`.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let x = ops.activation(Activation::Relu, ops.conv2d(&self.conv1, x));
        let x = ops.activation(Activation::Relu, ops.conv2d(&self.conv2, x));
        ops.conv2d(&self.conv3, x)
    }
}

impl PytorchKeys for Srcnn {
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
    fn keeps_size() {
        let device = Device::flex();
        let model = SrcnnConfig::new().init(&device).unwrap();
        let y = model.run(&BurnOps, Tensor::zeros([1, 3, 11, 9], &device));
        assert_eq!(y.dims(), [1, 3, 11, 9]);
        assert!(SrcnnConfig::new().with_f1(8).init(&device).is_err());
    }
}
