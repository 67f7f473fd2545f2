//! Discriminators for adversarial SR training.
//!
//! - [`VggDiscriminator`]: one logit per 128x128 patch (SRGAN, ESRGAN).
//! - [`UNetDiscriminator`]: one logit per pixel, spectrally normalised (Real-ESRGAN).
//!
//! [`VggDiscriminator`]: the VGG-style discriminator of SRGAN ("Photo-Realistic Single Image
//! Super-Resolution Using a Generative Adversarial Network", CVPR 2017,
//! <https://arxiv.org/abs/1609.04802>) as ESRGAN and BasicSR (`VGGStyleDiscriminator`) build it
//! for 128x128 inputs: five stages of a 3x3 convolution and a 4x4 stride-2 convolution
//! (64, 128, 256, 512, 512 features), batch norm after every convolution but the first,
//! LeakyReLU(0.2), then two linear layers (100 hidden units) to one logit per image.
//!
//! Arguments ([`VggDiscriminatorConfig`]): `channels` (3, or 1 for luma models), `features`
//! (64), `input_size` (128; any multiple of 32).
//!
//! PyTorch keys: `conv{s}_{i}`, `bn{s}_{i}`, `linear1`, `linear2` (BasicSR's) map to
//! `convs.{2s+i}`, `norms.{2s+i-1}`, `linear1`, `linear2`.

use burn::config::Config;
use burn::module::{Module, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::leaky_relu;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor};

use crate::error::ModelError;
use crate::ops::{BurnOps, SrOps, Upsample};

const SLOPE: f64 = 0.2;
/// Feature multipliers of the five stages.
const WIDTHS: [usize; 5] = [1, 2, 4, 8, 8];

/// VGG-style discriminator hyper-parameters.
#[derive(Config, Debug)]
pub struct VggDiscriminatorConfig {
    /// Image channels.
    #[config(default = 3)]
    pub channels: usize,
    /// Features of the first stage.
    #[config(default = 64)]
    pub features: usize,
    /// Side of the square inputs it judges.
    #[config(default = 128)]
    pub input_size: usize,
}

impl VggDiscriminatorConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> Result<VggDiscriminator, ModelError> {
        if self.input_size == 0 || !self.input_size.is_multiple_of(32) {
            return Err(ModelError::InvalidConfig {
                arch: "vgg-discriminator",
                reason: format!("input_size {} is not a multiple of 32", self.input_size),
            });
        }
        let mut convs = Vec::new();
        let mut norms = Vec::new();
        let mut channels = self.channels;
        for (stage, &multiple) in WIDTHS.iter().enumerate() {
            let width = self.features * multiple;
            let first = stage == 0;
            convs.push(
                Conv2dConfig::new([channels, width], [3, 3])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .with_bias(first)
                    .init(device),
            );
            if !first {
                norms.push(BatchNormConfig::new(width).init(device));
            }
            convs.push(
                Conv2dConfig::new([width, width], [4, 4])
                    .with_stride([2, 2])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .with_bias(false)
                    .init(device),
            );
            norms.push(BatchNormConfig::new(width).init(device));
            channels = width;
        }
        let side = self.input_size / 32;
        Ok(VggDiscriminator {
            convs,
            norms,
            linear1: LinearConfig::new(channels * side * side, 100).init(device),
            linear2: LinearConfig::new(100, 1).init(device),
            input_size: self.input_size,
        })
    }
}

/// The VGG-style discriminator: `[N, C, S, S]` images to `[N, 1]` logits.
#[derive(Module, Debug)]
pub struct VggDiscriminator {
    /// Ten convolutions, two per stage.
    pub convs: Vec<Conv2d>,
    /// Batch norms after every convolution but the first.
    pub norms: Vec<BatchNorm>,
    /// Flattened features to 100 units.
    pub linear1: Linear,
    /// 100 units to the logit.
    pub linear2: Linear,
    /// The input side it was built for.
    pub input_size: usize,
}

