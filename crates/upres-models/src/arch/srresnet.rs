//! SRResNet, the generator of SRGAN: "Photo-Realistic Single Image
//! Super-Resolution Using a Generative Adversarial Network", CVPR 2017,
//! <https://arxiv.org/abs/1609.04802>; and BasicSR's MSRResNet ("modified SRResNet",
//! ESRGAN, ECCVW 2018, <https://arxiv.org/abs/1809.00219>).
//!
//! [`SrResNet`] (paper): 9x9 convolution + PReLU, `num_block` residual blocks
//! (conv-BN-PReLU-conv-BN plus skip), a convolution + BN with a skip from the first features,
//! sub-pixel upsampling stages (conv, PixelShuffle, PReLU) and a 9x9 output convolution.
//! Batch norm runs on its running statistics unless the device records gradients. There is no
//! official PyTorch release, so its PyTorch keys are upres's names (with PyTorch's `weight` /
//! `bias` for PReLU and batch norm), except `upsample.{k}` / `upsample_prelu.{k}` for the
//! upsampling stages.
//!
//! [`MsrResNet`] (BasicSR `basicsr/archs/srresnet_arch.py`): no batch norm, 3x3 first
//! convolution, LeakyReLU(0.1), residual blocks `x + conv2(relu(conv1(x)))`, upsampling by
//! `upconv1` (+ `upconv2` at x4) with PixelShuffle and LeakyReLU, `conv_hr`, `conv_last`, and the
//! input upsampled bilinearly (`align_corners=False`) added to the output. Scales 2, 3, 4.
//! PyTorch keys: `conv_first`, `body.{i}.conv1` / `conv2`, `upconv1`, `upconv2`, `conv_hr`,
//! `conv_last`.
//!
//! Arguments: `scale`, `num_feat` (64), `num_block` (16).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig, PRelu, PReluConfig};
use burn::tensor::Device;

use super::common::{ResBlock, Upsampler, conv};
use crate::error::ModelError;
use crate::ops::{Activation, SrOps, Upsample};
use crate::weights::{PytorchKeys, torch_leaf};

/// SRResNet hyper-parameters (paper defaults: 16 blocks, 64 features).
#[derive(Config, Debug)]
pub struct SrResNetConfig {
    /// Upscaling factor: 2, 3 or a power of two.
    pub scale: usize,
    /// Feature channels.
    #[config(default = 64)]
    pub num_feat: usize,
    /// Residual blocks.
    #[config(default = 16)]
    pub num_block: usize,
}

fn prelu(device: &Device) -> PRelu {
    PReluConfig::new().init(device)
}

fn batch_norm(feats: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(feats).init(device)
}

impl SrResNetConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> Result<SrResNet, ModelError> {
        let f = self.num_feat;
        let upsampler = Upsampler::new("srresnet", f, self.scale, device)?;
        Ok(SrResNet {
            conv_first: conv(3, f, 9, device),
            prelu_first: prelu(device),
            body: (0..self.num_block)
                .map(|_| BnResBlock {
                    conv1: conv(f, f, 3, device),
                    bn1: batch_norm(f, device),
                    prelu: prelu(device),
                    conv2: conv(f, f, 3, device),
                    bn2: batch_norm(f, device),
                })
                .collect(),
            conv_body: conv(f, f, 3, device),
            bn_body: batch_norm(f, device),
            upsample_acts: upsampler.stages.iter().map(|_| prelu(device)).collect(),
            upsampler,
            conv_last: conv(f, 3, 9, device),
        })
    }
}

/// SRGAN residual block: `x + bn2(conv2(prelu(bn1(conv1(x)))))`.
#[derive(Module, Debug)]
pub struct BnResBlock {
    /// First 3x3 convolution.
    pub conv1: Conv2d,
    /// First batch norm.
    pub bn1: BatchNorm,
    /// Activation (one slope).
    pub prelu: PRelu,
    /// Second 3x3 convolution.
    pub conv2: Conv2d,
    /// Second batch norm.
    pub bn2: BatchNorm,
}

impl BnResBlock {
    /// Applies the block.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let h = ops.batch_norm(&self.bn1, ops.conv2d(&self.conv1, x.clone()));
        let h = ops.activation(Activation::PRelu(&self.prelu), h);
        ops.add(x, ops.batch_norm(&self.bn2, ops.conv2d(&self.conv2, h)))
    }
}

/// SRResNet with batch norm (SRGAN generator).
#[derive(Module, Debug)]
pub struct SrResNet {
    /// 9x9 first convolution.
    pub conv_first: Conv2d,
    /// Its activation.
    pub prelu_first: PRelu,
    /// Residual blocks.
    pub body: Vec<BnResBlock>,
    /// Convolution after the blocks.
    pub conv_body: Conv2d,
    /// Batch norm after it.
    pub bn_body: BatchNorm,
    /// Sub-pixel upsampling stages.
    pub upsampler: Upsampler,
    /// One PReLU after each upsampling stage.
    pub upsample_acts: Vec<PRelu>,
    /// 9x9 output convolution.
    pub conv_last: Conv2d,
}

impl SrResNet {
    /// Upscales `[N, 3, H, W]` to `[N, 3, H * scale, W * scale]`.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let feat = ops.conv2d(&self.conv_first, x);
        let feat = ops.activation(Activation::PRelu(&self.prelu_first), feat);
        let out = self.body.iter().fold(feat.clone(), |h, b| b.run(ops, h));
        let out = ops.batch_norm(&self.bn_body, ops.conv2d(&self.conv_body, out));
        let out = ops.add(out, feat);
        let out = self.upsampler.run_with(ops, out, |i| {
            Some(Activation::PRelu(&self.upsample_acts[i]))
        });
        ops.conv2d(&self.conv_last, out)
    }
}

