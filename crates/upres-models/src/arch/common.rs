//! Building blocks shared by several architectures.
//!
//! - [`conv`]: a square convolution padded by `kernel / 2`, so that odd kernels keep the
//!   spatial size (EDSR-PyTorch's `default_conv`, BasicSR's `Conv2d(.., 3, 1, 1)`).
//! - [`ResBlock`]: `x + res_scale * conv2(relu(conv1(x)))`, the residual block without batch
//!   norm of EDSR (CVPRW 2017) and BasicSR's `ResidualBlockNoBN`.
//! - [`ConvPRelu`]: a convolution followed by a per-channel PReLU (FSRCNN, SRVGGNetCompact).
//! - [`Upsampler`]: sub-pixel upsampling (ESPCN, CVPR 2016): `log2(scale)` stages of
//!   `conv(feats -> 4 * feats)` + `PixelShuffle(2)` for powers of two, one stage of
//!   `conv(feats -> 9 * feats)` + `PixelShuffle(3)` for scale 3 (EDSR-PyTorch `Upsampler`).
//! - [`MeanShift`]: subtracting / adding the DIV2K RGB mean (EDSR, RCAN).
//!
//! Forward passes are written once against [`SrOps`] (`run`), see [`crate::ops`].

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{PRelu, PReluConfig, PaddingConfig2d, PixelShuffle, PixelShuffleConfig};
use burn::tensor::Device;

use crate::error::ModelError;
use crate::ops::{Activation, SrOps};
use crate::weights::FixedTensor;

/// DIV2K RGB mean used by EDSR-PyTorch's `MeanShift` (standard deviation 1).
pub const DIV2K_RGB_MEAN: [f64; 3] = [0.4488, 0.4371, 0.4040];

/// A `kernel x kernel` convolution with bias and `kernel / 2` zero padding.
pub fn conv(channels_in: usize, channels_out: usize, kernel: usize, device: &Device) -> Conv2d {
    let pad = kernel / 2;
    Conv2dConfig::new([channels_in, channels_out], [kernel, kernel])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .init(device)
}

/// Residual block without batch norm: `x + res_scale * conv2(relu(conv1(x)))`.
#[derive(Module, Debug)]
pub struct ResBlock {
    /// First 3x3 convolution.
    pub conv1: Conv2d,
    /// Second 3x3 convolution.
    pub conv2: Conv2d,
    /// Residual scaling factor.
    pub res_scale: f64,
}

impl ResBlock {
    /// A block of `feats` channels with 3x3 convolutions.
    pub fn new(feats: usize, res_scale: f64, device: &Device) -> Self {
        Self {
            conv1: conv(feats, feats, 3, device),
            conv2: conv(feats, feats, 3, device),
            res_scale,
        }
    }

    /// Applies the block.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let h = ops.activation(Activation::Relu, ops.conv2d(&self.conv1, x.clone()));
        let res = ops.conv2d(&self.conv2, h);
        let res = if self.res_scale == 1.0 {
            res
        } else {
            ops.mul_scalar(res, self.res_scale)
        };
        ops.add(x, res)
    }
}

/// A convolution followed by a PReLU with one slope per output channel.
#[derive(Module, Debug)]
pub struct ConvPRelu {
    /// The convolution.
    pub conv: Conv2d,
    /// The activation (`alpha` has one slope per channel).
    pub act: PRelu,
}

impl ConvPRelu {
    /// `kernel x kernel` convolution from `channels_in` to `channels_out`, then PReLU.
    pub fn new(channels_in: usize, channels_out: usize, kernel: usize, device: &Device) -> Self {
        Self {
            conv: conv(channels_in, channels_out, kernel, device),
            act: PReluConfig::new()
                .with_num_parameters(channels_out)
                .init(device),
        }
    }

    /// Applies the convolution and the activation.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        ops.activation(Activation::PRelu(&self.act), ops.conv2d(&self.conv, x))
    }
}

/// The pixel-shuffle factors of each upsampling stage for `scale`: `[2; log2(scale)]` for a
/// power of two, `[3]` for 3, `None` otherwise.
pub fn upsample_factors(scale: usize) -> Option<Vec<usize>> {
    match scale {
        3 => Some(vec![3]),
        s if s >= 2 && s.is_power_of_two() => Some(vec![2; s.trailing_zeros() as usize]),
        _ => None,
    }
}

/// Sub-pixel upsampler: each stage is `conv3x3(feats -> r^2 * feats)` then `PixelShuffle(r)`.
#[derive(Module, Debug)]
pub struct Upsampler {
    /// One convolution per stage.
    pub stages: Vec<Conv2d>,
    /// The pixel-shuffle of each stage, in the same order.
    pub shuffles: Vec<PixelShuffle>,
}

