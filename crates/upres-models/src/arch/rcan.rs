//! RCAN: "Image Super-Resolution Using Very Deep Residual Channel Attention Networks",
//! ECCV 2018, <https://arxiv.org/abs/1807.02758>.
//!
//! Residual in residual: `n_resgroups` residual groups, each `n_resblocks` residual channel
//! attention blocks (RCAB: conv-ReLU-conv, then channel attention, plus the block input) and a
//! group convolution with a skip over the group; a body convolution with a global skip; the
//! EDSR sub-pixel upsampler and tail. Channel attention squeezes by global average pooling and
//! gates the channels with `sigmoid(conv1x1(relu(conv1x1(pool))))`, reducing by `reduction`.
//! As in EDSR-PyTorch `src/model/rcan.py` (and the RCAN release), the RCAB residual is not scaled.
//!
//! Arguments ([`RcanConfig`]): `scale` (2, 3, or a power of two), `n_resgroups` (10),
//! `n_resblocks` (20), `n_feats` (64), `reduction` (16), `rgb_range` (see
//! [`EdsrConfig`](super::edsr::EdsrConfig)).
//!
//! PyTorch keys: `head.0`, `body.{g}.body.{b}.body.0` / `.body.2` (RCAB convolutions),
//! `body.{g}.body.{b}.body.3.conv_du.0` / `.conv_du.2` (attention), `body.{g}.body.{n_resblocks}`,
//! `body.{n_resgroups}`, `tail.0.{2k}`, `tail.1`; `sub_mean` / `add_mean` are checked.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::Device;

use super::common::{EdsrFrame, ResidualBody, conv};
use crate::error::ModelError;
use crate::ops::{Activation, SrOps};
use crate::weights::{FixedTensor, PytorchKeys};

/// RCAN hyper-parameters (paper defaults: 10 groups of 20 blocks, 64 features, reduction 16).
#[derive(Config, Debug)]
pub struct RcanConfig {
    /// Upscaling factor: 2, 3 or a power of two.
    pub scale: usize,
    /// Residual groups.
    #[config(default = 10)]
    pub n_resgroups: usize,
    /// Channel attention blocks per group.
    #[config(default = 20)]
    pub n_resblocks: usize,
    /// Feature channels.
    #[config(default = 64)]
    pub n_feats: usize,
    /// Channel reduction of the attention bottleneck.
    #[config(default = 16)]
    pub reduction: usize,
    /// Pixel range the weights expect (1 or 255).
    #[config(default = 1.0)]
    pub rgb_range: f64,
}

impl RcanConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> Result<Rcan, ModelError> {
        let f = self.n_feats;
        if self.reduction == 0 || f / self.reduction == 0 {
            return Err(ModelError::InvalidConfig {
                arch: "rcan",
                reason: format!("reduction {} leaves no channels of {f}", self.reduction),
            });
        }
        let squeezed = f / self.reduction;
        let group = || ResidualGroup {
            blocks: (0..self.n_resblocks)
                .map(|_| Rcab {
                    conv1: conv(f, f, 3, device),
                    conv2: conv(f, f, 3, device),
                    attention: ChannelAttention {
                        squeeze: conv(f, squeezed, 1, device),
                        excite: conv(squeezed, f, 1, device),
                    },
                })
                .collect(),
            conv: conv(f, f, 3, device),
        };
        let body = (0..self.n_resgroups).map(|_| group()).collect();
        EdsrFrame::new("rcan", body, f, self.scale, self.rgb_range, false, device)
    }
}

/// Channel attention: `x * sigmoid(excite(relu(squeeze(mean_hw(x)))))`.
#[derive(Module, Debug)]
pub struct ChannelAttention {
    /// 1x1 convolution to `n_feats / reduction` channels.
    pub squeeze: Conv2d,
    /// 1x1 convolution back to `n_feats` channels.
    pub excite: Conv2d,
}

