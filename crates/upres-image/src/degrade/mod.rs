//! Degradations that turn a high-resolution image into a low-resolution model input.
//!
//! SR models learn the inverse of whatever made their inputs, so the degradation decides what
//! a model can restore. This module provides:
//! - the building blocks ([`Op`]): MATLAB bicubic downscaling, resizing with a chosen mode,
//!   blur with Gaussian, generalized Gaussian, plateau and sinc kernels ([`Kernel`]),
//!   Gaussian and Poisson noise, JPEG compression, quantization;
//! - a seeded, configurable [`Pipeline`] of [`Step`]s whose parameters are drawn from ranges
//!   (deserialisable from TOML training recipes);
//! - Real-ESRGAN's second-order degradation ([`RealEsrgan`]; Wang et al., "Real-ESRGAN:
//!   Training Real-World Blind Super-Resolution with Pure Synthetic Data", ICCV-W 2021);
//! - the fixed test-set degradations BI, BD, DN and JPEG30 ([`TestDegradation`]).
//!
//! Everything works on float samples in the image's own units (0..255 or 0..65535); nothing is
//! rounded between steps unless the step itself says so (MATLAB bicubic, JPEG, [`Op::Quantize`]).
//! Noise is specified on the 0..255 scale, as the papers do, and rescaled for 16-bit images.
//! Randomness comes from the caller's RNG; [`Pipeline::apply_seeded`] uses ChaCha8, whose
//! stream is the same on every platform.

mod jpeg;
mod kernel;
mod noise;
mod pipeline;
mod realesrgan;
mod testset;

pub use jpeg::jpeg;
pub use kernel::{Border, Kernel, blur};
pub use noise::{add_gaussian_noise, add_poisson_noise};
pub use pipeline::{Pipeline, QualityRange, Range, Step};
pub use realesrgan::{BlurConfig, KernelKind, RealEsrgan, RoundConfig};
pub use testset::TestDegradation;

use crate::buffer::Image;
use crate::error::{ImageError, Result};
use crate::resize::{self, Filter, ResizeOptions, Target};
use rand::Rng;

/// How [`Op::Resize`] interpolates.
///
/// Real-ESRGAN picks among PyTorch's `area`, `bilinear` and `bicubic` modes. These map onto
/// the MATLAB-compatible kernels of [`crate::resize`]: `bilinear`/`bicubic` without
/// antialiasing (as `F.interpolate` does by default, so shrinking aliases), `area` as the
/// antialiased box filter (an average over the source pixels each output covers). The cubic
/// is MATLAB's (a = -0.5) rather than PyTorch's (a = -0.75).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResizeMode {
    Nearest,
    Area,
    Bilinear,
    Bicubic,
}

impl ResizeMode {
    /// Real-ESRGAN's choices.
    pub const REAL_ESRGAN: [ResizeMode; 3] =
        [ResizeMode::Area, ResizeMode::Bilinear, ResizeMode::Bicubic];

    fn options(self) -> ResizeOptions {
        let (filter, antialias) = match self {
            ResizeMode::Nearest => (Filter::Nearest, false),
            ResizeMode::Area => (Filter::Nearest, true),
            ResizeMode::Bilinear => (Filter::Bilinear, false),
            ResizeMode::Bicubic => (Filter::Bicubic, false),
        };
        ResizeOptions {
            filter,
            antialias,
            round_each_pass: false,
        }
    }
}

/// The output size of [`Op::Resize`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Size {
    /// `floor(factor * side)` of the image it is applied to (at least 1), as PyTorch's
    /// `F.interpolate(scale_factor=...)` computes it.
    Factor(f64),
    /// An exact size.
    Exact { width: usize, height: usize },
}

/// One degradation with every parameter fixed: what a [`Step`] draws, and what the test-set
/// degradations are made of.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Filters every channel with `kernel`.
    Blur { kernel: Kernel, border: Border },
    /// MATLAB's `imresize(img, 1/scale, 'bicubic')` on an integer image (rounds after each
    /// pass, as MATLAB does): the field's standard LR maker.
    Downscale { scale: f64 },
    /// Resizes every channel to `size` with `mode`, in float.
    Resize { size: Size, mode: ResizeMode },
    /// Adds Gaussian noise of `sigma` (0..255 scale) to the color channels, then clips.
    GaussianNoise { sigma: f64, gray: bool },
    /// Adds Real-ESRGAN's Poisson (shot) noise times `scale` to the color channels, then clips.
    PoissonNoise { scale: f64, gray: bool },
    /// Encodes and decodes as an 8-bit JPEG of `quality` (1..=100).
    Jpeg { quality: u8 },
    /// Rounds and clips to the image's integer depth.
    Quantize,
}

impl Op {
    pub fn apply<R: Rng + ?Sized>(&self, image: &Image, rng: &mut R) -> Result<Image> {
        match self {
            Op::Blur { kernel, border } => blur(image, kernel, *border),
            Op::Downscale { scale } => resize::downscale_bicubic(image, *scale),
            Op::Resize { size, mode } => {
                let (width, height) = match *size {
                    Size::Factor(f) => {
                        if !(f.is_finite() && f > 0.0) {
                            return Err(ImageError::InvalidArgument(format!(
                                "resize factor must be positive and finite, got {f}"
                            )));
                        }
                        (floor_side(image.width(), f), floor_side(image.height(), f))
                    }
                    Size::Exact { width, height } => (width, height),
                };
                resize::resize(image, Target::Size { width, height }, mode.options())
            }
            Op::GaussianNoise { sigma, gray } => add_gaussian_noise(image, *sigma, *gray, rng),
            Op::PoissonNoise { scale, gray } => add_poisson_noise(image, *scale, *gray, rng),
            Op::Jpeg { quality } => jpeg(image, *quality),
            Op::Quantize => {
                let mut out = image.clone();
                out.quantize();
                Ok(out)
            }
        }
    }
}

/// Applies `ops` in order.
pub fn apply_all<R: Rng + ?Sized>(ops: &[Op], image: &Image, rng: &mut R) -> Result<Image> {
    let mut current = image.clone();
    for op in ops {
        current = op.apply(&current, rng)?;
    }
    Ok(current)
}

/// `floor(side * factor)`, at least 1.
fn floor_side(side: usize, factor: f64) -> usize {
    ((side as f64 * factor).floor() as usize).max(1)
}
