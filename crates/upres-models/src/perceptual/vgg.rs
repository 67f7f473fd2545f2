//! VGG16: "Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR 2015,
//! <https://arxiv.org/abs/1409.1556>; the feature stack only (torchvision's `vgg16().features`).
//!
//! Five blocks of 2, 2, 3, 3 and 3 3x3 convolutions (64, 128, 256, 512, 512 channels) with ReLU,
//! 2x2 max pooling between blocks. Layers are named as in the perceptual-loss literature:
//! `conv{block}_{index}` is a convolution's output before its ReLU (ESRGAN's choice),
//! `relu{block}_{index}` after it. Inputs are ImageNet-normalised
//! ([`super::imagenet_normalize`]).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor};

use super::{ConvShape, PerceptualError, Stored};

/// Convolutions per block.
const BLOCKS: [usize; 5] = [2, 2, 3, 3, 3];
/// Output channels per block.
const WIDTHS: [usize; 5] = [64, 128, 256, 512, 512];

/// A VGG16 layer output: convolution `index` (0..13) before or after its ReLU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VggLayer {
    /// The convolution, counted from 0 over the whole stack.
    pub conv: usize,
    /// After the ReLU (`relu*_*`) rather than before (`conv*_*`).
    pub activated: bool,
}

impl VggLayer {
    /// `(block, index)`, both from 1, as in `conv3_3`.
    fn block_index(self) -> (usize, usize) {
        let mut first = 0;
        for (block, &convs) in BLOCKS.iter().enumerate() {
            if self.conv < first + convs {
                return (block + 1, self.conv - first + 1);
            }
            first += convs;
        }
        unreachable!("VggLayer::conv is checked on construction")
    }
}

impl FromStr for VggLayer {
    type Err = PerceptualError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let unknown = || PerceptualError::UnknownLayer(name.to_string());
        let (activated, rest) = if let Some(rest) = name.strip_prefix("relu") {
            (true, rest)
        } else if let Some(rest) = name.strip_prefix("conv") {
            (false, rest)
        } else {
            return Err(unknown());
        };
        let (block, index) = rest.split_once('_').ok_or_else(unknown)?;
        let block: usize = block.parse().map_err(|_| unknown())?;
        let index: usize = index.parse().map_err(|_| unknown())?;
        if !(1..=BLOCKS.len()).contains(&block) || !(1..=BLOCKS[block - 1]).contains(&index) {
            return Err(unknown());
        }
        let conv = BLOCKS[..block - 1].iter().sum::<usize>() + index - 1;
        Ok(VggLayer { conv, activated })
    }
}

impl fmt::Display for VggLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (block, index) = self.block_index();
        let kind = if self.activated { "relu" } else { "conv" };
        write!(f, "{kind}{block}_{index}")
    }
}

/// VGG16's feature stack.
#[derive(Module, Debug)]
pub struct Vgg16 {
    /// The 13 convolutions, in order.
    pub features: Vec<Conv2d>,
}

impl Vgg16 {
    /// The layers LPIPS compares: `relu1_2`, `relu2_2`, `relu3_3`, `relu4_3`, `relu5_3`.
    pub fn lpips_layers() -> [VggLayer; 5] {
        let mut last = 0;
        BLOCKS.map(|convs| {
            last += convs;
            VggLayer {
                conv: last - 1,
                activated: true,
            }
        })
    }

    /// Loads `<dir>/vgg16.safetensors` (frozen: no gradients flow into its parameters).
    pub fn load(dir: &Path, device: &Device) -> Result<Self, PerceptualError> {
        Ok(Self::load_with_lpips(dir, device)?.0)
    }

    /// Loads the trunk and the LPIPS-VGG linear layers from `<dir>/vgg16.safetensors`.
    pub(super) fn load_with_lpips(
        dir: &Path,
        device: &Device,
    ) -> Result<(Self, Vec<Conv2d>), PerceptualError> {
        let mut shapes: Vec<ConvShape> = Vec::new();
        let mut channels = 3;
        for (&convs, &width) in BLOCKS.iter().zip(&WIDTHS) {
            for _ in 0..convs {
                shapes.push([3, 1, 1, channels, width]);
                channels = width;
            }
        }
        let stored = Stored::read(dir, "vgg16.safetensors", &shapes, &WIDTHS, device)?;
        Ok((
            Self {
                features: stored.features,
            },
            stored.lins,
        ))
    }

    /// The outputs at `layers` (in the order asked) for a normalised NCHW batch; the stack
    /// runs only as deep as the deepest layer asked.
    pub fn features(&self, x: Tensor<4>, layers: &[VggLayer]) -> Vec<Tensor<4>> {
        let deepest = layers.iter().map(|l| l.conv).max();
        let mut taps: Vec<Option<Tensor<4>>> = vec![None; layers.len()];
        let mut x = x;
        let mut first_of_block = 0;
        for &convs in &BLOCKS {
            if deepest.is_none_or(|d| d < first_of_block) {
                break;
            }
            if first_of_block > 0 {
                x = max_pool2d(x, MaxPoolOptions::new([2, 2]));
            }
            for conv in first_of_block..first_of_block + convs {
                if deepest.is_none_or(|d| d < conv) {
                    break;
                }
                let before = self.features[conv].forward(x);
                for (tap, layer) in taps.iter_mut().zip(layers) {
                    if layer.conv == conv && !layer.activated {
                        *tap = Some(before.clone());
                    }
                }
                x = relu(before);
                for (tap, layer) in taps.iter_mut().zip(layers) {
                    if layer.conv == conv && layer.activated {
                        *tap = Some(x.clone());
                    }
                }
            }
            first_of_block += convs;
        }
        taps.into_iter()
            .map(|t| t.expect("every asked layer is reached"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_names_round_trip() {
        for conv in 0..13 {
            for activated in [false, true] {
                let layer = VggLayer { conv, activated };
                assert_eq!(layer.to_string().parse::<VggLayer>().unwrap(), layer);
            }
        }
        assert_eq!("conv5_3".parse::<VggLayer>().unwrap().conv, 12);
        assert_eq!("relu2_2".parse::<VggLayer>().unwrap().conv, 3);
        for bad in ["conv5_4", "relu0_1", "conv1", "pool1", "relu3_0"] {
            assert!(bad.parse::<VggLayer>().is_err(), "{bad}");
        }
        let lpips: Vec<String> = Vgg16::lpips_layers()
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert_eq!(
            lpips,
            ["relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"]
        );
    }
}