impl VggDiscriminator {
    /// The logit of "real" for each image of the batch.
    pub fn forward(&self, x: Tensor<4>) -> Result<Tensor<2>, ModelError> {
        let [n, _, h, w] = x.dims();
        if (h, w) != (self.input_size, self.input_size) {
            return Err(ModelError::InvalidInput {
                model: "vgg-discriminator",
                reason: format!(
                    "it judges {0}x{0} patches, got {w}x{h} (set the HR patch to {0})",
                    self.input_size
                ),
            });
        }
        let mut x = leaky_relu(self.convs[0].forward(x), SLOPE);
        for (conv, norm) in self.convs[1..].iter().zip(&self.norms) {
            x = leaky_relu(norm.forward(conv.forward(x)), SLOPE);
        }
        let x = x.reshape([n as i32, -1]);
        Ok(self
            .linear2
            .forward(leaky_relu(self.linear1.forward(x), SLOPE)))
    }
}

/// A bias-free convolution whose weight is divided by its largest singular value, estimated
/// by one power iteration per forward pass (Miyato et al., "Spectral Normalization for
/// Generative Adversarial Networks", ICLR 2018; PyTorch's `spectral_norm`). The left singular
/// vector estimate `u` persists between passes, like batch norm's running statistics.
#[derive(Module, Debug)]
pub struct SpectralConv {
    /// The unnormalised convolution (no bias).
    pub conv: Conv2d,
    /// The running estimate of the first left singular vector, `[channels_out]`.
    pub u: RunningState<Tensor<1>>,
}

impl SpectralConv {
    fn new(cin: usize, cout: usize, kernel: usize, stride: usize, device: &Device) -> Self {
        let pad = if kernel == 4 { 1 } else { kernel / 2 };
        let conv = Conv2dConfig::new([cin, cout], [kernel, kernel])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .with_bias(false)
            .init(device);
        let u = Tensor::<1>::random([cout], Distribution::Normal(0.0, 1.0), device);
        Self {
            conv,
            u: RunningState::new(normalize(u)),
        }
    }

    /// The largest singular value of the weight as a `[1]` tensor that gradients flow through;
    /// updates `u` (one power iteration) when `update` is set.
    pub fn sigma(&self, update: bool) -> Tensor<1> {
        let weight = self.conv.weight.val();
        let [cout, cin, kh, kw] = weight.dims();
        let matrix: Tensor<2> = weight.reshape([cout, cin * kh * kw]);
        let constant = matrix.clone().detach();
        let u = self.u.value().to_device(&constant.device());
        let v = normalize(
            constant
                .clone()
                .transpose()
                .matmul(u.clone().unsqueeze_dim::<2>(1))
                .reshape([cin * kh * kw]),
        );
        let u = if update {
            let u = normalize(
                constant
                    .matmul(v.clone().unsqueeze_dim::<2>(1))
                    .reshape([cout]),
            );
            self.u.update(u.clone().detach());
            u
        } else {
            u
        };
        let wv = matrix.matmul(v.unsqueeze_dim::<2>(1)).reshape([cout]);
        (u * wv).sum()
    }

    /// The convolution with the normalised weight (`u` updated in training, on autodiff).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let sigma = self.sigma(x.device().is_autodiff());
        let weight = self.conv.weight.val() / sigma.reshape([1, 1, 1, 1]);
        // The padding the layer was built with (always explicit here).
        let PaddingConfig2d::Explicit(top, left, bottom, right) = self.conv.padding else {
            unreachable!("SpectralConv::new pads explicitly")
        };
        let options = ConvOptions::new_with_padding(
            self.conv.stride,
            [(top, bottom), (left, right)],
            self.conv.dilation,
            self.conv.groups,
        );
        conv2d(x, weight, None, options)
    }
}

fn normalize(x: Tensor<1>) -> Tensor<1> {
    let norm = x.clone().square().sum().sqrt().add_scalar(1e-12);
    x / norm
}