impl Upsampler {
    /// An upsampler of `feats` channels by `scale` (2, 3, or a larger power of two).
    pub fn new(
        arch: &'static str,
        feats: usize,
        scale: usize,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let factors = upsample_factors(scale).ok_or_else(|| ModelError::UnsupportedScale {
            arch,
            scale,
            supported: "2, 3 or a power of two".into(),
        })?;
        Ok(Self {
            stages: factors
                .iter()
                .map(|&r| conv(feats, feats * r * r, 3, device))
                .collect(),
            shuffles: factors
                .iter()
                .map(|&r| PixelShuffleConfig::new(r).init())
                .collect(),
        })
    }

    /// Applies every stage; `act(stage)`, if any, runs after each pixel shuffle.
    pub fn run_with<'a, O: SrOps>(
        &'a self,
        ops: &O,
        x: O::Tensor,
        act: impl Fn(usize) -> Option<Activation<'a>>,
    ) -> O::Tensor {
        self.stages
            .iter()
            .zip(&self.shuffles)
            .enumerate()
            .fold(x, |x, (i, (conv, shuffle))| {
                let x = ops.pixel_shuffle(ops.conv2d(conv, x), shuffle.upscale_factor);
                match act(i) {
                    Some(act) => ops.activation(act, x),
                    None => x,
                }
            })
    }

    /// Applies every stage with no activation.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        self.run_with(ops, x, |_| None)
    }
}

/// Adds `sign * rgb_range * mean` to each RGB channel (EDSR-PyTorch `MeanShift` with std 1).
#[derive(Module, Debug)]
pub struct MeanShift {
    /// Per-channel mean, in [0, 1] units.
    pub mean: [f64; 3],
    /// Pixel value range the network was trained on (1 or 255).
    pub rgb_range: f64,
}

impl MeanShift {
    /// The DIV2K mean shift for `rgb_range`.
    pub fn div2k(rgb_range: f64) -> Self {
        Self {
            mean: DIV2K_RGB_MEAN,
            rgb_range,
        }
    }

    fn offsets(&self, sign: f64) -> Vec<f64> {
        self.mean
            .iter()
            .map(|m| sign * self.rgb_range * m)
            .collect()
    }

    /// The values EDSR-PyTorch stores for its `sub_mean` / `add_mean` 1x1 convolutions
    /// (identity weight, bias `-/+ rgb_range * mean`), which checkpoints carry.
    pub fn pytorch_tensors(&self) -> Vec<FixedTensor> {
        let identity: Vec<f32> = (0..9).map(|i| if i % 4 == 0 { 1.0 } else { 0.0 }).collect();
        let bias = |sign: f64| -> Vec<f32> {
            self.mean
                .iter()
                .map(|m| (sign * self.rgb_range * m) as f32)
                .collect()
        };
        vec![
            FixedTensor::new("sub_mean.weight", identity.clone()),
            FixedTensor::new("sub_mean.bias", bias(-1.0)),
            FixedTensor::new("add_mean.weight", identity),
            FixedTensor::new("add_mean.bias", bias(1.0)),
        ]
    }

    /// `x - rgb_range * mean` (the `sub_mean` layer).
    pub fn sub<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        ops.add_per_channel(x, &self.offsets(-1.0))
    }

    /// `x + rgb_range * mean` (the `add_mean` layer).
    pub fn add<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        ops.add_per_channel(x, &self.offsets(1.0))
    }
}

/// The deep part of an [`EdsrFrame`]: EDSR's residual blocks, RCAN's residual groups.
pub trait ResidualBody {
    /// Applies the body (without the frame's body convolution and skip).
    fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor;
    /// Number of top-level units (blocks or groups): the index of the body convolution in
    /// EDSR-PyTorch's `body` sequential.
    fn units(&self) -> usize;
}

/// The frame EDSR and RCAN share (EDSR-PyTorch): `x * rgb_range` minus the mean, a head
/// convolution, a body with a body convolution and a global skip, the sub-pixel upsampler, a
/// tail convolution, the mean added back and the range divided out.
///
/// The upsampler can instead be ESPCN's single sub-pixel layer ([`EdsrFrame::new`]'s
/// `sub_pixel`): no upsampler stages, the tail convolution makes `3 * scale^2` channels and one
/// pixel shuffle arranges them, which is far cheaper at x4 (a variant `upres search` tries).
#[derive(Module, Debug)]
pub struct EdsrFrame<B: Module> {
    /// DIV2K mean shift and pixel range.
    pub mean: MeanShift,
    /// Head convolution (3 -> feats).
    pub head: Conv2d,
    /// The body.
    pub body: B,
    /// Last convolution of the body, before the global skip.
    pub body_conv: Conv2d,
    /// Sub-pixel upsampler.
    pub upsampler: Upsampler,
    /// Reconstruction convolution (feats -> 3, or 3 * scale^2 with a sub-pixel tail).
    pub tail: Conv2d,
    /// The sub-pixel tail's pixel shuffle (empty for EDSR's upsampler).
    pub tail_shuffle: Vec<PixelShuffle>,
}

