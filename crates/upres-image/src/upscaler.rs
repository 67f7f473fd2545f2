//! The one interface every SR method offers: a low-resolution image in, a larger one out.

use crate::buffer::Image;
use crate::resize::{Filter, ResizeOptions, Target, resize};

/// The error of an upscaler, rendered as one line by the caller.
pub type UpscaleError = Box<dyn std::error::Error + Send + Sync>;

/// A super-resolution method: an interpolation, a trained network, an ensemble.
pub trait Upscaler: Send + Sync {
    /// A short name for tables and logs.
    fn name(&self) -> String;

    /// Upscales by an integer factor; the output is `scale` times the input on each side.
    fn upscale(&self, low_res: &Image, scale: usize) -> Result<Image, UpscaleError>;

    /// How far (in input pixels) an output pixel looks: tiles need this much context to
    /// match whole-image output. `None` for methods with global context (pooling over the
    /// whole input), which tiling can only approximate.
    fn receptive_radius(&self) -> Option<usize>;

    /// Working memory, in bytes, to upscale one `side x side` tile (margins included) by
    /// `scale`, if the method knows it: networks do (their largest feature maps), and the
    /// pipeline sizes tiles from it. `None`: small and proportional to the image.
    fn tile_bytes(&self, _side: usize, _scale: usize) -> Option<u64> {
        None
    }

    /// The one factor the method was built for, if it has one (a trained network); `None`
    /// for methods that take any factor (interpolations).
    fn fixed_scale(&self) -> Option<usize> {
        None
    }
}

/// Classical interpolation with MATLAB's `imresize` (bicubic is the baseline every SR paper
/// reports).
#[derive(Clone, Copy, Debug)]
pub struct Interpolation(pub Filter);

impl Upscaler for Interpolation {
    fn name(&self) -> String {
        self.0.name().into()
    }

    fn upscale(&self, low_res: &Image, scale: usize) -> Result<Image, UpscaleError> {
        let target = Target::Size {
            width: low_res.width() * scale,
            height: low_res.height() * scale,
        };
        Ok(resize(low_res, target, ResizeOptions::matlab(self.0))?)
    }

    fn receptive_radius(&self) -> Option<usize> {
        // Upscaling never stretches the kernel: taps lie within half its support.
        Some((self.0.support() / 2.0).ceil() as usize)
    }
}