/// U-Net discriminator hyper-parameters (Real-ESRGAN's `UNetDiscriminatorSN`).
#[derive(Config, Debug)]
pub struct UNetDiscriminatorConfig {
    /// Image channels.
    #[config(default = 3)]
    pub channels: usize,
    /// Features of the first level.
    #[config(default = 64)]
    pub features: usize,
}

impl UNetDiscriminatorConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> UNetDiscriminator {
        let f = self.features;
        let conv = |cin, cout| {
            Conv2dConfig::new([cin, cout], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        let sn = |cin, cout, kernel, stride| SpectralConv::new(cin, cout, kernel, stride, device);
        UNetDiscriminator {
            conv0: conv(self.channels, f),
            down: vec![
                sn(f, 2 * f, 4, 2),
                sn(2 * f, 4 * f, 4, 2),
                sn(4 * f, 8 * f, 4, 2),
            ],
            up: vec![
                sn(8 * f, 4 * f, 3, 1),
                sn(4 * f, 2 * f, 3, 1),
                sn(2 * f, f, 3, 1),
            ],
            extra: vec![sn(f, f, 3, 1), sn(f, f, 3, 1)],
            conv9: conv(f, 1),
        }
    }
}

/// Real-ESRGAN's U-Net discriminator ("Real-ESRGAN: Training Real-World Blind
/// Super-Resolution with Pure Synthetic Data", ICCVW 2021, <https://arxiv.org/abs/2107.10833>):
/// three spectrally normalised stride-2 convolutions down, three bilinear x2 upsamplings each
/// followed by a convolution and a skip connection from the same level, two more convolutions,
/// then one logit per pixel. Inputs need sides divisible by 8.
///
/// PyTorch keys: `conv0`, `conv1..3` -> `down.0..2`, `conv4..6` -> `up.0..2`, `conv7..8` ->
/// `extra.0..1`, `conv9`; each spectral `weight_orig` -> `conv.weight`, `weight_u` -> `u`.
#[derive(Module, Debug)]
pub struct UNetDiscriminator {
    /// First convolution (not normalised, with bias).
    pub conv0: Conv2d,
    /// The three stride-2 convolutions.
    pub down: Vec<SpectralConv>,
    /// The three convolutions after each upsampling.
    pub up: Vec<SpectralConv>,
    /// Two refining convolutions at full resolution.
    pub extra: Vec<SpectralConv>,
    /// To one logit per pixel.
    pub conv9: Conv2d,
}

impl UNetDiscriminator {
    /// The per-pixel logits of "real", `[N, 1, H, W]`.
    pub fn forward(&self, x: Tensor<4>) -> Result<Tensor<4>, ModelError> {
        let [_, _, h, w] = x.dims();
        if !h.is_multiple_of(8) || !w.is_multiple_of(8) {
            return Err(ModelError::InvalidInput {
                model: "unet-discriminator",
                reason: format!("its input sides must be multiples of 8, got {w}x{h}"),
            });
        }
        let act = |x| leaky_relu(x, SLOPE);
        let mut skips = vec![act(self.conv0.forward(x))];
        for conv in &self.down {
            let next = act(conv.forward(skips.last().expect("one level").clone()));
            skips.push(next);
        }
        let mut x = skips.pop().expect("the deepest level");
        for conv in &self.up {
            let up = BurnOps.upsample(x, 2, Upsample::Bilinear);
            x = act(conv.forward(up)) + skips.pop().expect("a skip per level");
        }
        for conv in &self.extra {
            x = act(conv.forward(x));
        }
        Ok(self.conv9.forward(x))
    }
}

/// Which discriminator a run trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DiscriminatorKind {
    /// [`VggDiscriminator`].
    #[default]
    Vgg,
    /// [`UNetDiscriminator`].
    UNet,
}

/// Either discriminator, judging `channels`-channel HR patches.
// A run holds one discriminator, so the variants' size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Discriminator {
    /// SRGAN/ESRGAN's.
    Vgg(VggDiscriminator),
    /// Real-ESRGAN's.
    UNet(UNetDiscriminator),
}