impl PytorchKeys for SrResNet {
    fn pytorch_key(&self, param: &str) -> Option<String> {
        let segs: Vec<&str> = param.split('.').collect();
        let (leaf, path) = segs.split_last()?;
        let leaf = torch_leaf(leaf);
        let path = match path {
            ["upsampler", "stages", k] => format!("upsample.{k}"),
            ["upsample_acts", k] => format!("upsample_prelu.{k}"),
            other => other.join("."),
        };
        Some(format!("{path}.{leaf}"))
    }
}

/// MSRResNet hyper-parameters (BasicSR defaults: 16 blocks, 64 features).
#[derive(Config, Debug)]
pub struct MsrResNetConfig {
    /// Upscaling factor: 2, 3 or 4.
    pub scale: usize,
    /// Feature channels.
    #[config(default = 64)]
    pub num_feat: usize,
    /// Residual blocks.
    #[config(default = 16)]
    pub num_block: usize,
}

impl MsrResNetConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> Result<MsrResNet, ModelError> {
        if !matches!(self.scale, 2..=4) {
            return Err(ModelError::UnsupportedScale {
                arch: "msrresnet",
                scale: self.scale,
                supported: "2, 3, 4".into(),
            });
        }
        let f = self.num_feat;
        Ok(MsrResNet {
            conv_first: conv(3, f, 3, device),
            body: (0..self.num_block)
                .map(|_| ResBlock::new(f, 1.0, device))
                .collect(),
            upsampler: Upsampler::new("msrresnet", f, self.scale, device)?,
            conv_hr: conv(f, f, 3, device),
            conv_last: conv(f, 3, 3, device),
            scale: self.scale,
        })
    }
}

/// BasicSR's MSRResNet (no batch norm, bilinear global skip).
#[derive(Module, Debug)]
pub struct MsrResNet {
    /// 3x3 first convolution.
    pub conv_first: Conv2d,
    /// Residual blocks without batch norm.
    pub body: Vec<ResBlock>,
    /// `upconv1` (and `upconv2` at x4) with their pixel shuffles.
    pub upsampler: Upsampler,
    /// High-resolution convolution.
    pub conv_hr: Conv2d,
    /// Output convolution.
    pub conv_last: Conv2d,
    /// Upscaling factor (of the bilinear skip).
    pub scale: usize,
}

const MSRRESNET_SLOPE: f64 = 0.1;

impl MsrResNet {
    /// Upscales `[N, 3, H, W]` to `[N, 3, H * scale, W * scale]`.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let lrelu = Activation::LeakyRelu(MSRRESNET_SLOPE);
        let feat = ops.activation(lrelu, ops.conv2d(&self.conv_first, x.clone()));
        let out = self.body.iter().fold(feat, |h, b| b.run(ops, h));
        let out = self.upsampler.run_with(ops, out, |_| Some(lrelu));
        let out = ops.activation(lrelu, ops.conv2d(&self.conv_hr, out));
        let out = ops.conv2d(&self.conv_last, out);
        ops.add(out, ops.upsample(x, self.scale, Upsample::Bilinear))
    }
}

impl PytorchKeys for MsrResNet {
    fn pytorch_key(&self, param: &str) -> Option<String> {
        let segs: Vec<&str> = param.split('.').collect();
        match segs.as_slice() {
            ["upsampler", "stages", k, leaf] => {
                Some(format!("upconv{}.{leaf}", k.parse::<usize>().ok()? + 1))
            }
            _ => Some(param.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::BurnOps;
    use burn::tensor::Tensor;

    #[test]
    fn srresnet_output_shape_per_scale() {
        let device = Device::flex();
        for scale in [2, 3, 4, 8] {
            let model = SrResNetConfig::new(scale)
                .with_num_feat(8)
                .with_num_block(1)
                .init(&device)
                .unwrap();
            let y = model.run(&BurnOps, Tensor::zeros([1, 3, 5, 4], &device));
            assert_eq!(y.dims(), [1, 3, 5 * scale, 4 * scale]);
        }
    }

    #[test]
    fn msrresnet_output_shape_per_scale() {
        let device = Device::flex();
        for scale in [2, 3, 4] {
            let model = MsrResNetConfig::new(scale)
                .with_num_feat(8)
                .with_num_block(1)
                .init(&device)
                .unwrap();
            let y = model.run(&BurnOps, Tensor::zeros([1, 3, 5, 4], &device));
            assert_eq!(y.dims(), [1, 3, 5 * scale, 4 * scale]);
        }
        assert!(MsrResNetConfig::new(8).init(&device).is_err());
    }

    #[test]
    fn pytorch_keys() {
        let device = Device::flex();
        let srresnet = SrResNetConfig::new(4).init(&device).unwrap();
        let key = |p: &str| srresnet.pytorch_key(p).unwrap();
        assert_eq!(key("body.2.bn1.gamma"), "body.2.bn1.weight");
        assert_eq!(key("body.2.bn1.running_var"), "body.2.bn1.running_var");
        assert_eq!(key("upsampler.stages.1.bias"), "upsample.1.bias");
        assert_eq!(key("upsample_acts.0.alpha"), "upsample_prelu.0.weight");
        let msr = MsrResNetConfig::new(4).init(&device).unwrap();
        assert_eq!(
            msr.pytorch_key("upsampler.stages.1.weight").unwrap(),
            "upconv2.weight"
        );
        assert_eq!(
            msr.pytorch_key("body.0.conv1.weight").unwrap(),
            "body.0.conv1.weight"
        );
    }
}
