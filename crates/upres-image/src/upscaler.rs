//! The one interface every SR method offers: a low-resolution image in, a larger one out.

use crate::buffer::Image;
use crate::resize::{Filter, ResizeOptions, Target, resize};

/// The error of an upscaler, rendered as one line by the caller.
pub type UpscaleError = Box<dyn std::error::Error + Send + Sync>;

/// A super-resolution method: bicubic, a trained network, an ensemble.
pub trait Upscaler: Send + Sync {
    /// A short name for tables and logs.
    fn name(&self) -> String;

    /// Upscales by an integer factor; the output is `scale` times the input on each side.
    fn upscale(&self, low_res: &Image, scale: usize) -> Result<Image, UpscaleError>;
}

/// MATLAB's `imresize(img, scale, 'bicubic')`: the baseline every SR paper reports.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bicubic;

impl Upscaler for Bicubic {
    fn name(&self) -> String {
        "bicubic".into()
    }

    fn upscale(&self, low_res: &Image, scale: usize) -> Result<Image, UpscaleError> {
        let target = Target::Size {
            width: low_res.width() * scale,
            height: low_res.height() * scale,
        };
        Ok(resize(
            low_res,
            target,
            ResizeOptions::matlab(Filter::Bicubic),
        )?)
    }
}