impl<B: Module + ResidualBody> EdsrFrame<B> {
    /// Wraps `body` (of `feats` channels) in the frame, with EDSR's upsampler or, if
    /// `sub_pixel`, ESPCN's sub-pixel tail.
    pub fn new(
        arch: &'static str,
        body: B,
        feats: usize,
        scale: usize,
        rgb_range: f64,
        sub_pixel: bool,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let (upsampler, tail_channels, tail_shuffle) = if sub_pixel {
            let none = Upsampler {
                stages: Vec::new(),
                shuffles: Vec::new(),
            };
            (
                none,
                3 * scale * scale,
                vec![PixelShuffleConfig::new(scale).init()],
            )
        } else {
            (Upsampler::new(arch, feats, scale, device)?, 3, Vec::new())
        };
        Ok(Self {
            mean: MeanShift::div2k(rgb_range),
            head: conv(3, feats, 3, device),
            body,
            body_conv: conv(feats, feats, 3, device),
            upsampler,
            tail: conv(feats, tail_channels, 3, device),
            tail_shuffle,
        })
    }

    /// Upscales `[N, 3, H, W]` (values in [0, 1]) to `[N, 3, H * scale, W * scale]`.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let range = self.mean.rgb_range;
        let x = if range == 1.0 {
            x
        } else {
            ops.mul_scalar(x, range)
        };
        let x = ops.conv2d(&self.head, self.mean.sub(ops, x));
        let body = ops.conv2d(&self.body_conv, self.body.run(ops, x.clone()));
        let x = ops.add(body, x);
        let x = ops.conv2d(&self.tail, self.upsampler.run(ops, x));
        let x = self
            .tail_shuffle
            .iter()
            .fold(x, |x, shuffle| ops.pixel_shuffle(x, shuffle.upscale_factor));
        let x = self.mean.add(ops, x);
        if range == 1.0 {
            x
        } else {
            ops.mul_scalar(x, 1.0 / range)
        }
    }

    /// EDSR-PyTorch keys of the frame's parameters: `head` -> `head.0`, `body_conv` ->
    /// `body.{units}`, `upsampler.stages.k` -> `tail.0.{2k}` (convolutions and pixel shuffles
    /// alternate in the `Upsampler` sequential), `tail` -> `tail.1`; `None` for body paths.
    pub fn frame_key(&self, segs: &[&str]) -> Option<String> {
        match segs {
            ["head", leaf] => Some(format!("head.0.{leaf}")),
            ["body_conv", leaf] => Some(format!("body.{}.{leaf}", self.body.units())),
            ["upsampler", "stages", k, leaf] => {
                Some(format!("tail.0.{}.{leaf}", 2 * k.parse::<usize>().ok()?))
            }
            ["tail", leaf] => Some(format!("tail.1.{leaf}")),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{BurnOps, Upsample};
    use burn::tensor::{Tensor, TensorData};

    #[test]
    fn upsample_factors_per_scale() {
        assert_eq!(upsample_factors(2), Some(vec![2]));
        assert_eq!(upsample_factors(3), Some(vec![3]));
        assert_eq!(upsample_factors(4), Some(vec![2, 2]));
        assert_eq!(upsample_factors(8), Some(vec![2, 2, 2]));
        assert_eq!(upsample_factors(5), None);
        assert_eq!(upsample_factors(1), None);
    }

    #[test]
    fn bilinear_matches_pytorch_half_pixel_rule() {
        let device = Device::flex();
        // F.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), scale_factor=2,
        //               mode='bilinear', align_corners=False)
        let expected = [
            0.0, 0.25, 0.75, 1.0, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2.0, 2.25, 2.75, 3.0,
        ];
        let x = Tensor::<4>::from_data(
            TensorData::new(vec![0.0f32, 1.0, 2.0, 3.0], [1, 1, 2, 2]),
            &device,
        );
        let y = BurnOps
            .upsample(x, 2, Upsample::Bilinear)
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        for (a, b) in y.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{y:?}");
        }
    }

    #[test]
    fn nearest_repeats_pixels() {
        let device = Device::flex();
        let x = Tensor::<4>::from_data(TensorData::new(vec![1.0f32, 2.0], [1, 1, 1, 2]), &device);
        let y = BurnOps
            .upsample(x, 2, Upsample::Nearest)
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        assert_eq!(y, vec![1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]);
    }

    #[test]
    fn upsampler_shapes() {
        let device = Device::flex();
        for scale in [2, 3, 4, 8] {
            let up = Upsampler::new("test", 4, scale, &device).unwrap();
            let y = up.run(&BurnOps, Tensor::zeros([1, 4, 3, 2], &device));
            assert_eq!(y.dims(), [1, 4, 3 * scale, 2 * scale]);
        }
        assert!(Upsampler::new("test", 4, 5, &device).is_err());
    }
}
