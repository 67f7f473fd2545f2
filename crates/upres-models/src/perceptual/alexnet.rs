//! AlexNet: "One weird trick for parallelizing convolutional neural networks", 2014,
//! <https://arxiv.org/abs/1404.5997> (the single-tower variant torchvision and LPIPS use);
//! the feature stack only.
//!
//! `conv 11x11/4 (64) - relu - maxpool 3/2 - conv 5x5 (192) - relu - maxpool 3/2 -
//! conv 3x3 (384) - relu - conv 3x3 (256) - relu - conv 3x3 (256) - relu`; the outputs of the
//! five ReLUs are what LPIPS compares. Inputs are ImageNet-normalised
//! ([`super::imagenet_normalize`]).

use std::path::Path;

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor};

use super::{ConvShape, PerceptualError, Stored};

/// `[kernel, stride, padding, channels_in, channels_out]` of the five convolutions.
const CONVS: [ConvShape; 5] = [
    [11, 4, 2, 3, 64],
    [5, 1, 2, 64, 192],
    [3, 1, 1, 192, 384],
    [3, 1, 1, 384, 256],
    [3, 1, 1, 256, 256],
];

/// AlexNet's feature stack.
#[derive(Module, Debug)]
pub struct AlexNet {
    /// The five convolutions, in order.
    pub features: Vec<Conv2d>,
}

impl AlexNet {
    /// Loads the trunk and the LPIPS-Alex linear layers from `<dir>/alexnet.safetensors`.
    pub(super) fn load_with_lpips(
        dir: &Path,
        device: &Device,
    ) -> Result<(Self, Vec<Conv2d>), PerceptualError> {
        let channels = CONVS.map(|c| c[4]);
        let stored = Stored::read(dir, "alexnet.safetensors", &CONVS, &channels, device)?;
        Ok((
            Self {
                features: stored.features,
            },
            stored.lins,
        ))
    }

    /// The five ReLU outputs for a normalised NCHW batch (at least 32x32: smaller inputs
    /// vanish in the pooling).
    pub fn relu_outputs(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        let pool = |x| max_pool2d(x, MaxPoolOptions::new([3, 3]).with_stride([2, 2]));
        let mut outputs = Vec::with_capacity(CONVS.len());
        let mut x = x;
        for (i, conv) in self.features.iter().enumerate() {
            if i == 1 || i == 2 {
                x = pool(x);
            }
            x = relu(conv.forward(x));
            outputs.push(x.clone());
        }
        outputs
    }
}