impl Discriminator {
    /// Builds `kind` with `features` first-level features for patches of side `patch`.
    pub fn new(
        kind: DiscriminatorKind,
        channels: usize,
        features: usize,
        patch: usize,
        device: &Device,
    ) -> Result<Self, ModelError> {
        Ok(match kind {
            DiscriminatorKind::Vgg => Discriminator::Vgg(
                VggDiscriminatorConfig::new()
                    .with_channels(channels)
                    .with_features(features)
                    .with_input_size(patch)
                    .init(device)?,
            ),
            DiscriminatorKind::UNet => Discriminator::UNet(
                UNetDiscriminatorConfig::new()
                    .with_channels(channels)
                    .with_features(features)
                    .init(device),
            ),
        })
    }

    /// The logits of "real", `[N, 1]` (VGG) or `[N, H * W]` (U-Net, one per pixel).
    pub fn logits(&self, x: Tensor<4>) -> Result<Tensor<2>, ModelError> {
        match self {
            Discriminator::Vgg(d) => d.forward(x),
            Discriminator::UNet(d) => {
                let n = x.dims()[0];
                Ok(d.forward(x)?.reshape([n as i32, -1]))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::tensor::TensorData;

    #[test]
    fn spectral_normalisation_finds_the_largest_singular_value() {
        let device = Device::flex().autodiff();
        let mut layer = SpectralConv::new(2, 2, 1, 1, &device);
        // A 1x1 convolution whose weight matrix is [[3, 0], [0, 1]]: sigma = 3.
        let weight = Tensor::from_data(
            TensorData::new(vec![3.0f32, 0.0, 0.0, 1.0], [2, 2, 1, 1]),
            &device,
        );
        layer.conv.weight = burn::module::Param::from_tensor(weight);
        let mut sigma = 0.0;
        for _ in 0..30 {
            sigma = layer.sigma(true).into_scalar::<f32>();
        }
        assert!((sigma - 3.0).abs() < 1e-4, "sigma {sigma}");
        // The normalised convolution maps (1, 0) to (1, 0): 3 / 3.
        let x = Tensor::from_data(TensorData::new(vec![1.0f32, 0.0], [1, 2, 1, 1]), &device);
        let y = layer.forward(x).into_data().try_into_vec::<f32>().unwrap();
        assert!((y[0] - 1.0).abs() < 1e-4 && y[1].abs() < 1e-6, "{y:?}");
    }

    #[test]
    fn unet_gives_a_logit_per_pixel_and_counts_real_esrgan_parameters() {
        let device = Device::flex();
        let d = UNetDiscriminatorConfig::new().init(&device);
        // Real-ESRGAN's UNetDiscriminatorSN(3, 64) has 4,376,897 trainable parameters; burn
        // also counts the eight spectral `u` vectors (128+256+512+256+128+64+64+64).
        assert_eq!(d.num_params(), 4_376_897 + 1472);
        let logits = d.forward(Tensor::zeros([2, 3, 32, 40], &device)).unwrap();
        assert_eq!(logits.dims(), [2, 1, 32, 40]);
        assert!(d.forward(Tensor::zeros([1, 3, 30, 32], &device)).is_err());
    }

    #[test]
    fn judges_its_patch_size_only_and_counts_basicsr_parameters() {
        let device = Device::flex();
        let d = VggDiscriminatorConfig::new().init(&device).unwrap();
        // BasicSR's VGGStyleDiscriminator(3, 64) has 14,499,401 parameters (weights, biases,
        // batch-norm scales and shifts); burn also counts the nine batch norms' running mean
        // and variance (2 x 2880 values).
        assert_eq!(d.num_params(), 14_499_401 + 2 * 2880);
        let logits = d.forward(Tensor::zeros([2, 3, 128, 128], &device)).unwrap();
        assert_eq!(logits.dims(), [2, 1]);
        assert!(d.forward(Tensor::zeros([1, 3, 96, 96], &device)).is_err());
        assert!(
            VggDiscriminatorConfig::new()
                .with_input_size(100)
                .init(&device)
                .is_err()
        );
    }
}