impl ChannelAttention {
    /// Gates the channels of `x`.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let pooled = ops.global_mean(x.clone());
        let squeezed = ops.activation(Activation::Relu, ops.conv2d(&self.squeeze, pooled));
        let gate = ops.activation(Activation::Sigmoid, ops.conv2d(&self.excite, squeezed));
        ops.mul_per_channel(x, gate)
    }
}

/// Residual channel attention block.
#[derive(Module, Debug)]
pub struct Rcab {
    /// First 3x3 convolution.
    pub conv1: Conv2d,
    /// Second 3x3 convolution.
    pub conv2: Conv2d,
    /// Channel attention.
    pub attention: ChannelAttention,
}

impl Rcab {
    /// `x + CA(conv2(relu(conv1(x))))`.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let h = ops.activation(Activation::Relu, ops.conv2d(&self.conv1, x.clone()));
        let res = ops.conv2d(&self.conv2, h);
        ops.add(x, self.attention.run(ops, res))
    }
}

/// Residual group: RCABs, a convolution, and a skip over the group.
#[derive(Module, Debug)]
pub struct ResidualGroup {
    /// The blocks.
    pub blocks: Vec<Rcab>,
    /// Group-closing 3x3 convolution.
    pub conv: Conv2d,
}

impl ResidualGroup {
    /// `x + conv(blocks(x))`.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let res = self.blocks.iter().fold(x.clone(), |h, b| b.run(ops, h));
        ops.add(x, ops.conv2d(&self.conv, res))
    }
}

/// RCAN: the [`EdsrFrame`] around residual groups.
pub type Rcan = EdsrFrame<Vec<ResidualGroup>>;

impl ResidualBody for Vec<ResidualGroup> {
    fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        self.iter().fold(x, |h, group| group.run(ops, h))
    }

    fn units(&self) -> usize {
        self.len()
    }
}

impl PytorchKeys for Rcan {
    fn pytorch_key(&self, param: &str) -> Option<String> {
        let segs: Vec<&str> = param.split('.').collect();
        let blocks = self.body.first().map_or(0, |g| g.blocks.len());
        match segs.as_slice() {
            ["body", g, "blocks", b, rest @ ..] => {
                let inner = match rest {
                    ["conv1", leaf] => format!("body.0.{leaf}"),
                    ["conv2", leaf] => format!("body.2.{leaf}"),
                    ["attention", "squeeze", leaf] => format!("body.3.conv_du.0.{leaf}"),
                    ["attention", "excite", leaf] => format!("body.3.conv_du.2.{leaf}"),
                    _ => return None,
                };
                Some(format!("body.{g}.body.{b}.{inner}"))
            }
            ["body", g, "conv", leaf] => Some(format!("body.{g}.body.{blocks}.{leaf}")),
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
    use burn::tensor::Tensor;

    fn small(scale: usize) -> RcanConfig {
        RcanConfig::new(scale)
            .with_n_resgroups(1)
            .with_n_resblocks(1)
            .with_n_feats(16)
    }

    #[test]
    fn output_shape_per_scale() {
        let device = Device::flex();
        for scale in [2, 3, 4, 8] {
            let model = small(scale).init(&device).unwrap();
            let y = model.run(&BurnOps, Tensor::zeros([1, 3, 5, 4], &device));
            assert_eq!(y.dims(), [1, 3, 5 * scale, 4 * scale]);
        }
        assert!(small(2).with_reduction(32).init(&device).is_err());
    }

    #[test]
    fn pytorch_keys() {
        let model = RcanConfig::new(2).init(&Device::flex()).unwrap();
        let key = |p: &str| model.pytorch_key(p).unwrap();
        assert_eq!(
            key("body.9.blocks.19.conv2.weight"),
            "body.9.body.19.body.2.weight"
        );
        assert_eq!(
            key("body.0.blocks.1.attention.excite.bias"),
            "body.0.body.1.body.3.conv_du.2.bias"
        );
        assert_eq!(key("body.3.conv.weight"), "body.3.body.20.weight");
        assert_eq!(key("body_conv.weight"), "body.10.weight");
    }
}
